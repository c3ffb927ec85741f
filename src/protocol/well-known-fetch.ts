/** Shared fetch logic of the `.well-known/codec/` documents. */
import { CodecDiscoveryFetchError } from "./discovery-errors.js";
import { CodecInvalidArgumentError } from "./errors.js";

/** Path under an origin where Codec discovery documents live. */
export const WELL_KNOWN_CODEC_PATH = "/.well-known/codec";

/** Fetch options shared by the discovery functions. */
export interface WellKnownFetchOptions {
  /** The fetch implementation. Defaults to `globalThis.fetch`. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/**
 * Returns `<origin>/.well-known/codec/<path>`.
 *
 * @throws {@link CodecInvalidArgumentError} when `origin` is not an absolute http(s) URL
 */
export function wellKnownUrl(origin: string, path: string): string {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    throw new CodecInvalidArgumentError(
      "origin",
      origin,
      "an absolute http(s) URL such as https://api.example.com",
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new CodecInvalidArgumentError(
      "origin",
      origin,
      "an absolute http(s) URL such as https://api.example.com",
    );
  }
  return `${origin.replace(/\/+$/, "")}${WELL_KNOWN_CODEC_PATH}/${path}`;
}

/**
 * GETs a discovery document and returns the response, or undefined for HTTP 404. No `Codec-*`
 * header is sent: these are static files, and a non-standard header would make browsers send a
 * CORS preflight request that static hosts often reject.
 *
 * @throws {@link CodecDiscoveryFetchError} on a network error or a status other than 2xx or 404
 */
export async function fetchWellKnown(
  url: string,
  options: WellKnownFetchOptions,
  accept: string,
): Promise<Response | undefined> {
  const fetchFunction = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await fetchFunction(url, {
      headers: { Accept: accept },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    if (options.signal?.aborted === true) {
      throw error;
    }
    throw new CodecDiscoveryFetchError(url, undefined, "the request failed", error);
  }

  if (response.ok) {
    return response;
  }
  // Release the connection: the error body is not used.
  await response.body?.cancel().catch(() => undefined);
  if (response.status === 404) {
    return undefined;
  }
  throw new CodecDiscoveryFetchError(
    url,
    response.status,
    `the server returned HTTP ${response.status}`,
  );
}

/**
 * Reads a response body as bytes.
 *
 * @throws {@link CodecDiscoveryFetchError} when the body cannot be read
 */
export async function readBytes(
  url: string,
  response: Response,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (signal?.aborted === true) {
      throw error;
    }
    throw new CodecDiscoveryFetchError(url, response.status, "the body could not be read", error);
  }
}
