/**
 * Reads the binary body of `POST /v1/completions/codec` into the fields of an OpenAI completion
 * request, so the binary route validates exactly like `/v1/completions`.
 */
import { Decoder } from "@msgpack/msgpack";

import { ERRORS, HttpError } from "../../http/errors.js";
import { decodeProtobufRequest, MSGPACK_ONLY_FIELDS } from "../../protocol/codec-request.js";
import { CodecMalformedRequestError } from "../../protocol/errors.js";
import { MsgpackValueScanner } from "../../protocol/msgpack-scanner.js";
import { MAX_TOKEN_ID } from "../../protocol/token-id.js";

/** `max_tokens` when the body leaves it out, as the vLLM Codec engine does. */
export const CODEC_DEFAULT_MAX_TOKENS = 256;

/** Keys of a msgpack body beyond the five `CodecRequest` fields that are passed on as they are. */
const EXTRA_MSGPACK_KEYS = MSGPACK_ONLY_FIELDS;

const msgpackDecoder = new Decoder({ useBigInt64: true });

/**
 * Decodes a binary CodecRequest: protobuf when the Content-Type contains `protobuf` (with or
 * without a 4-byte big-endian length prefix equal to the body length minus 4), else a msgpack
 * map. `stream_format` defaults to `msgpack` and `max_tokens` to 256.
 *
 * @throws HttpError 400 `CODEC_ERR_REQUEST_INVALID_BINARY_BODY` for an empty, truncated or
 *   malformed body, and `CODEC_ERR_REQUEST_INVALID_TOKEN_ID` for a prompt ID that is negative or
 *   2^32 or more
 */
export function readCodecRequestBody(
  body: unknown,
  contentType: string | undefined,
): Record<string, unknown> {
  if (!(body instanceof Uint8Array) || body.byteLength === 0) {
    throw invalidBody("the request body is empty; send a msgpack or protobuf CodecRequest");
  }
  const fields = (contentType ?? "").toLowerCase().includes("protobuf")
    ? readProtobuf(body)
    : readMsgpack(body);
  return {
    ...fields,
    stream_format: fields.stream_format ?? "msgpack",
    max_tokens: fields.max_tokens ?? CODEC_DEFAULT_MAX_TOKENS,
  };
}

function readProtobuf(body: Uint8Array): Record<string, unknown> {
  const prefixBytes = lengthPrefixBytes(body);
  const message = body.subarray(prefixBytes);

  let request;
  try {
    request = decodeProtobufRequest(message);
  } catch (error) {
    if (!(error instanceof CodecMalformedRequestError)) throw error;
    const offset = (error.offset ?? 0) + prefixBytes;
    if (/^prompt_ids.*larger than a uint32/.test(error.reason)) {
      throw new HttpError(
        ERRORS.requestInvalidTokenId,
        `invalid protobuf CodecRequest at byte ${offset}: ${error.reason}; token IDs are 0 to ${MAX_TOKEN_ID}`,
        { param: "prompt_ids", cause: error },
      );
    }
    throw invalidBody(`invalid protobuf CodecRequest at byte ${offset}: ${error.reason}`, error);
  }

  // Without `optional`, proto3 code cannot tell 0 from absent, so max_tokens 0 means "not set".
  const fields: Record<string, unknown> = { prompt: request.prompt_ids };
  if (request.max_tokens !== undefined && request.max_tokens !== 0)
    fields.max_tokens = request.max_tokens;
  if (request.temperature !== undefined) fields.temperature = request.temperature;
  if (request.stop !== undefined) fields.stop = request.stop;
  if (request.stream_format !== undefined && request.stream_format !== "")
    fields.stream_format = request.stream_format;
  return fields;
}

/**
 * Returns 4 for a body with a 4-byte big-endian length prefix, else 0. A bare message never
 * starts with byte 0 (field number 0 is invalid), so a leading 0 marks the prefixed form, and
 * the prefix must then equal the body length minus 4.
 *
 * @throws HttpError 400 `CODEC_ERR_REQUEST_INVALID_BINARY_BODY` when a leading 0 starts a prefix
 *   that does not match the body
 */
function lengthPrefixBytes(body: Uint8Array): number {
  if (body[0] !== 0) return 0;
  const prefixRule =
    "send the message without a prefix, or with a 4-byte big-endian prefix equal to the body length minus 4";
  if (body.length < 4) {
    throw invalidBody(
      `invalid protobuf CodecRequest: the body starts with byte 0, which only a length prefix does, but it has only ${body.length} bytes; ${prefixRule}`,
    );
  }
  const declared = new DataView(body.buffer, body.byteOffset, 4).getUint32(0, false);
  if (declared !== body.length - 4) {
    throw invalidBody(
      `invalid protobuf CodecRequest: the body starts with byte 0, so its first 4 bytes were read as a length prefix, ` +
        `but the prefix is ${declared} and ${body.length - 4} bytes follow it; ${prefixRule}`,
    );
  }
  return 4;
}

function readMsgpack(body: Uint8Array): Record<string, unknown> {
  const map = decodeMsgpackMap(body);

  const promptIds = map.prompt_ids;
  if (!Array.isArray(promptIds)) {
    throw new HttpError(
      ERRORS.requestInvalidParam,
      "prompt_ids is missing or not an array of token IDs",
      {
        param: "prompt_ids",
      },
    );
  }
  const prompt = promptIds.map((id: unknown, index) => {
    const number = typeof id === "bigint" ? Number(id) : id;
    if (typeof number !== "number" || !Number.isInteger(number)) {
      throw new HttpError(ERRORS.requestInvalidParam, `prompt_ids[${index}] is not an integer`, {
        param: "prompt_ids",
      });
    }
    if (number < 0 || number > MAX_TOKEN_ID) {
      throw new HttpError(
        ERRORS.requestInvalidTokenId,
        `prompt_ids[${index}] is ${typeof id === "bigint" ? id.toString() : number}; token IDs are uint32 (0 to ${MAX_TOKEN_ID})`,
        { param: "prompt_ids", value: number },
      );
    }
    return number;
  });

  const fields: Record<string, unknown> = { prompt };
  for (const key of ["max_tokens", "temperature", "stop", "stream_format", ...EXTRA_MSGPACK_KEYS]) {
    const field = map[key];
    if (field === undefined || field === null) continue;
    // Any integer is a valid seed and the server uses it modulo 2^32, so a 64-bit seed is reduced exactly.
    fields[key] =
      key === "seed" && typeof field === "bigint"
        ? Number(BigInt.asUintN(32, field))
        : withNumbers(field);
  }
  return fields;
}

/**
 * Decodes a msgpack body that must be one map. The structure is scanned first, so a truncated
 * body, an invalid type byte and bytes after the map are reported with their byte offset.
 */
function decodeMsgpackMap(body: Uint8Array): Record<string, unknown> {
  const head = body[0] as number;
  if (!isMsgpackMapHead(head)) {
    throw invalidBody(
      `invalid msgpack CodecRequest at byte 0: the body starts with byte 0x${head.toString(16).padStart(2, "0")}, ` +
        "which is not a msgpack map; send a map with at least prompt_ids",
    );
  }

  const scanner = new MsgpackValueScanner();
  let length: number;
  try {
    length = scanner.scan(body);
  } catch (error) {
    throw invalidBody(
      `invalid msgpack CodecRequest at byte ${scanner.scannedBytes}: byte 0xc1 is not a valid msgpack type`,
      error,
    );
  }
  if (length === -1) {
    throw invalidBody(
      `invalid msgpack CodecRequest: the body is truncated; it ends at byte ${body.length}, ` +
        `inside the element that starts at byte ${scanner.scannedBytes}; send the whole map, and check the Content-Length`,
    );
  }
  if (length < body.length) {
    throw invalidBody(
      `invalid msgpack CodecRequest at byte ${length}: ${plural(body.length - length, "more byte follows", "more bytes follow")} the map; send exactly one map`,
    );
  }

  try {
    return msgpackDecoder.decode(body) as Record<string, unknown>;
  } catch (error) {
    throw invalidBody(`invalid msgpack CodecRequest: ${(error as Error).message}`, error);
  }
}

/** fixmap (0x80-0x8f), map 16 (0xde) or map 32 (0xdf). */
function isMsgpackMapHead(head: number): boolean {
  return (head >= 0x80 && head <= 0x8f) || head === 0xde || head === 0xdf;
}

/**
 * Turns the BigInts that 64-bit msgpack integers decode to into numbers, in nested maps and
 * arrays too, so validation reports a range error instead of a type error. A value beyond 2^53
 * is rounded, which keeps it out of every range the fields allow.
 */
function withNumbers(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(withNumbers);
  if (typeof value === "object" && value !== null && !(value instanceof Uint8Array)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, entry]) => [key, withNumbers(entry)]),
    );
  }
  return value;
}

function invalidBody(message: string, cause?: unknown): HttpError {
  return new HttpError(
    ERRORS.requestInvalidBinaryBody,
    message,
    cause === undefined ? {} : { cause },
  );
}

/** Returns `1 singular` or `N plural`. */
function plural(count: number, singular: string, pluralForm: string): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
