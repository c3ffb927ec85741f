import { Encoder } from "@msgpack/msgpack";

import { CodecMalformedRequestError, describeValue } from "./errors.js";
import type { BinaryStreamFormat } from "./frame.js";
import {
  lengthDelimitedSize,
  ProtobufReader,
  ProtobufWriter,
  utf8Bytes,
  varintSize,
  WireType,
} from "./protobuf-wire.js";
import { isTokenId } from "./token-id.js";

/**
 * A binary completion request body for `POST /v1/completions/codec`: the prompt as token IDs
 * plus a few sampling fields. These five fields are the protobuf `CodecRequest` message.
 */
export interface CodecRequest {
  prompt_ids: number[];
  max_tokens?: number;
  /** Sampling temperature; 0 is greedy decoding. The protobuf form carries it as a 32-bit float, so 0.7 reads back as 0.699999988079071. */
  temperature?: number;
  stop?: string[];
  /** The format of the streamed response: `"msgpack"`, `"protobuf"` or a delta variant. */
  stream_format?: string;
}

/**
 * A msgpack request body: the {@link CodecRequest} fields plus the sampling and ToolWatcher fields
 * that codec-serve also accepts there, with the meaning they have in a JSON completion request.
 * The protobuf message has no field numbers for them.
 */
export interface MsgpackCodecRequest extends CodecRequest {
  /** Sampling seed; the server uses it modulo 2^32. */
  seed?: number;
  top_p?: number;
  /** 0 or a negative value disables top-k. */
  top_k?: number;
  min_p?: number;
  /** Keep generating past end-of-generation tokens. */
  ignore_eos?: boolean;
  /** Marker token IDs of the server-side ToolWatcher. */
  tool_watcher?: { start_id: number; end_id: number };
}

/** Fields of {@link MsgpackCodecRequest} that the protobuf message cannot carry. */
export const MSGPACK_ONLY_FIELDS = [
  "seed",
  "top_p",
  "top_k",
  "min_p",
  "ignore_eos",
  "tool_watcher",
] as const;

/** Key order of an encoded msgpack request. */
const MSGPACK_FIELD_ORDER = [
  "max_tokens",
  "temperature",
  "stop",
  "stream_format",
  ...MSGPACK_ONLY_FIELDS,
] as const;

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
 * proto3 default (0 or ""), so this library's decoder and codec-serve can tell them apart from
 * absent ones. Servers built on generated proto3 code without `optional` cannot, and read an
 * explicit 0 as "not set".
 *
 * @throws {@link CodecMalformedRequestError} when a prompt ID or `max_tokens` is not a uint32,
 *   `temperature` is not a finite number, or the request sets a field that only the msgpack
 *   form carries (`seed`, `top_p`, `top_k`, `min_p`, `ignore_eos`, `tool_watcher`)
 */
export function encodeProtobufRequest(request: CodecRequest): Uint8Array {
  checkRequest(request, "protobuf");
  const msgpackOnly = MSGPACK_ONLY_FIELDS.filter(
    (key) => (request as MsgpackCodecRequest)[key] !== undefined,
  );
  if (msgpackOnly.length > 0) {
    throw new CodecMalformedRequestError(
      `the protobuf message has no field for ${msgpackOnly.join(", ")}; send the request with encodeMsgpackRequest`,
      undefined,
      { format: "protobuf" },
    );
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
 * @throws {@link CodecMalformedRequestError} naming the field and byte offset, and for a first
 *   byte of 0, which starts a length-prefixed body rather than a message
 */
export function decodeProtobufRequest(bytes: Uint8Array): CodecRequest {
  if (bytes[0] === 0) {
    throw new CodecMalformedRequestError(
      "a message never starts with byte 0 (field number 0 is invalid); strip the 4-byte length prefix first",
      0,
    );
  }
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
        (request.stop ??= []).push(reader.string(tag, "stop"));
        break;
      case STREAM_FORMAT:
        request.stream_format = reader.string(tag, "stream_format");
        break;
      default:
        reader.skip(tag);
    }
  }
  return request;
}

/**
 * Encodes a request as a msgpack map with keys in the order `prompt_ids`, `max_tokens`,
 * `temperature`, `stop`, `stream_format`, `seed`, `top_p`, `top_k`, `min_p`, `ignore_eos`,
 * `tool_watcher`, leaving out undefined fields.
 *
 * @throws {@link CodecMalformedRequestError} when a prompt ID or `max_tokens` is not a uint32,
 *   `temperature` is not a finite number, or a `tool_watcher` marker is not a uint32
 */
export function encodeMsgpackRequest(request: MsgpackCodecRequest): Uint8Array {
  checkRequest(request, "msgpack");
  const watcher = request.tool_watcher;
  if (watcher !== undefined) {
    for (const key of ["start_id", "end_id"] as const) {
      if (!isTokenId(watcher[key])) {
        throw notEncodable(`tool_watcher.${key}`, watcher[key], "a uint32 token ID", "msgpack");
      }
    }
  }

  const map: Record<string, unknown> = { prompt_ids: request.prompt_ids };
  for (const key of MSGPACK_FIELD_ORDER) {
    if (request[key] !== undefined) {
      map[key] = request[key];
    }
  }
  return encoder.encode(map);
}

/** Checks the fields both encoders write, so a bad value never goes out as a different type. */
function checkRequest(request: CodecRequest, format: BinaryStreamFormat): void {
  request.prompt_ids.forEach((id, index) => {
    if (!isTokenId(id)) {
      throw notEncodable(`prompt_ids[${index}]`, id, "a uint32 token ID", format);
    }
  });
  if (request.max_tokens !== undefined && !isTokenId(request.max_tokens)) {
    throw notEncodable("max_tokens", request.max_tokens, "a uint32", format);
  }
  if (request.temperature !== undefined && !Number.isFinite(request.temperature)) {
    throw notEncodable("temperature", request.temperature, "a finite number", format);
  }
}

function notEncodable(
  field: string,
  value: unknown,
  expected: string,
  format: BinaryStreamFormat,
): CodecMalformedRequestError {
  return new CodecMalformedRequestError(
    `${field} is ${describeValue(value)}, not ${expected}`,
    undefined,
    { format },
  );
}

function requestError(reason: string, offset: number): Error {
  return new CodecMalformedRequestError(reason, offset);
}
