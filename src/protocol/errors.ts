import type { BinaryStreamFormat } from "./frame.js";

/**
 * Every error code the protocol library throws. Codes are stable: match on `error.code`,
 * never on the message. A code is never reused for a different failure.
 */
export const CODEC_ERROR_CODES = [
  "CODEC_ERR_ARG_INVALID",
  "CODEC_ERR_STREAM_TRUNCATED",
  "CODEC_ERR_STREAM_MISSING_DONE",
  "CODEC_ERR_FRAME_MALFORMED",
  "CODEC_ERR_FRAME_TOO_LARGE",
  "CODEC_ERR_REQUEST_MALFORMED",
  "CODEC_ERR_MAP_INVALID",
  "CODEC_ERR_MAP_HASH_MISMATCH",
  "CODEC_ERR_MAP_FETCH_FAILED",
  "CODEC_ERR_HASH_INVALID",
  "CODEC_ERR_HASH_UNSUPPORTED_ALGORITHM",
  "CODEC_ERR_PRETOKENIZER_UNSUPPORTED_VERSION",
  "CODEC_ERR_PRETOKENIZER_PROGRAM_INVALID",
  "CODEC_ERR_PRETOKENIZER_PATTERN_INVALID",
  "CODEC_ERR_TOKENIZER_UNSUPPORTED",
  "CODEC_ERR_TOKENIZER_JSON_INVALID",
  "CODEC_ERR_TOOL_WATCHER_MARKER_MISSING",
  "CODEC_ERR_DISCOVERY_NOT_FOUND",
  "CODEC_ERR_DISCOVERY_FETCH_FAILED",
  "CODEC_ERR_DISCOVERY_POINTER_INVALID",
  "CODEC_ERR_DISCOVERY_ID_MISMATCH",
  "CODEC_ERR_DICT_HASH_MISMATCH",
  "CODEC_ERR_VERSION_POLICY_INVALID",
  "CODEC_ERR_VERSION_REQUIRED",
  "CODEC_ERR_ZSTD_DICT",
  "CODEC_ERR_CONTENT_ENCODING",
  "CODEC_ERR_HTTP_STATUS",
] as const;

/** One of the stable codes in {@link CODEC_ERROR_CODES}. */
export type CodecErrorCode = (typeof CODEC_ERROR_CODES)[number];

/**
 * Brand shared by every copy of this library. `Symbol.for` returns the same symbol in each
 * copy, so an error thrown by one bundled copy passes `instanceof` against another copy.
 */
const CODEC_ERROR_BRAND: unique symbol = Symbol.for("codec-serve.protocol.CodecError");

/**
 * Base class of every error the protocol library throws.
 *
 * Identify errors by `code`. `instanceof` also works across two bundled copies of the
 * library, because the check compares a `Symbol.for` brand and the code, not prototypes.
 */
export class CodecError extends Error {
  /** Stable machine-readable code, `CODEC_ERR_<AREA>_<WHAT>`. */
  readonly code: CodecErrorCode;

  /**
   * Creates an error with a stable code. Subclasses pass their own code.
   *
   * @param code - one of {@link CODEC_ERROR_CODES}
   * @param message - what failed, on which value, and what to do next
   * @param options - `cause` for the underlying error
   */
  constructor(code: CodecErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /**
   * Matches any branded error for the base class, and errors with the class's own static
   * `code` for a subclass. Classes without their own code fall back to the prototype chain.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== "object" || value === null) {
      return false;
    }
    if ((value as { [CODEC_ERROR_BRAND]?: unknown })[CODEC_ERROR_BRAND] !== true) {
      return false;
    }
    if (this === CodecError) {
      return true;
    }

    const ownCode: unknown = Object.hasOwn(this, "code")
      ? (this as unknown as { code: unknown }).code
      : undefined;
    if (typeof ownCode === "string") {
      return (value as { code?: unknown }).code === ownCode;
    }
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

Object.defineProperty(CodecError.prototype, CODEC_ERROR_BRAND, { value: true });
Object.defineProperty(CodecError.prototype, "name", { value: "CodecError", writable: true });

/**
 * Returns whether `value` is an error from any copy of this library, optionally with the
 * given code. Prefer this over `instanceof` in code that may see errors from other bundles.
 */
export function isCodecError(value: unknown, code?: CodecErrorCode): value is CodecError {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  if ((value as { [CODEC_ERROR_BRAND]?: unknown })[CODEC_ERROR_BRAND] !== true) {
    return false;
  }
  return code === undefined || (value as { code?: unknown }).code === code;
}

/** An argument passed to a library function has the wrong type or value. */
export class CodecInvalidArgumentError extends CodecError {
  static readonly code = "CODEC_ERR_ARG_INVALID";
  declare readonly code: "CODEC_ERR_ARG_INVALID";
  override readonly name = "CodecInvalidArgumentError";
  /** Name of the argument or option, e.g. `format` or `options.url`. */
  readonly argument: string;
  /** The value received. */
  readonly value: unknown;

  /** Creates the error. `expected` describes the accepted values. */
  constructor(argument: string, value: unknown, expected: string) {
    super(
      CodecInvalidArgumentError.code,
      `Invalid ${argument}: expected ${expected}, received ${describeValue(value)}.`,
    );
    this.argument = argument;
    this.value = value;
  }
}

/** Details of a stream that ended inside a frame. */
export interface StreamTruncatedDetails {
  format: BinaryStreamFormat;
  /** Byte offset in the body where the incomplete frame starts. */
  offset: number;
  /** Bytes of the incomplete frame that did arrive. */
  receivedBytes: number;
  /** Full size of the incomplete frame, when its header gives it (the protobuf length prefix). */
  expectedBytes?: number;
}

/** The response body ended in the middle of a frame. */
export class CodecStreamTruncatedError extends CodecError {
  static readonly code = "CODEC_ERR_STREAM_TRUNCATED";
  declare readonly code: "CODEC_ERR_STREAM_TRUNCATED";
  override readonly name = "CodecStreamTruncatedError";
  readonly format: BinaryStreamFormat;
  /** Byte offset in the body where the incomplete frame starts. */
  readonly offset: number;
  /** Bytes of the incomplete frame that did arrive. */
  readonly receivedBytes: number;
  /** Full size of the incomplete frame, when known. */
  readonly expectedBytes: number | undefined;

  /** Creates the error from the position and size of the incomplete frame. */
  constructor(details: StreamTruncatedDetails) {
    const expected =
      details.expectedBytes === undefined ? "" : ` of ${details.expectedBytes} expected`;
    super(
      CodecStreamTruncatedError.code,
      `Codec ${details.format} stream ended inside a frame: the frame at byte ${details.offset} ` +
        `has ${details.receivedBytes} bytes${expected}. The connection was probably cut; retry the request.`,
    );
    this.format = details.format;
    this.offset = details.offset;
    this.receivedBytes = details.receivedBytes;
    this.expectedBytes = details.expectedBytes;
  }
}

/** The response body ended cleanly between frames, but no frame had `done: true`. */
export class CodecStreamMissingDoneError extends CodecError {
  static readonly code = "CODEC_ERR_STREAM_MISSING_DONE";
  declare readonly code: "CODEC_ERR_STREAM_MISSING_DONE";
  override readonly name = "CodecStreamMissingDoneError";
  readonly format: BinaryStreamFormat;
  /** Frames decoded before the body ended. */
  readonly framesDecoded: number;
  /** Total body length in bytes. */
  readonly bytesRead: number;

  /** Creates the error from the number of frames and bytes that did arrive. */
  constructor(format: BinaryStreamFormat, framesDecoded: number, bytesRead: number) {
    super(
      CodecStreamMissingDoneError.code,
      `Codec ${format} stream ended after ${framesDecoded} frames (${bytesRead} bytes) ` +
        `without a frame with done: true. The output is incomplete; retry the request.`,
    );
    this.format = format;
    this.framesDecoded = framesDecoded;
    this.bytesRead = bytesRead;
  }
}

/** Details of a frame that does not follow the wire format. */
export interface MalformedFrameDetails {
  format: BinaryStreamFormat;
  /** What is wrong, as a sentence fragment: `ids[2] is -1, not a uint32`. */
  reason: string;
  /** Byte offset of the problem, in the stream or in the message passed in. */
  offset?: number;
  /** The offending decoded value, when there is one. */
  value?: unknown;
  cause?: unknown;
}

/** A frame does not follow the msgpack or protobuf layout of a Codec frame. */
export class CodecMalformedFrameError extends CodecError {
  static readonly code = "CODEC_ERR_FRAME_MALFORMED";
  declare readonly code: "CODEC_ERR_FRAME_MALFORMED";
  override readonly name = "CodecMalformedFrameError";
  readonly format: BinaryStreamFormat;
  readonly reason: string;
  /** Byte offset of the problem, when known. */
  readonly offset: number | undefined;
  /** The offending decoded value, when there is one. */
  readonly value: unknown;

  /** Creates the error with a message that names the problem and its byte offset. */
  constructor(details: MalformedFrameDetails) {
    const where = details.offset === undefined ? "" : ` at byte ${details.offset}`;
    super(
      CodecMalformedFrameError.code,
      `Malformed Codec ${details.format} frame${where}: ${details.reason}. ` +
        `Check that the server speaks stream_format "${details.format}".`,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.format = details.format;
    this.reason = details.reason;
    this.offset = details.offset;
    this.value = details.value;
  }
}

/** A frame is larger than the decoder's configured maximum. */
export class CodecFrameTooLargeError extends CodecError {
  static readonly code = "CODEC_ERR_FRAME_TOO_LARGE";
  declare readonly code: "CODEC_ERR_FRAME_TOO_LARGE";
  override readonly name = "CodecFrameTooLargeError";
  readonly format: BinaryStreamFormat;
  /** Byte offset in the body where the frame starts. */
  readonly offset: number;
  /** Frame size in bytes, or the bytes buffered so far when the size is not yet known. */
  readonly size: number;
  /** The configured maximum frame size in bytes. */
  readonly maxFrameBytes: number;

  /** Creates the error from the frame's position and size and the configured limit. */
  constructor(format: BinaryStreamFormat, offset: number, size: number, maxFrameBytes: number) {
    super(
      CodecFrameTooLargeError.code,
      `Codec ${format} frame at byte ${offset} is at least ${size} bytes, over the limit of ` +
        `${maxFrameBytes} bytes. Raise maxFrameBytes if the server really sends frames this large.`,
    );
    this.format = format;
    this.offset = offset;
    this.size = size;
    this.maxFrameBytes = maxFrameBytes;
  }
}

/**
 * A binary `CodecRequest` body does not follow the wire format (decoding), or a request to
 * encode contains a value that the wire format cannot carry (encoding, where `offset` is undefined).
 */
export class CodecMalformedRequestError extends CodecError {
  static readonly code = "CODEC_ERR_REQUEST_MALFORMED";
  declare readonly code: "CODEC_ERR_REQUEST_MALFORMED";
  override readonly name = "CodecMalformedRequestError";
  readonly reason: string;
  /** Byte offset of the problem in the request body; undefined for an encoding error. */
  readonly offset: number | undefined;
  /** The wire format of the request. */
  readonly format: BinaryStreamFormat;

  /**
   * Creates the error with a message that names the problem and, when decoding, its byte offset.
   *
   * @param offset - byte offset in the body being decoded; leave it undefined when encoding
   * @param options - `format` (default `protobuf`) and `cause`
   */
  constructor(
    reason: string,
    offset?: number,
    options: ErrorOptions & { format?: BinaryStreamFormat } = {},
  ) {
    const format = options.format ?? "protobuf";
    super(
      CodecMalformedRequestError.code,
      offset === undefined
        ? `Cannot encode the ${format} CodecRequest: ${reason}.`
        : `Malformed ${format} CodecRequest at byte ${offset}: ${reason}.`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.reason = reason;
    this.offset = offset;
    this.format = format;
  }
}

/** A tokenizer map document does not follow the map schema. */
export class CodecInvalidMapError extends CodecError {
  static readonly code = "CODEC_ERR_MAP_INVALID";
  declare readonly code: "CODEC_ERR_MAP_INVALID";
  override readonly name = "CodecInvalidMapError";
  /** Path of the offending field, e.g. `vocab_size` or `vocab["abc"]`. `$` is the whole document. */
  readonly field: string;
  /** The offending value. */
  readonly value: unknown;

  /** Creates the error. `problem` states the rule the field breaks. */
  constructor(field: string, value: unknown, problem: string, options?: ErrorOptions) {
    super(
      CodecInvalidMapError.code,
      `Invalid tokenizer map: ${field} ${problem} (received ${describeValue(value)}).`,
      options,
    );
    this.field = field;
    this.value = value;
  }
}

/** The sha256 of a map's bytes differs from the pinned hash. */
export class CodecMapHashMismatchError extends CodecError {
  static readonly code = "CODEC_ERR_MAP_HASH_MISMATCH";
  declare readonly code: "CODEC_ERR_MAP_HASH_MISMATCH";
  override readonly name = "CodecMapHashMismatchError";
  /** The pinned hash, `sha256:<64 lowercase hex>`. */
  readonly expected: string;
  /** The hash of the bytes received, in the same form. */
  readonly actual: string;
  /** Where the bytes came from, when they were fetched. */
  readonly url: string | undefined;

  /** Creates the error from the pinned and the computed hash. */
  constructor(expected: string, actual: string, url?: string) {
    const source = url === undefined ? "the map bytes" : `the map at ${url}`;
    super(
      CodecMapHashMismatchError.code,
      `Hash mismatch for ${source}: expected ${expected}, got ${actual}. ` +
        `The map changed or the pinned hash is wrong; maps are immutable, so a new map needs a new URL and hash.`,
    );
    this.expected = expected;
    this.actual = actual;
    this.url = url;
  }
}

/** Fetching a tokenizer map failed: a network error or a non-2xx status. */
export class CodecMapFetchError extends CodecError {
  static readonly code = "CODEC_ERR_MAP_FETCH_FAILED";
  declare readonly code: "CODEC_ERR_MAP_FETCH_FAILED";
  override readonly name = "CodecMapFetchError";
  readonly url: string;
  /** The HTTP status, when a response arrived. */
  readonly status: number | undefined;

  /** Creates the error from the URL and either the HTTP status or the network error. */
  constructor(url: string, status: number | undefined, cause?: unknown) {
    const failure =
      status === undefined ? "the request failed" : `the server returned HTTP ${status}`;
    super(
      CodecMapFetchError.code,
      `Failed to fetch tokenizer map ${url}: ${failure}. Check the URL and that the host serves the map.`,
      cause === undefined ? undefined : { cause },
    );
    this.url = url;
    this.status = status;
  }
}

/** A content hash string is not `sha256:<64 hex>` or 64 bare hex digits. */
export class CodecInvalidHashError extends CodecError {
  static readonly code = "CODEC_ERR_HASH_INVALID";
  declare readonly code: "CODEC_ERR_HASH_INVALID";
  override readonly name = "CodecInvalidHashError";
  /** The hash string received. */
  readonly hash: string;

  /** Creates the error for the hash string received. */
  constructor(hash: string) {
    super(
      CodecInvalidHashError.code,
      `Invalid content hash ${JSON.stringify(hash)}: expected "sha256:" followed by 64 hex digits, or 64 bare hex digits.`,
    );
    this.hash = hash;
  }
}

/** A content hash names an algorithm other than sha256, or the runtime cannot compute sha256. */
export class CodecUnsupportedHashAlgorithmError extends CodecError {
  static readonly code = "CODEC_ERR_HASH_UNSUPPORTED_ALGORITHM";
  declare readonly code: "CODEC_ERR_HASH_UNSUPPORTED_ALGORITHM";
  override readonly name = "CodecUnsupportedHashAlgorithmError";
  /** The algorithm named by the hash, e.g. `sha512`. */
  readonly algorithm: string;

  /** Creates the error. `detail`, when given, replaces the default message. */
  constructor(algorithm: string, detail?: string) {
    super(
      CodecUnsupportedHashAlgorithmError.code,
      detail ??
        `Unsupported hash algorithm "${algorithm}": Codec content hashes are sha256. Pin the map as sha256:<hex>.`,
    );
    this.algorithm = algorithm;
  }
}

/** Formats a value for an error message, truncated to keep messages short. */
export function describeValue(value: unknown): string {
  if (value === undefined) {
    return "undefined";
  }
  if (typeof value === "bigint") {
    return `${value}n`;
  }
  if (typeof value === "function") {
    return "a function";
  }

  let text: string;
  try {
    text = Array.isArray(value)
      ? `an array of ${value.length}`
      : typeof value === "object" && value !== null
        ? "an object"
        : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
