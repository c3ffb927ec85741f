import { Decoder, Encoder } from "@msgpack/msgpack";

import { CodecMalformedFrameError } from "./errors.js";
import type { CodecFrame, ToolCall } from "./frame.js";
import { checkEncodableIds, isTokenId } from "./token-id.js";

// One shared instance each: both classes keep a scratch buffer and clone themselves when
// re-entered, so sharing them is safe and saves an allocation per frame.
const encoder = new Encoder();
const decoder = new Decoder();

/**
 * Encodes one frame as a msgpack map, byte-compatible with the sglang, vLLM and libcodec
 * encoders. Keys come in the order `ids`, `done`, `finish_reason`, `tool_calls`, and every
 * ID takes its smallest unsigned form. `finish_reason` is left out when absent and
 * `tool_calls` when empty. Each tool call's keys come in the order `arguments_json`,
 * `name`, `id`.
 *
 * @throws {@link CodecMalformedFrameError} when an ID is not a uint32
 */
export function encodeMsgpackFrame(frame: CodecFrame): Uint8Array {
  checkEncodableIds(frame.ids, "msgpack");

  const map: Record<string, unknown> = { ids: frame.ids, done: frame.done };
  if (frame.finish_reason !== undefined) {
    map.finish_reason = frame.finish_reason;
  }
  if (frame.tool_calls !== undefined && frame.tool_calls.length > 0) {
    map.tool_calls = frame.tool_calls.map(toolCallToMsgpack);
  }
  return encoder.encode(map);
}

/**
 * Decodes one frame from a value that a msgpack decoder already produced (one map).
 *
 * Keys are found by name and unknown keys are ignored. `finish_reason`, `name` and `id` may
 * be nil, which means absent. `ids` and `done` are required: a map without `ids` is most
 * likely a `msgpack-delta` frame (`base_id`, `ids_delta`), which `decodeMsgpackDeltaFrame`
 * reads and `decodeStream` recognises by its keys.
 *
 * @param offset - byte offset of the frame, reported in errors
 * @throws {@link CodecMalformedFrameError} naming the offending key
 */
export function decodeMsgpackFrame(value: unknown, offset?: number): CodecFrame {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw malformed("the frame is not a map", offset, value);
  }
  const map = value as Record<string, unknown>;

  const ids = map.ids;
  if (!Array.isArray(ids)) {
    const hint = "ids_delta" in map ? " (this looks like a msgpack-delta frame)" : "";
    throw malformed(`"ids" is missing or not an array${hint}`, offset, ids);
  }
  for (let i = 0; i < ids.length; i++) {
    const id: unknown = ids[i];
    if (!isTokenId(id)) {
      throw malformed(`ids[${i}] is not a uint32 token ID`, offset, id);
    }
  }

  const done = map.done;
  if (typeof done !== "boolean") {
    throw malformed(`"done" is missing or not a boolean`, offset, done);
  }

  const frame: CodecFrame = { ids: ids as number[], done };
  const finishReason = map.finish_reason;
  if (finishReason !== undefined && finishReason !== null) {
    if (typeof finishReason !== "string") {
      throw malformed(`"finish_reason" is not a string or nil`, offset, finishReason);
    }
    frame.finish_reason = finishReason;
  }

  const toolCalls = decodeToolCalls(map.tool_calls, offset);
  if (toolCalls.length > 0) {
    frame.tool_calls = toolCalls;
  }
  return frame;
}

/**
 * Decodes a buffer that contains exactly one msgpack frame.
 *
 * @throws {@link CodecMalformedFrameError} when the bytes are not one valid msgpack map
 *   or the map is not a valid frame
 */
export function decodeMsgpackFrameBytes(bytes: Uint8Array, offset = 0): CodecFrame {
  return decodeMsgpackFrame(decodeMsgpackValue(bytes, offset), offset);
}

/**
 * Decodes a buffer that contains exactly one msgpack value, without checking that it is a frame.
 *
 * @throws {@link CodecMalformedFrameError} when the bytes are not one valid msgpack value
 */
export function decodeMsgpackValue(bytes: Uint8Array, offset = 0): unknown {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new CodecMalformedFrameError({
      format: "msgpack",
      reason: `the bytes are not one valid msgpack value (${(error as Error).message})`,
      offset,
      cause: error,
    });
  }
}

function toolCallToMsgpack(call: ToolCall): Record<string, string> {
  const entry: Record<string, string> = { arguments_json: call.arguments_json };
  if (call.name !== undefined) {
    entry.name = call.name;
  }
  if (call.id !== undefined) {
    entry.id = call.id;
  }
  return entry;
}

function decodeToolCalls(value: unknown, offset: number | undefined): ToolCall[] {
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw malformed(`"tool_calls" is not an array`, offset, value);
  }

  return value.map((entry: unknown, index): ToolCall => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw malformed(`tool_calls[${index}] is not a map`, offset, entry);
    }
    const fields = entry as Record<string, unknown>;

    // A missing arguments_json reads as "", as a missing proto3 string field does.
    const argumentsJson = fields.arguments_json ?? "";
    if (typeof argumentsJson !== "string") {
      throw malformed(`tool_calls[${index}].arguments_json is not a string`, offset, argumentsJson);
    }
    const call: ToolCall = { arguments_json: argumentsJson };

    for (const key of ["name", "id"] as const) {
      const text = fields[key];
      if (text === undefined || text === null) {
        continue;
      }
      if (typeof text !== "string") {
        throw malformed(`tool_calls[${index}].${key} is not a string or nil`, offset, text);
      }
      call[key] = text;
    }
    return call;
  });
}

function malformed(reason: string, offset: number | undefined, value: unknown) {
  return new CodecMalformedFrameError({ format: "msgpack", reason, offset, value });
}
