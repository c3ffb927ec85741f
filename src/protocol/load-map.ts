import {
  CodecInvalidArgumentError,
  CodecInvalidMapError,
  CodecMapFetchError,
  CodecMapHashMismatchError,
} from "./errors.js";
import { normalizeMapHash, sha256Hex } from "./map-hash.js";
import { validateTokenizerMap } from "./tokenizer-map.js";
import type { TokenizerMap } from "./tokenizer-map.js";

/** Options of {@link loadMap}. Give `url`, `bytes`, or both. */
export interface LoadMapOptions {
  /** Where to fetch the map. Also the cache key, together with `hash`. */
  url?: string;
  /** The map's bytes, when the caller already has them. No fetch happens then. */
  bytes?: Uint8Array;
  /**
   * The pinned hash, `sha256:<hex>` or bare hex. When set, the sha256 of the exact bytes must
   * match before they are parsed. When left out, nothing is verified.
   */
  hash?: string;
  /** The fetch implementation. Defaults to `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Whether to reuse and store the map in the module cache, keyed by `url#hash`. Defaults to true. */
  cache?: boolean;
  /** Aborts the fetch. */
  signal?: AbortSignal;
}

/**
 * Maps already loaded, keyed by `url#hash`. A pinned map is immutable (a new map version gets
 * a new URL and hash), so the cache never expires. It stores promises so that concurrent
 * loads of one map share a single fetch.
 */
const mapCache = new Map<string, Promise<TokenizerMap>>();

/**
 * Loads a tokenizer map: fetches it (or takes `bytes`), verifies the sha256 of the exact
 * bytes against `hash`, parses the JSON and validates it.
 *
 * The fetch sends no `Codec-*` headers, `Codec-Client-Version` included. Maps are static
 * files, often on another origin, and any non-standard header makes a browser send a CORS
 * preflight request, which static hosts often reject.
 *
 * A map is cached only when both `url` and `hash` are given, because only then is the key
 * tied to fixed content. Treat the returned map as read-only: cached callers share it.
 *
 * @example
 * ```ts
 * const map = await loadMap({ url: "https://maps.example/qwen2.json", hash: "sha256:9f86..." });
 * ```
 * @throws {@link CodecInvalidArgumentError} when neither `url` nor `bytes` is given
 * @throws {@link CodecInvalidHashError} or {@link CodecUnsupportedHashAlgorithmError} for a bad `hash`, before any fetch
 * @throws {@link CodecMapFetchError} on a network error or a non-2xx status
 * @throws {@link CodecMapHashMismatchError} with `expected` and `actual` when the bytes differ
 * @throws {@link CodecInvalidMapError} when the bytes are not UTF-8 JSON or not a valid map
 */
export async function loadMap(options: LoadMapOptions): Promise<TokenizerMap> {
  if (options.url === undefined && options.bytes === undefined) {
    throw new CodecInvalidArgumentError("options", options, "an object with url or bytes");
  }
  const hash = options.hash === undefined ? undefined : normalizeMapHash(options.hash);

  const cacheKey =
    options.cache !== false && options.url !== undefined && hash !== undefined
      ? `${options.url}#${hash}`
      : undefined;
  if (cacheKey === undefined) {
    return loadUncached(options, hash);
  }

  const cached = mapCache.get(cacheKey);
  if (cached !== undefined) {
    return cached;
  }
  const loading = loadUncached(options, hash);
  mapCache.set(cacheKey, loading);
  loading.catch(() => mapCache.delete(cacheKey));
  return loading;
}

/** Empties the map cache, for example between tests or to free memory. */
export function clearMapCache(): void {
  mapCache.clear();
}

async function loadUncached(
  options: LoadMapOptions,
  hash: string | undefined,
): Promise<TokenizerMap> {
  const bytes = options.bytes ?? (await fetchMapBytes(options.url as string, options));

  if (hash !== undefined) {
    const actual = `sha256:${await sha256Hex(bytes)}`;
    if (actual !== hash) {
      throw new CodecMapHashMismatchError(hash, actual, options.url);
    }
  }
  return validateTokenizerMap(parseJson(bytes));
}

async function fetchMapBytes(url: string, options: LoadMapOptions): Promise<Uint8Array> {
  const fetchFunction = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await fetchFunction(url, {
      headers: { Accept: "application/json" },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    if (options.signal?.aborted === true) {
      throw error;
    }
    throw new CodecMapFetchError(url, undefined, error);
  }

  if (!response.ok) {
    // Release the connection: the error body is not used.
    await response.body?.cancel().catch(() => undefined);
    throw new CodecMapFetchError(url, response.status);
  }
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (options.signal?.aborted === true) {
      throw error;
    }
    throw new CodecMapFetchError(url, response.status, error);
  }
}

const strictUtf8Decoder = new TextDecoder("utf-8", { fatal: true });

function parseJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = strictUtf8Decoder.decode(bytes);
  } catch (error) {
    throw new CodecInvalidMapError("$", `${bytes.length} bytes`, "must be UTF-8 text", {
      cause: error,
    });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CodecInvalidMapError(
      "$",
      `${bytes.length} bytes`,
      `must be valid JSON (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
}
