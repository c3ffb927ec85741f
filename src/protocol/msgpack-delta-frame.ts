/**
 * The `msgpack-delta` stream format: msgpack frames that carry token IDs as zigzag-encoded
 * differences. A frame is a map with the keys `base_id`, `ids_delta`, `done` and
 * `finish_reason` (always present, nil when there is none), plus `tool_calls` when non-empty.
 *
 * `ids_delta[0]` is `zigzag(ids[0] - base_id)` and each later entry is
 * `zigzag(ids[k] - ids[k - 1])`, where zigzag maps n >= 0 to 2n and n < 0 to -2n - 1. The
 * decoder sums the differences starting from `base_id`. `base_id` is 0 in the first frame and
 * then the last ID of the previous frame, unchanged across a frame without IDs.
 */
import { Encoder } from "@msgpack/msgpack";

import { CodecMalformedFrameError } from "./errors.js";
import type { CodecFrame } from "./frame.js";
import { decodeMsgpackFrame } from "./msgpack-frame.js";
import { checkEncodableIds, isTokenId } from "./token-id.js";

const encoder = new Encoder();

/** Maps a signed difference to an unsigned integer: n >= 0 to 2n, n < 0 to -2n - 1. */
export function zigzagEncode(value: number): number {
  return value >= 0 ? 2 * value : -2 * value - 1;
}

/** Inverse of {@link zigzagEncode}. */
export function zigzagDecode(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}

/**
 * Encodes one frame as a `msgpack-delta` map with keys in the order `base_id`, `ids_delta`,
 * `done`, `finish_reason` (nil when absent), then `tool_calls` when non-empty. Integers take
 * their smallest msgpack form.
 *
 * @param baseId - 0 for the first frame of a stream, then the last ID sent before this frame
 * @throws {@link CodecMalformedFrameError} when an ID or `baseId` is not a uint32
 */
export function encodeMsgpackDeltaFrame(frame: CodecFrame, baseId: number): Uint8Array {
  checkEncodableIds(frame.ids, "msgpack");
  if (!isTokenId(baseId)) {
    throw new CodecMalformedFrameError({
      format: "msgpack",
      reason: "cannot encode base_id: it is not a uint32 token ID",
      value: baseId,
    });
  }

  const deltas = new Array<number>(frame.ids.length);
  let previous = baseId;
  frame.ids.forEach((id, index) => {
    deltas[index] = zigzagEncode(id - previous);
    previous = id;
  });

  const map: Record<string, unknown> = {
    base_id: baseId,
    ids_delta: deltas,
    done: frame.done,
    finish_reason: frame.finish_reason ?? null,
  };
  if (frame.tool_calls !== undefined && frame.tool_calls.length > 0) {
    map.tool_calls = frame.tool_calls.map((call) => ({
      arguments_json: call.arguments_json,
      ...(call.name === undefined ? {} : { name: call.name }),
      ...(call.id === undefined ? {} : { id: call.id }),
    }));
  }
  return encoder.encode(map);
}

/**
 * Encodes the frames of one stream in `msgpack-delta` form, keeping the running `base_id`.
 * Use one instance per response.
 */
export class MsgpackDeltaEncoder {
  #baseId = 0;

  /** Encodes the next frame of the stream. */
  encode(frame: CodecFrame): Uint8Array {
    const bytes = encodeMsgpackDeltaFrame(frame, this.#baseId);
    const last = frame.ids.at(-1);
    if (last !== undefined) {
      this.#baseId = last;
    }
    return bytes;
  }
}

/** Returns whether a decoded msgpack map is a delta frame: it has `ids_delta`, or a true `delta` flag. */
export function isMsgpackDeltaFrame(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return false;
  }
  const map = value as Record<string, unknown>;
  return map.ids_delta !== undefined || map.delta === true;
}

/**
 * Decodes a delta frame from a value a msgpack decoder produced.
 *
 * Two shapes are accepted, because the written spec and the only implementation differ. The
 * implementation's keys are `base_id` and `ids_delta`. The spec describes a `delta: true` flag
 * with `base_id`; such a frame's differences are read from `ids_delta`, or from `ids` when
 * `ids_delta` is missing. When `base_id` is missing, `previousId` (the last ID of the previous
 * frame) is the base. `finish_reason` may be nil.
 *
 * @param previousId - last ID decoded from this stream so far, 0 at the start
 * @throws {@link CodecMalformedFrameError} when a difference is not a non-negative integer or
 *   an ID leaves the uint32 range
 */
export function decodeMsgpackDeltaFrame(
  value: unknown,
  previousId: number,
  offset?: number,
): CodecFrame {
  const map = value as Record<string, unknown>;
  const baseId = map.base_id ?? previousId;
  if (!isTokenId(baseId)) {
    throw malformed(`"base_id" is not a uint32 token ID`, offset, baseId);
  }
  const deltas = map.ids_delta ?? map.ids;
  if (!Array.isArray(deltas)) {
    throw malformed(`"ids_delta" is missing or not an array`, offset, deltas);
  }

  const ids = new Array<number>(deltas.length);
  let current = baseId;
  for (let i = 0; i < deltas.length; i++) {
    const delta: unknown = deltas[i];
    if (typeof delta !== "number" || !Number.isSafeInteger(delta) || delta < 0) {
      throw malformed(`ids_delta[${i}] is not a non-negative integer`, offset, delta);
    }
    current += zigzagDecode(delta);
    if (!isTokenId(current)) {
      throw malformed(
        `ids_delta[${i}] gives ID ${current}, outside the uint32 range`,
        offset,
        delta,
      );
    }
    ids[i] = current;
  }

  // The plain decoder checks done, finish_reason and tool_calls the same way for both forms.
  return decodeMsgpackFrame({ ...map, ids }, offset);
}

function malformed(
  reason: string,
  offset: number | undefined,
  value: unknown,
): CodecMalformedFrameError {
  return new CodecMalformedFrameError({
    format: "msgpack",
    reason: `delta frame: ${reason}`,
    offset,
    value,
  });
}
