/**
 * Errors raised while undoing a response's `Content-Encoding`. Their codes are listed in
 * `CODEC_ERROR_CODES` in errors.ts.
 */
import { CodecError } from "./errors.js";

/** What is wrong with a response's `Codec-Zstd-Dict` header. */
export type ZstdDictProblem = "missing" | "malformed" | "unknown" | "unexpected";

/**
 * A zstd response cannot be decoded with a known dictionary: `Codec-Zstd-Dict` is missing on a
 * zstd response (`missing`), is not `sha256:<64 hex>` (`malformed`), names a dictionary the
 * client neither has nor can fetch (`unknown`), or appears on a response that is not zstd
 * (`unexpected`). Codec never decodes zstd with a guessed dictionary, so each case is final.
 */
export class CodecZstdDictError extends CodecError {
  static readonly code = "CODEC_ERR_ZSTD_DICT";
  declare readonly code: "CODEC_ERR_ZSTD_DICT";
  override readonly name = "CodecZstdDictError";
  readonly problem: ZstdDictProblem;
  /** The header value, when there was one. */
  readonly header: string | undefined;

  /** Creates the error. `detail` says what failed and what to do. */
  constructor(
    problem: ZstdDictProblem,
    header: string | undefined,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(CodecZstdDictError.code, detail, options);
    this.problem = problem;
    this.header = header;
  }
}

/**
 * A response body uses a `Content-Encoding` this runtime cannot decode, or its compressed bytes
 * are corrupt.
 */
export class CodecContentEncodingError extends CodecError {
  static readonly code = "CODEC_ERR_CONTENT_ENCODING";
  declare readonly code: "CODEC_ERR_CONTENT_ENCODING";
  override readonly name = "CodecContentEncodingError";
  /** The encoding, e.g. `br`. */
  readonly encoding: string;

  /** Creates the error. `detail` says what failed and what to do. */
  constructor(encoding: string, detail: string, options?: ErrorOptions) {
    super(CodecContentEncodingError.code, detail, options);
    this.encoding = encoding;
  }
}
