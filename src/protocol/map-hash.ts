import { CodecInvalidHashError, CodecUnsupportedHashAlgorithmError } from "./errors.js";

const ALGORITHM_PREFIX = /^([^:]*):(.*)$/s;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/**
 * Computes the SHA-256 of `bytes` with Web Crypto and returns it as 64 lowercase hex digits.
 *
 * @throws {@link CodecUnsupportedHashAlgorithmError} when `crypto.subtle` is missing. Browsers
 *   provide it only in secure contexts (https or localhost).
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) {
    throw new CodecUnsupportedHashAlgorithmError(
      "sha256",
      "Cannot compute sha256: crypto.subtle is not available. Browsers provide it only on https pages and localhost.",
    );
  }

  // Web Crypto rejects views of a SharedArrayBuffer, so those are copied first.
  const input =
    bytes.buffer instanceof ArrayBuffer
      ? (bytes as Uint8Array<ArrayBuffer>)
      : new Uint8Array(bytes);
  const digest = new Uint8Array(await subtle.digest("SHA-256", input));

  let hex = "";
  for (const byte of digest) {
    hex += byte.toString(16).padStart(2, "0");
  }
  return hex;
}

/**
 * Normalizes a pinned content hash to `sha256:<64 lowercase hex>`.
 *
 * Accepts `sha256:<hex>` (the algorithm name in any case) or 64 bare hex digits, in upper or
 * lower case.
 *
 * @throws {@link CodecUnsupportedHashAlgorithmError} when the prefix names another algorithm
 * @throws {@link CodecInvalidHashError} when the digest is not 64 hex digits
 */
export function normalizeMapHash(hash: string): string {
  if (typeof hash !== "string") {
    throw new CodecInvalidHashError(String(hash));
  }

  let hex = hash;
  const prefixed = ALGORITHM_PREFIX.exec(hash);
  if (prefixed !== null) {
    const algorithm = (prefixed[1] as string).toLowerCase();
    if (algorithm !== "sha256") {
      throw new CodecUnsupportedHashAlgorithmError(algorithm);
    }
    hex = prefixed[2] as string;
  }

  if (!SHA256_HEX.test(hex)) {
    throw new CodecInvalidHashError(hash);
  }
  return `sha256:${hex.toLowerCase()}`;
}
