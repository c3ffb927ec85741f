/**
 * Discovery of tokenizer maps and zstd dictionaries under `<origin>/.well-known/codec/`.
 */
import {
  CodecDictHashMismatchError,
  CodecDiscoveryFetchError,
  CodecDiscoveryIdMismatchError,
  CodecDiscoveryNotFoundError,
  CodecDiscoveryPointerError,
} from "./discovery-errors.js";
import { CodecInvalidArgumentError } from "./errors.js";
import { loadMap } from "./load-map.js";
import { normalizeMapHash, sha256Hex } from "./map-hash.js";
import { validateTokenizerMap } from "./tokenizer-map.js";
import type { TokenizerMap } from "./tokenizer-map.js";
import { fetchWellKnown, readBytes, wellKnownUrl } from "./well-known-fetch.js";
import type { WellKnownFetchOptions } from "./well-known-fetch.js";

const MAP_ID = /^[a-z0-9._/-]+$/;
const POINTER_HASH = /^sha256:[0-9a-f]{64}$/i;

/** A well-known map pointer: the map's id, an absolute URL and the sha256 of its bytes. */
export interface MapPointer {
  id: string;
  url: string;
  /** `sha256:` followed by 64 hex digits. */
  hash: string;
  published_at?: string;
}

/** Options of {@link discoverMap}. */
export interface DiscoverMapOptions extends WellKnownFetchOptions {
  /** Origin that publishes the map, e.g. `https://maps.example.com`. */
  origin: string;
  /** Map id, e.g. `qwen/qwen2`: `[a-z0-9._/-]+`, no leading or trailing `/`, no `..`. */
  id: string;
  /** Whether `loadMap` may reuse and store a pointed-to map in its cache. Defaults to true. */
  cache?: boolean;
}

/**
 * Returns the well-known URL of a map document, `<origin>/.well-known/codec/maps/<id>.json`.
 *
 * @throws {@link CodecInvalidArgumentError} for an invalid origin or id
 */
export function wellKnownMapUrl(origin: string, id: string): string {
  const valid =
    typeof id === "string" &&
    MAP_ID.test(id) &&
    !id.startsWith("/") &&
    !id.endsWith("/") &&
    !id.includes("..");
  if (!valid) {
    throw new CodecInvalidArgumentError(
      "id",
      id,
      "a map id of lowercase letters, digits and . _ / - with no leading or trailing / and no ..",
    );
  }
  return wellKnownUrl(origin, `maps/${id}.json`);
}

/**
 * Returns the well-known URL of a zstd dictionary, `<origin>/.well-known/codec/dicts/<hex>.zstd`.
 *
 * @param hash - `sha256:<hex>` or 64 bare hex digits, in either case
 * @throws {@link CodecInvalidHashError} or {@link CodecUnsupportedHashAlgorithmError} for a bad hash
 */
export function wellKnownDictUrl(origin: string, hash: string): string {
  return wellKnownUrl(origin, `dicts/${normalizeMapHash(hash).slice("sha256:".length)}.zstd`);
}

/**
 * Resolves a map through `<origin>/.well-known/codec/maps/<id>.json`.
 *
 * The document is either a pointer `{id, url, hash}` (recognised by having `url` or `hash` and
 * neither `vocab` nor `tokens`) or an inline map. A pointer's `id` must equal `id`, its `url`
 * must be absolute http(s) and its `hash` must be `sha256:<64 hex>`. It is then followed once
 * with `loadMap`, which verifies the hash, so a pointer to another pointer fails as an invalid
 * map. An inline map is validated and its `id` must equal `id`. It has no hash to check.
 *
 * No `Codec-Client-Version` header is sent, because maps are static files.
 *
 * @throws {@link CodecInvalidArgumentError} for an invalid origin or id, before any fetch
 * @throws {@link CodecDiscoveryNotFoundError} when the document returns HTTP 404
 * @throws {@link CodecDiscoveryFetchError} on a network error, another failed status, or a body that is not JSON
 * @throws {@link CodecDiscoveryPointerError} for a pointer with an invalid field
 * @throws {@link CodecDiscoveryIdMismatchError} when the pointer or inline map has another id
 * @throws the errors of `loadMap` for the pointed-to map, e.g. {@link CodecMapHashMismatchError}
 * @throws {@link CodecInvalidMapError} for an inline map that is not valid
 */
export async function discoverMap(options: DiscoverMapOptions): Promise<TokenizerMap> {
  const url = wellKnownMapUrl(options.origin, options.id);
  const response = await fetchWellKnown(url, options, "application/json");
  if (response === undefined) {
    throw new CodecDiscoveryNotFoundError(url);
  }

  const text = new TextDecoder().decode(await readBytes(url, response, options.signal));
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new CodecDiscoveryFetchError(url, response.status, "the body is not valid JSON", error);
  }

  if (isPointerShaped(document)) {
    const pointer = checkPointer(url, document, options.id);
    return loadMap({
      url: pointer.url,
      hash: pointer.hash,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.cache === undefined ? {} : { cache: options.cache }),
    });
  }

  const map = validateTokenizerMap(document);
  if (map.id !== options.id) {
    throw new CodecDiscoveryIdMismatchError(url, options.id, map.id);
  }
  return map;
}

/** Options of {@link discoverZstdDict}. */
export interface DiscoverZstdDictOptions extends WellKnownFetchOptions {
  /** Origin that serves the dictionary. */
  origin: string;
  /** The dictionary's hash, `sha256:<hex>` or 64 bare hex digits. It names the file and verifies it. */
  hash: string;
}

/**
 * Fetches the raw zstd dictionary at `<origin>/.well-known/codec/dicts/<hex>.zstd` and checks
 * that the sha256 of the bytes equals `<hex>`. Every failure throws: a client must never fall
 * back to decoding without the dictionary it asked for.
 *
 * @throws {@link CodecInvalidHashError} or {@link CodecUnsupportedHashAlgorithmError} for a bad hash, before any fetch
 * @throws {@link CodecDiscoveryNotFoundError} on HTTP 404
 * @throws {@link CodecDiscoveryFetchError} on a network error or another failed status
 * @throws {@link CodecDictHashMismatchError} when the bytes have another sha256
 */
export async function discoverZstdDict(options: DiscoverZstdDictOptions): Promise<Uint8Array> {
  const expected = normalizeMapHash(options.hash);
  const url = wellKnownDictUrl(options.origin, expected);
  const response = await fetchWellKnown(url, options, "application/octet-stream");
  if (response === undefined) {
    throw new CodecDiscoveryNotFoundError(url);
  }

  const bytes = await readBytes(url, response, options.signal);
  const actual = `sha256:${await sha256Hex(bytes)}`;
  if (actual !== expected) {
    throw new CodecDictHashMismatchError(url, expected, actual);
  }
  return bytes;
}

function isPointerShaped(document: unknown): document is Record<string, unknown> {
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    return false;
  }
  const fields = document as Record<string, unknown>;
  return (
    fields.vocab === undefined &&
    fields.tokens === undefined &&
    (fields.url !== undefined || fields.hash !== undefined)
  );
}

function checkPointer(url: string, document: Record<string, unknown>, id: string): MapPointer {
  if (typeof document.id !== "string") {
    throw new CodecDiscoveryPointerError(url, "id", document.id, "must be a string");
  }
  if (document.id !== id) {
    throw new CodecDiscoveryIdMismatchError(url, id, document.id);
  }
  if (typeof document.url !== "string" || !isHttpUrl(document.url)) {
    throw new CodecDiscoveryPointerError(
      url,
      "url",
      document.url,
      "must be an absolute http or https URL",
    );
  }
  if (typeof document.hash !== "string" || !POINTER_HASH.test(document.hash)) {
    throw new CodecDiscoveryPointerError(
      url,
      "hash",
      document.hash,
      `must be "sha256:" followed by 64 hex digits`,
    );
  }
  return document as unknown as MapPointer;
}

function isHttpUrl(value: string): boolean {
  try {
    const protocol = new URL(value).protocol;
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}
