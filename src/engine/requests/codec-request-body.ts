/**
 * Reads the binary body of `POST /v1/completions/codec` into the fields of an OpenAI completion
 * request, so the binary route validates exactly like `/v1/completions`.
 */
import { Decoder } from "@msgpack/msgpack";

import { ERRORS, HttpError } from "../../http/errors.js";
import { decodeProtobufRequest } from "../../protocol/codec-request.js";
import { CodecMalformedRequestError } from "../../protocol/errors.js";
import { MAX_TOKEN_ID } from "../../protocol/token-id.js";

/** `max_tokens` when the body leaves it out, as the vLLM Codec engine does. */
export const CODEC_DEFAULT_MAX_TOKENS = 256;

/** Keys of a msgpack body beyond the five `CodecRequest` fields that are passed on as they are. */
const EXTRA_MSGPACK_KEYS = [
  "seed",
  "top_p",
  "top_k",
  "min_p",
  "ignore_eos",
  "tool_watcher",
] as const;

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
  // A bare message never starts with byte 0 (field number 0 is invalid), so a leading 0 with a
  // matching big-endian length marks the prefixed form.
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const prefixed =
    body.length >= 4 && body[0] === 0 && view.getUint32(0, false) === body.length - 4;
  const message = prefixed ? body.subarray(4) : body;

  let request;
  try {
    request = decodeProtobufRequest(message);
  } catch (error) {
    if (!(error instanceof CodecMalformedRequestError)) throw error;
    if (/^prompt_ids.*larger than a uint32/.test(error.reason)) {
      throw new HttpError(
        ERRORS.requestInvalidTokenId,
        `invalid protobuf CodecRequest: ${error.reason}; token IDs are uint32`,
        { param: "prompt_ids", cause: error },
      );
    }
    throw invalidBody(
      `invalid protobuf CodecRequest at byte ${error.offset + (prefixed ? 4 : 0)}: ${error.reason}`,
      error,
    );
  }

  // proto3 readers cannot tell 0 from absent, so max_tokens 0 means "not set", as in generated code.
  const fields: Record<string, unknown> = { prompt: request.prompt_ids };
  if (request.max_tokens !== undefined && request.max_tokens !== 0)
    fields.max_tokens = request.max_tokens;
  if (request.temperature !== undefined) fields.temperature = request.temperature;
  if (request.stop !== undefined) fields.stop = request.stop;
  if (request.stream_format !== undefined && request.stream_format !== "")
    fields.stream_format = request.stream_format;
  return fields;
}

function readMsgpack(body: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = msgpackDecoder.decode(body);
  } catch (error) {
    throw invalidBody(`invalid msgpack CodecRequest: ${(error as Error).message}`, error);
  }
  if (
    typeof value !== "object" ||
    value === null ||
    Array.isArray(value) ||
    value instanceof Uint8Array
  ) {
    throw invalidBody("the msgpack CodecRequest must be a map with at least prompt_ids");
  }
  const map = value as Record<string, unknown>;

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
    fields[key] = typeof field === "bigint" ? Number(field) : field;
  }
  return fields;
}

function invalidBody(message: string, cause?: unknown): HttpError {
  return new HttpError(
    ERRORS.requestInvalidBinaryBody,
    message,
    cause === undefined ? {} : { cause },
  );
}
