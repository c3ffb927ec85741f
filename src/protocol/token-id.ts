import { CodecMalformedFrameError } from "./errors.js";
import type { BinaryStreamFormat } from "./frame.js";

/** Largest valid token ID. IDs travel as uint32 in both wire modes. */
export const MAX_TOKEN_ID = 0xffff_ffff;

/** Returns whether `value` is an integer in the uint32 range, the only valid token IDs. */
export function isTokenId(value: unknown): value is number {
  return (
    typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_TOKEN_ID
  );
}

/**
 * Checks every ID before encoding, because a float or a negative number would otherwise go
 * out as a different msgpack type or as a wrapped varint.
 *
 * @throws {@link CodecMalformedFrameError} naming the first invalid ID
 */
export function checkEncodableIds(ids: readonly number[], format: BinaryStreamFormat): void {
  for (let i = 0; i < ids.length; i++) {
    if (!isTokenId(ids[i])) {
      throw new CodecMalformedFrameError({
        format,
        reason: `cannot encode ids[${i}]: it is not a uint32 token ID`,
        value: ids[i],
      });
    }
  }
}
