import { CodecMalformedFrameError } from "./errors.js";
import type { CodecFrame, ToolCall } from "./frame.js";
import {
  lengthDelimitedSize,
  ProtobufReader,
  ProtobufWriter,
  utf8Bytes,
  varintSize,
  WireType,
} from "./protobuf-wire.js";
import { checkEncodableIds } from "./token-id.js";

/** Size of the unsigned big-endian length prefix in front of every protobuf frame. */
export const PROTOBUF_PREFIX_BYTES = 4;

// CodecFrame field numbers.
const IDS = 1;
const DONE = 2;
const FINISH_REASON = 3;
const TOOL_CALLS = 4;

// ToolCall field numbers.
const TOOL_NAME = 1;
const TOOL_ARGUMENTS_JSON = 2;
const TOOL_ID = 3;

/**
 * Encodes one frame as a `CodecFrame` message behind its 4-byte unsigned big-endian length
 * prefix, ready to write to a protobuf stream.
 *
 * The message is canonical proto3 as sglang writes it: packed `ids` left out when empty,
 * `done` left out when false, and `finish_reason` written when defined. In each tool call
 * `name` and `id` are written only when non-empty, and `arguments_json` always.
 *
 * @throws {@link CodecMalformedFrameError} when an ID is not a uint32
 */
export function encodeProtobufFrame(frame: CodecFrame): Uint8Array {
  return writeFrame(frame, true);
}

/** Encodes one frame as a bare `CodecFrame` message, without the length prefix. */
export function encodeProtobufFrameMessage(frame: CodecFrame): Uint8Array {
  return writeFrame(frame, false);
}

/**
 * Decodes one `CodecFrame` message, without its length prefix.
 *
 * A missing `done` means false, and an explicit `done = false` is accepted too. Packed and
 * unpacked `ids` are both read. Unknown fields of wire types 0, 1, 2 and 5 are skipped.
 *
 * @param offset - offset of `bytes[0]` in the stream, added to byte offsets in errors
 * @throws {@link CodecMalformedFrameError} on a truncated field, an ID of 2^32 or more,
 *   invalid UTF-8, a known field with the wrong wire type, or wire type 3, 4, 6 or 7
 */
export function decodeProtobufFrameMessage(bytes: Uint8Array, offset = 0): CodecFrame {
  const reader = new ProtobufReader(bytes, offset, frameError);
  const frame: CodecFrame = { ids: [], done: false };
  const toolCalls: ToolCall[] = [];

  while (!reader.done) {
    const tag = reader.tag();
    switch (tag.field) {
      case IDS:
        reader.repeatedUint32(tag, frame.ids, "ids");
        break;
      case DONE:
        reader.expectWireType(tag, WireType.varint, "done");
        frame.done = reader.varint() !== 0;
        break;
      case FINISH_REASON:
        frame.finish_reason = reader.string(tag, "finish_reason");
        break;
      case TOOL_CALLS:
        reader.expectWireType(tag, WireType.lengthDelimited, "tool_calls");
        toolCalls.push(readToolCall(reader.lengthDelimited()));
        break;
      default:
        reader.skip(tag);
    }
  }

  if (toolCalls.length > 0) {
    frame.tool_calls = toolCalls;
  }
  return frame;
}

/** The UTF-8 fields of one tool call, encoded once so the message size can be computed first. */
interface EncodedToolCall {
  name: Uint8Array | undefined;
  argumentsJson: Uint8Array;
  id: Uint8Array | undefined;
  size: number;
}

function writeFrame(frame: CodecFrame, withPrefix: boolean): Uint8Array {
  checkEncodableIds(frame.ids, "protobuf");

  let idsBytes = 0;
  for (const id of frame.ids) {
    idsBytes += varintSize(id);
  }
  const finishReason =
    frame.finish_reason === undefined ? undefined : utf8Bytes(frame.finish_reason);
  const toolCalls = (frame.tool_calls ?? []).map(encodeToolCall);

  let size = 0;
  if (frame.ids.length > 0) {
    size += lengthDelimitedSize(idsBytes);
  }
  if (frame.done) {
    size += 2;
  }
  if (finishReason !== undefined) {
    size += lengthDelimitedSize(finishReason.length);
  }
  for (const call of toolCalls) {
    size += lengthDelimitedSize(call.size);
  }

  const writer = new ProtobufWriter(size + (withPrefix ? PROTOBUF_PREFIX_BYTES : 0));
  if (withPrefix) {
    writer.uint32BigEndian(size);
  }
  if (frame.ids.length > 0) {
    writer.tag(IDS, WireType.lengthDelimited);
    writer.varint(idsBytes);
    for (const id of frame.ids) {
      writer.varint(id);
    }
  }
  if (frame.done) {
    writer.tag(DONE, WireType.varint);
    writer.varint(1);
  }
  if (finishReason !== undefined) {
    writer.lengthDelimited(FINISH_REASON, finishReason);
  }
  for (const call of toolCalls) {
    writer.tag(TOOL_CALLS, WireType.lengthDelimited);
    writer.varint(call.size);
    writeToolCall(writer, call);
  }
  return writer.bytes;
}

function encodeToolCall(call: ToolCall): EncodedToolCall {
  const name = call.name ? utf8Bytes(call.name) : undefined;
  const argumentsJson = utf8Bytes(call.arguments_json);
  const id = call.id ? utf8Bytes(call.id) : undefined;

  let size = lengthDelimitedSize(argumentsJson.length);
  if (name !== undefined) {
    size += lengthDelimitedSize(name.length);
  }
  if (id !== undefined) {
    size += lengthDelimitedSize(id.length);
  }
  return { name, argumentsJson, id, size };
}

function writeToolCall(writer: ProtobufWriter, call: EncodedToolCall): void {
  if (call.name !== undefined) {
    writer.lengthDelimited(TOOL_NAME, call.name);
  }
  writer.lengthDelimited(TOOL_ARGUMENTS_JSON, call.argumentsJson);
  if (call.id !== undefined) {
    writer.lengthDelimited(TOOL_ID, call.id);
  }
}

function readToolCall(reader: ProtobufReader): ToolCall {
  const call: ToolCall = { arguments_json: "" };
  while (!reader.done) {
    const tag = reader.tag();
    switch (tag.field) {
      case TOOL_NAME:
        call.name = reader.string(tag, "tool_calls.name");
        break;
      case TOOL_ARGUMENTS_JSON:
        call.arguments_json = reader.string(tag, "tool_calls.arguments_json");
        break;
      case TOOL_ID:
        call.id = reader.string(tag, "tool_calls.id");
        break;
      default:
        reader.skip(tag);
    }
  }
  return call;
}

function frameError(reason: string, offset: number): Error {
  return new CodecMalformedFrameError({ format: "protobuf", reason, offset });
}
