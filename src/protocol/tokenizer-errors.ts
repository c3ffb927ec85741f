/**
 * Errors raised while building or running a tokenizer from a map: pre-tokenizer programs and
 * patterns, maps that lack encoding data, Hugging Face `tokenizer.json` input, and ToolWatcher
 * markers. Their codes are listed in `CODEC_ERROR_CODES` in errors.ts.
 */
import { CodecError, describeValue } from "./errors.js";

/** Program versions this library runs. */
export const SUPPORTED_PROGRAM_VERSIONS: readonly number[] = [1, 2];

/**
 * A map's `pre_tokenizer_program` has a version this library does not know. A newer version may
 * use ops with other meanings, so running it as version 1 or 2 could split text wrongly.
 */
export class CodecUnsupportedProgramVersionError extends CodecError {
  static readonly code = "CODEC_ERR_PRETOKENIZER_UNSUPPORTED_VERSION";
  declare readonly code: "CODEC_ERR_PRETOKENIZER_UNSUPPORTED_VERSION";
  override readonly name = "CodecUnsupportedProgramVersionError";
  /** The `version` value of the program. */
  readonly version: unknown;

  /** Creates the error for the program version received. */
  constructor(version: unknown) {
    super(
      CodecUnsupportedProgramVersionError.code,
      `Unsupported pre_tokenizer_program version ${describeValue(version)}: this client runs ` +
        `versions ${SUPPORTED_PROGRAM_VERSIONS.join(" and ")}. Upgrade the client to encode text with this map.`,
    );
    this.version = version;
  }
}

/** A `pre_tokenizer_program` op or stage is unknown or has invalid fields. */
export class CodecInvalidProgramError extends CodecError {
  static readonly code = "CODEC_ERR_PRETOKENIZER_PROGRAM_INVALID";
  declare readonly code: "CODEC_ERR_PRETOKENIZER_PROGRAM_INVALID";
  override readonly name = "CodecInvalidProgramError";
  /** Path of the offending entry, e.g. `ops[2].max_run`. */
  readonly path: string;
  /** The offending value. */
  readonly value: unknown;

  /** Creates the error. `problem` states the rule the entry breaks. */
  constructor(path: string, value: unknown, problem: string) {
    super(
      CodecInvalidProgramError.code,
      `Invalid pre_tokenizer_program: ${path} ${problem} (received ${describeValue(value)}).`,
    );
    this.path = path;
    this.value = value;
  }
}

/** A `pre_tokenizer_pattern` does not compile as a JavaScript Unicode regex. */
export class CodecInvalidPatternError extends CodecError {
  static readonly code = "CODEC_ERR_PRETOKENIZER_PATTERN_INVALID";
  declare readonly code: "CODEC_ERR_PRETOKENIZER_PATTERN_INVALID";
  override readonly name = "CodecInvalidPatternError";
  /** The pattern as the map stores it. */
  readonly pattern: string;

  /** Creates the error from the pattern and the last compile error. */
  constructor(pattern: string, cause: unknown) {
    super(
      CodecInvalidPatternError.code,
      `Cannot compile pre_tokenizer_pattern ${describeValue(pattern)} with the v or u flag: ` +
        `${(cause as Error).message}. Use a map that has a pre_tokenizer_program.`,
      { cause },
    );
    this.pattern = pattern;
  }
}

/** The map or tokenizer lacks what encoding needs, or uses a feature this library cannot run. */
export class CodecUnsupportedTokenizerError extends CodecError {
  static readonly code = "CODEC_ERR_TOKENIZER_UNSUPPORTED";
  declare readonly code: "CODEC_ERR_TOKENIZER_UNSUPPORTED";
  override readonly name = "CodecUnsupportedTokenizerError";
  /** The map or tokenizer id, when known. */
  readonly id: string | undefined;

  /** Creates the error. `reason` names what is missing or unsupported and what to do instead. */
  constructor(id: string | undefined, reason: string) {
    const subject = id === undefined ? "The tokenizer" : `Tokenizer map ${JSON.stringify(id)}`;
    super(CodecUnsupportedTokenizerError.code, `${subject} cannot be used: ${reason}`);
    this.id = id;
  }
}

/** A Hugging Face `tokenizer.json` document is malformed. */
export class CodecInvalidTokenizerJsonError extends CodecError {
  static readonly code = "CODEC_ERR_TOKENIZER_JSON_INVALID";
  declare readonly code: "CODEC_ERR_TOKENIZER_JSON_INVALID";
  override readonly name = "CodecInvalidTokenizerJsonError";
  /** Path of the offending field, e.g. `model.merges[3]`. */
  readonly field: string;
  /** The offending value. */
  readonly value: unknown;

  /** Creates the error. `problem` states the rule the field breaks. */
  constructor(field: string, value: unknown, problem: string) {
    super(
      CodecInvalidTokenizerJsonError.code,
      `Invalid tokenizer.json: ${field} ${problem} (received ${describeValue(value)}).`,
    );
    this.field = field;
    this.value = value;
  }
}

/** A ToolWatcher marker name is not a key of the map's `special_tokens`. */
export class ToolWatcherError extends CodecError {
  static readonly code = "CODEC_ERR_TOOL_WATCHER_MARKER_MISSING";
  declare readonly code: "CODEC_ERR_TOOL_WATCHER_MARKER_MISSING";
  override readonly name = "ToolWatcherError";
  /** The map id. */
  readonly mapId: string;
  /** The marker name that was not found, or undefined when the map has no `tool_calling` block. */
  readonly marker: string | undefined;

  /** Creates the error for a missing marker, or for a map without `tool_calling` when `marker` is undefined. */
  constructor(mapId: string, marker: string | undefined) {
    super(
      ToolWatcherError.code,
      marker === undefined
        ? `Tokenizer map ${JSON.stringify(mapId)} has no tool_calling.markers. Pass the start and end marker names to new ToolWatcher().`
        : `Tool-call marker ${JSON.stringify(marker)} is not in special_tokens of map ${JSON.stringify(mapId)}. ` +
            `Use a marker name the map lists, or a map for the model that emits it.`,
    );
    this.mapId = mapId;
    this.marker = marker;
  }
}
