import { Encoder } from "@msgpack/msgpack";

import { CodecInvalidArgumentError, CodecMalformedRequestError } from "./errors.js";
import {
  lengthDelimitedSize,
  ProtobufReader,
  ProtobufWriter,
  utf8Bytes,
  varintSize,
  WireType,
} from "./protobuf-wire.js";
import { checkEncodableIds, isTokenId } from "./token-id.js";

/**
 * A binary completion request body for `POST /v1/completions/codec`: the prompt as token IDs
 * plus a few sampling fields.
 */
export interface CodecRequest {
  prompt_ids: number[];
  max_tokens?: number;
  /** Sampling temperature. The protobuf form carries it as a 32-bit float, so 0.7 reads back as 0.699999988079071. */
  temperature?: number;
  stop?: string[];
  /** `"msgpack"` or `"protobuf"`: the format of the streamed response. */
  stream_format?: string;
}

const PROMPT_IDS = 1;
const MAX_TOKENS = 2;
const TEMPERATURE = 3;
const STOP = 4;
const STREAM_FORMAT = 5;

const encoder = new Encoder();

/**
 * Encodes a request as a bare `CodecRequest` protobuf message, with no length prefix,
 * which is what sglang expects.
 *
 * Fields left undefined are left out. Defined fields are written even when they hold the
 * proto3 default (0 or ""), so this library's decoder can tell them apart from absent ones.
 * Servers built on generated proto3 code cannot, and read an explicit 0 as "not set".
 *
 * @throws {@link CodecMalformedFrameError} when a prompt ID is not a uint32
 * @throws {@link CodecInvalidArgumentError} when `max_tokens` is not a uint32
 */
export function encodeProtobufRequest(request: CodecRequest): Uint8Array {
  checkEncodableIds(request.prompt_ids, "protobuf");
  if (request.max_tokens !== undefined && !isTokenId(request.max_tokens)) {
    throw new CodecInvalidArgumentError("request.max_tokens", request.max_tokens, "a uint32");
  }

  let idsBytes = 0;
  for (const id of request.prompt_ids) {
    idsBytes += varintSize(id);
  }
  const stop = (request.stop ?? []).map(utf8Bytes);
  const streamFormat =
    request.stream_format === undefined ? undefined : utf8Bytes(request.stream_format);

  let size = 0;
  if (request.prompt_ids.length > 0) {
    size += lengthDelimitedSize(idsBytes);
  }
  if (request.max_tokens !== undefined) {
    size += 1 + varintSize(request.max_tokens);
  }
  if (request.temperature !== undefined) {
    size += 5;
  }
  for (const text of stop) {
    size += lengthDelimitedSize(text.length);
  }
  if (streamFormat !== undefined) {
    size += lengthDelimitedSize(streamFormat.length);
  }

  const writer = new ProtobufWriter(size);
  if (request.prompt_ids.length > 0) {
    writer.tag(PROMPT_IDS, WireType.lengthDelimited);
    writer.varint(idsBytes);
    for (const id of request.prompt_ids) {
      writer.varint(id);
    }
  }
  if (request.max_tokens !== undefined) {
    writer.tag(MAX_TOKENS, WireType.varint);
    writer.varint(request.max_tokens);
  }
  if (request.temperature !== undefined) {
    writer.tag(TEMPERATURE, WireType.fixed32);
    writer.float32(request.temperature);
  }
  for (const text of stop) {
    writer.lengthDelimited(STOP, text);
  }
  if (streamFormat !== undefined) {
    writer.lengthDelimited(STREAM_FORMAT, streamFormat);
  }
  return writer.bytes;
}

/**
 * Decodes a bare `CodecRequest` protobuf message. Fields absent from the bytes are left
 * undefined, `prompt_ids` excepted, which is then empty. Unknown fields are skipped.
 *
 * @throws {@link CodecMalformedRequestError} naming the field and byte offset
 */
export function decodeProtobufRequest(bytes: Uint8Array): CodecRequest {
  const reader = new ProtobufReader(bytes, 0, requestError);
  const request: CodecRequest = { prompt_ids: [] };

  while (!reader.done) {
    const tag = reader.tag();
    switch (tag.field) {
      case PROMPT_IDS:
        reader.repeatedUint32(tag, request.prompt_ids, "prompt_ids");
        break;
      case MAX_TOKENS:
        reader.expectWireType(tag, WireType.varint, "max_tokens");
        request.max_tokens = reader.uint32("max_tokens");
        break;
      case TEMPERATURE:
        reader.expectWireType(tag, WireType.fixed32, "temperature");
        request.temperature = reader.float32();
        break;
      case STOP:
        reader.expectWireType(tag, WireType.lengthDelimited, "stop");
        (request.stop ??= []).push(reader.string("stop"));
        break;
      case STREAM_FORMAT:
        reader.expectWireType(tag, WireType.lengthDelimited, "stream_format");
        request.stream_format = reader.string("stream_format");
        break;
      default:
        reader.skip(tag);
    }
  }
  return request;
}

/**
 * Encodes a request as a msgpack map with keys in the order `prompt_ids`, `max_tokens`,
 * `temperature`, `stop`, `stream_format`, leaving out undefined fields.
 *
 * @throws {@link CodecMalformedFrameError} when a prompt ID is not a uint32
 */
export function encodeMsgpackRequest(request: CodecRequest): Uint8Array {
  checkEncodableIds(request.prompt_ids, "msgpack");

  const map: Record<string, unknown> = { prompt_ids: request.prompt_ids };
  for (const key of ["max_tokens", "temperature", "stop", "stream_format"] as const) {
    if (request[key] !== undefined) {
      map[key] = request[key];
    }
  }
  return encoder.encode(map);
}

function requestError(reason: string, offset: number): Error {
  return new CodecMalformedRequestError(reason, offset);
}
