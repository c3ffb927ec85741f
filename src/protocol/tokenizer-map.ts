import { CodecInvalidMapError } from "./errors.js";

/** Encoders a v2 tokenizer map can declare. A map without `encoder` is an identity map. */
export type MapEncoder = "byte_level" | "metaspace";

/** One zstd dictionary a map advertises, keyed by the stream format it was trained on. */
export interface ZstdDictionaryEntry {
  format: "msgpack" | "protobuf";
  url: string;
  /** `sha256:` followed by 64 lowercase hex digits of the raw dictionary bytes. */
  hash: string;
  size_bytes?: number;
  trained_at?: string;
  corpus_summary?: string;
}

/** The map's declaration of how the model marks tool calls. */
export interface ToolCallingConvention {
  convention: string;
  markers: { start: string; end: string };
  args_format?: "json" | "python_args";
  result_format?: "text" | "json";
}

/** A pre-tokenizer program: v1 lists ops, v2 lists stages. */
export interface PreTokenizerProgram {
  version: number;
  ops?: Record<string, unknown>[];
  stages?: Record<string, unknown>[];
}

/**
 * A Codec tokenizer map (schema v1 or v2). Maps are immutable and addressed by the
 * sha256 of the exact bytes served.
 */
export interface TokenizerMap {
  id: string;
  version: string;
  vocab_size: number;
  /** Raw token string to ID, in the Hugging Face `tokenizer.json` form (`Ġ` for a space in byte_level). */
  vocab?: Record<string, number>;
  /** Deprecated v1 form: ID as a decimal string to decoded text. */
  tokens?: Record<string, string>;
  encoder?: MapEncoder;
  /** BPE merges in priority order, each `"left right"`. */
  merges?: string[];
  pre_tokenizer_pattern?: string;
  pre_tokenizer_program?: PreTokenizerProgram | null;
  /** Inclusive ID range of the 256 byte-fallback tokens: ID = start + byte value. */
  byte_fallback_start?: number;
  byte_fallback_end?: number;
  /** Literal special-token string (or a short v1 name) to ID. */
  special_tokens?: Record<string, number>;
  published_at?: string;
  zstd_dictionaries?: ZstdDictionaryEntry[];
  tool_calling?: ToolCallingConvention;
}

const ENCODERS: readonly string[] = ["byte_level", "metaspace"];
const DICTIONARY_FORMATS: readonly string[] = ["msgpack", "protobuf"];
const DICTIONARY_HASH = /^sha256:[0-9a-f]{64}$/;
const DECIMAL_ID = /^(0|[1-9][0-9]*)$/;

/**
 * Checks that a parsed JSON document is a v1 or v2 tokenizer map and returns it typed.
 *
 * Required: `id` and `version` strings, a `vocab_size` integer of at least 1, and a `vocab`
 * (token string to ID) or `tokens` (decimal ID to text) object. Optional fields are checked
 * when present: `encoder` is `"byte_level"` or `"metaspace"`, `merges` is an array of
 * strings, and `byte_fallback_start` and `byte_fallback_end` come together as an inclusive
 * range of at most 256 non-negative IDs. Every token ID must be a non-negative integer.
 * Unknown top-level fields are allowed, so maps from newer schema versions still load.
 *
 * The map is returned as is, not copied. Loops over `vocab` and `merges` make this linear
 * in the map size.
 *
 * @throws {@link CodecInvalidMapError} naming the first invalid field
 */
export function validateTokenizerMap(json: unknown): TokenizerMap {
  if (!isPlainObject(json)) {
    throw new CodecInvalidMapError("$", json, "must be a JSON object");
  }

  requireString(json, "id");
  requireString(json, "version");
  if (!isCount(json.vocab_size) || json.vocab_size < 1) {
    throw new CodecInvalidMapError(
      "vocab_size",
      json.vocab_size,
      "must be an integer of at least 1",
    );
  }

  if (json.vocab === undefined && json.tokens === undefined) {
    throw new CodecInvalidMapError("vocab", undefined, "or tokens is required");
  }
  if (json.vocab !== undefined) {
    checkIdTable(json.vocab, "vocab");
  }
  if (json.tokens !== undefined) {
    checkTokensTable(json.tokens);
  }

  if (json.encoder !== undefined && !ENCODERS.includes(json.encoder as string)) {
    throw new CodecInvalidMapError(
      "encoder",
      json.encoder,
      `must be "byte_level" or "metaspace", or left out`,
    );
  }
  if (json.merges !== undefined) {
    checkStringArray(json.merges, "merges");
  }
  checkByteFallback(json);
  if (json.special_tokens !== undefined) {
    checkIdTable(json.special_tokens, "special_tokens");
  }

  optionalString(json, "pre_tokenizer_pattern");
  optionalString(json, "published_at");
  checkProgram(json.pre_tokenizer_program);
  checkDictionaries(json.zstd_dictionaries);
  checkToolCalling(json.tool_calling, json.special_tokens as Record<string, number> | undefined);
  return json as unknown as TokenizerMap;
}

type JsonObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A non-negative safe integer: a token ID or a count. */
function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function requireString(json: JsonObject, field: string): void {
  if (typeof json[field] !== "string" || json[field] === "") {
    throw new CodecInvalidMapError(field, json[field], "must be a non-empty string");
  }
}

function optionalString(json: JsonObject, field: string): void {
  if (json[field] !== undefined && typeof json[field] !== "string") {
    throw new CodecInvalidMapError(field, json[field], "must be a string");
  }
}

/** Checks a string-to-ID object such as `vocab` or `special_tokens`. */
function checkIdTable(value: unknown, field: string): void {
  if (!isPlainObject(value)) {
    throw new CodecInvalidMapError(field, value, "must be an object of token string to ID");
  }
  for (const key in value) {
    if (!isCount(value[key])) {
      throw new CodecInvalidMapError(
        `${field}[${JSON.stringify(key)}]`,
        value[key],
        "must be a non-negative integer ID",
      );
    }
  }
}

/** Checks the v1 `tokens` object: decimal ID string to decoded text. */
function checkTokensTable(value: unknown): void {
  if (!isPlainObject(value)) {
    throw new CodecInvalidMapError("tokens", value, "must be an object of decimal ID to text");
  }
  for (const key in value) {
    const field = `tokens[${JSON.stringify(key)}]`;
    if (!DECIMAL_ID.test(key) || !Number.isSafeInteger(Number(key))) {
      throw new CodecInvalidMapError(field, key, "must have a decimal integer ID as its key");
    }
    if (typeof value[key] !== "string") {
      throw new CodecInvalidMapError(field, value[key], "must be a string");
    }
  }
}

function checkStringArray(value: unknown, field: string): void {
  if (!Array.isArray(value)) {
    throw new CodecInvalidMapError(field, value, "must be an array of strings");
  }
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== "string") {
      throw new CodecInvalidMapError(`${field}[${i}]`, value[i], "must be a string");
    }
  }
}

/** The fallback range maps byte b to ID start + b, so it contains at most 256 IDs. */
function checkByteFallback(json: JsonObject): void {
  const start = json.byte_fallback_start;
  const end = json.byte_fallback_end;
  if (start === undefined && end === undefined) {
    return;
  }
  if (start === undefined || end === undefined) {
    const missing = start === undefined ? "byte_fallback_start" : "byte_fallback_end";
    throw new CodecInvalidMapError(
      missing,
      undefined,
      "is required when the other end of the byte-fallback range is set",
    );
  }
  if (!isCount(start)) {
    throw new CodecInvalidMapError("byte_fallback_start", start, "must be a non-negative integer");
  }
  if (!isCount(end)) {
    throw new CodecInvalidMapError("byte_fallback_end", end, "must be a non-negative integer");
  }
  if (end < start || end - start > 255) {
    throw new CodecInvalidMapError(
      "byte_fallback_end",
      end,
      `must be between byte_fallback_start (${start}) and start + 255`,
    );
  }
}

function checkProgram(value: unknown): void {
  if (value === undefined || value === null) {
    return;
  }
  if (!isPlainObject(value)) {
    throw new CodecInvalidMapError("pre_tokenizer_program", value, "must be an object or null");
  }
  if (!isCount(value.version) || value.version < 1) {
    throw new CodecInvalidMapError(
      "pre_tokenizer_program.version",
      value.version,
      "must be an integer of at least 1",
    );
  }
  for (const list of ["ops", "stages"] as const) {
    if (value[list] !== undefined && !Array.isArray(value[list])) {
      throw new CodecInvalidMapError(
        `pre_tokenizer_program.${list}`,
        value[list],
        "must be an array",
      );
    }
  }
}

function checkDictionaries(value: unknown): void {
  if (value === undefined) {
    return;
  }
  if (!Array.isArray(value)) {
    throw new CodecInvalidMapError("zstd_dictionaries", value, "must be an array");
  }
  value.forEach((entry: unknown, index) => {
    const field = `zstd_dictionaries[${index}]`;
    if (!isPlainObject(entry)) {
      throw new CodecInvalidMapError(field, entry, "must be an object");
    }
    if (!DICTIONARY_FORMATS.includes(entry.format as string)) {
      throw new CodecInvalidMapError(
        `${field}.format`,
        entry.format,
        `must be "msgpack" or "protobuf"`,
      );
    }
    if (typeof entry.url !== "string") {
      throw new CodecInvalidMapError(`${field}.url`, entry.url, "must be a string");
    }
    if (typeof entry.hash !== "string" || !DICTIONARY_HASH.test(entry.hash)) {
      throw new CodecInvalidMapError(
        `${field}.hash`,
        entry.hash,
        `must be "sha256:" followed by 64 lowercase hex digits`,
      );
    }
  });
}

/** Both marker strings must name special tokens, because the watcher looks their IDs up there. */
function checkToolCalling(value: unknown, specialTokens: Record<string, number> | undefined): void {
  if (value === undefined) {
    return;
  }
  if (!isPlainObject(value)) {
    throw new CodecInvalidMapError("tool_calling", value, "must be an object");
  }
  if (typeof value.convention !== "string") {
    throw new CodecInvalidMapError("tool_calling.convention", value.convention, "must be a string");
  }
  const markers = value.markers;
  if (!isPlainObject(markers)) {
    throw new CodecInvalidMapError(
      "tool_calling.markers",
      markers,
      "must be an object with start and end strings",
    );
  }
  for (const end of ["start", "end"] as const) {
    const marker = markers[end];
    if (
      typeof marker !== "string" ||
      specialTokens === undefined ||
      !Object.hasOwn(specialTokens, marker)
    ) {
      throw new CodecInvalidMapError(
        `tool_calling.markers.${end}`,
        marker,
        "must be a key of special_tokens",
      );
    }
  }
}
