/**
 * Builds the Codec tokenizer map of a loaded model from its GGUF `tokenizer.*` metadata, so the
 * map's IDs are exactly the IDs llama.cpp produces.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";

import { serializeTokenizerMapBytes } from "../protocol/map-serialize.js";
import type { MapEncoder, TokenizerMap } from "../protocol/tokenizer-map.js";
import { detectToolCalling } from "../protocol/tool-calling-conventions.js";

/** llama.cpp token types (`tokenizer.ggml.token_type`). */
export const GGUF_TOKEN_TYPE = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

/** The GGUF `tokenizer.ggml.*` and `tokenizer.chat_template` values, named as in the file. */
export interface GgufTokenizerMetadata {
  /**
   * `gpt2` is byte-level BPE, `llama` is SentencePiece; llama.cpp also supports `bert`, `t5`,
   * `rwkv` and others.
   */
  model: string;
  /**
   * Pre-tokenizer name, such as `qwen2` or `llama-bpe`. llama.cpp uses `default` when it is
   * missing.
   */
  pre?: string;
  /** Token strings indexed by token ID. */
  tokens: readonly string[];
  /** One GGUF_TOKEN_TYPE value per token. */
  token_type?: readonly number[];
  /** BPE merges in priority order, each `"left right"`. */
  merges?: readonly string[];
  bos_token_id?: number;
  eos_token_id?: number;
  eot_token_id?: number;
  eom_token_id?: number;
  unknown_token_id?: number;
  padding_token_id?: number;
  add_bos_token?: boolean;
  chat_template?: string;
}

const OPTIONAL_TOKEN_ID_KEYS = [
  "bos_token_id",
  "eos_token_id",
  "eot_token_id",
  "eom_token_id",
  "unknown_token_id",
  "padding_token_id",
] as const;

/**
 * Reads the tokenizer section of node-llama-cpp's parsed GGUF metadata (`model.fileInfo.metadata`
 * or `readGgufFileInfo(path).metadata`, where `tokenizer.ggml.tokens` is nested as
 * `metadata.tokenizer.ggml.tokens`). Throws when the section, its model name or its token list is
 * missing, or when the token list, token types or merges are malformed. Token IDs and flags of an
 * unexpected type are left out, because the map does not depend on them.
 */
export function readTokenizerMetadata(ggufMetadata: unknown): GgufTokenizerMetadata {
  const tokenizer = isRecord(ggufMetadata) ? ggufMetadata["tokenizer"] : undefined;
  const ggml = isRecord(tokenizer) ? tokenizer["ggml"] : undefined;
  if (!isRecord(tokenizer) || !isRecord(ggml)) {
    throw new Error(
      "The GGUF metadata has no tokenizer.ggml section, so no tokenizer map can be built. Use a GGUF file that embeds its tokenizer.",
    );
  }

  const model = ggml["model"];
  if (typeof model !== "string") {
    throw new Error("The GGUF metadata has no tokenizer.ggml.model string.");
  }
  const tokens = readStringArray(ggml["tokens"], "tokenizer.ggml.tokens");
  if (tokens === undefined || tokens.length === 0) {
    throw new Error("The GGUF metadata has no tokenizer.ggml.tokens list, or the list is empty.");
  }

  const metadata: GgufTokenizerMetadata = { model, tokens };
  copyOptionalFields(metadata, ggml, tokenizer);
  return metadata;
}

function copyOptionalFields(
  metadata: GgufTokenizerMetadata,
  ggml: Record<string, unknown>,
  tokenizer: Record<string, unknown>,
): void {
  const tokenTypes = ggml["token_type"];
  if (Array.isArray(tokenTypes)) {
    if (
      tokenTypes.length !== metadata.tokens.length ||
      !tokenTypes.every((type) => typeof type === "number")
    ) {
      throw new Error(
        `tokenizer.ggml.token_type must contain one number per token (${metadata.tokens.length}), found ${tokenTypes.length} entries.`,
      );
    }
    metadata.token_type = tokenTypes as number[];
  }

  const merges = readStringArray(ggml["merges"], "tokenizer.ggml.merges");
  if (merges !== undefined) {
    metadata.merges = merges;
  }
  if (typeof ggml["pre"] === "string") {
    metadata.pre = ggml["pre"];
  }
  for (const key of OPTIONAL_TOKEN_ID_KEYS) {
    const id = toTokenId(ggml[key]);
    if (id !== undefined) {
      metadata[key] = id;
    }
  }
  if (typeof ggml["add_bos_token"] === "boolean") {
    metadata.add_bos_token = ggml["add_bos_token"];
  }
  if (typeof tokenizer["chat_template"] === "string") {
    metadata.chat_template = tokenizer["chat_template"];
  }
}

/**
 * Builds a v2 Codec tokenizer map. `vocab` maps each token string to its ID (the first ID wins
 * when a string repeats), and `special_tokens` lists the CONTROL and USER_DEFINED tokens.
 * The encoder follows `tokenizer.ggml.model`: `gpt2` gives `byte_level` with the regex of the
 * named pre-tokenizer, `llama` gives `metaspace` with the `<0x00>`…`<0xFF>` byte-fallback range,
 * and any other model gives an identity map whose keys are the text itself.
 */
export function buildTokenizerMap(tokenizer: GgufTokenizerMetadata, id: string): TokenizerMap {
  const map: TokenizerMap = {
    id,
    version: "2",
    vocab_size: tokenizer.tokens.length,
    vocab: firstIdByString(tokenizer.tokens.map((token, tokenId) => [token, tokenId])),
  };
  Object.assign(map, encoderFields(tokenizer));

  if (tokenizer.merges !== undefined && tokenizer.merges.length > 0) {
    map.merges = [...tokenizer.merges];
  }

  const specialTokens = buildSpecialTokens(tokenizer);
  if (Object.keys(specialTokens).length > 0) {
    map.special_tokens = specialTokens;
  }
  const toolCalling = detectToolCalling(specialTokens);
  if (toolCalling !== undefined) {
    map.tool_calling = toolCalling;
  }
  return map;
}

type EncoderFields = Pick<
  TokenizerMap,
  "encoder" | "pre_tokenizer_pattern" | "byte_fallback_start" | "byte_fallback_end"
>;

function encoderFields(tokenizer: GgufTokenizerMetadata): EncoderFields {
  if (tokenizer.model === "gpt2") {
    const encoder: MapEncoder = "byte_level";
    const pattern = PRE_TOKENIZER_PATTERNS.get(tokenizer.pre ?? "default");
    // An unknown pre-tokenizer gets no pattern rather than a guess: clients can still
    // decode IDs, and they cannot encode text wrongly.
    return pattern === undefined ? { encoder } : { encoder, pre_tokenizer_pattern: pattern };
  }
  if (tokenizer.model === "llama") {
    return { encoder: "metaspace", ...byteFallbackRange(tokenizer.tokens) };
  }
  return {};
}

/** Returns the range of the 256 tokens `<0x00>`…`<0xFF>` when they exist with consecutive IDs. */
function byteFallbackRange(
  tokens: readonly string[],
): Pick<TokenizerMap, "byte_fallback_start" | "byte_fallback_end"> {
  const start = tokens.indexOf("<0x00>");
  if (start < 0) {
    return {};
  }
  for (let byte = 0; byte < 256; byte += 1) {
    const expected = `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
    if (tokens[start + byte] !== expected) {
      return {};
    }
  }
  return { byte_fallback_start: start, byte_fallback_end: start + 255 };
}

function buildSpecialTokens(tokenizer: GgufTokenizerMetadata): Record<string, number> {
  const types = tokenizer.token_type;
  if (types === undefined) {
    return {};
  }

  const entries: [string, number][] = [];
  types.forEach((type, tokenId) => {
    if (type === GGUF_TOKEN_TYPE.control || type === GGUF_TOKEN_TYPE.userDefined) {
      entries.push([tokenizer.tokens[tokenId]!, tokenId]);
    }
  });
  return firstIdByString(entries);
}

/*
 * Pre-tokenizer regexes, keyed by the `tokenizer.ggml.pre` names that select them in the
 * llama.cpp release bundled with node-llama-cpp 3.21.1 (src/llama-vocab.cpp). llama.cpp runs
 * some pre-tokenizers as several regexes in sequence. A Codec map carries a single pattern, so
 * those are folded here into one regex that yields the same pieces.
 */

/** GPT-2's regex. llama.cpp's `gpt-2` splitter also ends with the `\s+` fallback. */
const GPT2_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/**
 * Qwen2's tokenizer.json regex with `(?i:'s|…)` spelled out as character classes, as llama.cpp
 * does, because JavaScript engines before ES2025 reject inline modifier groups.
 */
const QWEN2_PATTERN =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Llama 3's regex: Qwen2's with digit runs of up to three. */
const LLAMA3_PATTERN =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * llama.cpp's `smollm` splits every digit off first, then applies the GPT-2 regex to the rest.
 * Folded: a digit is its own piece and never takes a leading space, and whitespace before a
 * digit counts as trailing, because the digit split ended its fragment.
 */
const SMOLLM_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+|\\s+(?![^\\s\\p{N}])|\\s+";

/**
 * llama.cpp's `default` runs four regexes in sequence: punctuation runs `[\p{P}$+<=>^~|]+`,
 * the GPT-2 regex, `\p{N}+`, then ASCII digit triples. In the folded regex, punctuation runs
 * come first, so contractions never form and no other piece contains those characters.
 * Digit runs carry no leading space and split into left-aligned triples of ASCII digits.
 * Whitespace before punctuation counts as trailing, because the punctuation split ended its fragment.
 */
const DEFAULT_PATTERN =
  "[\\p{P}\\$\\+<=>\\^~\\|]+| ?\\p{L}+|[0-9]{3}|(?:(?![0-9]{3})\\p{N})+| ?[^\\s\\p{L}\\p{N}\\p{P}\\$\\+<=>\\^~\\|]+|\\s+(?![^\\s\\p{P}\\$\\+<=>\\^~\\|])|\\s+";

/*
 * NOTE: llama.cpp tokenizes the llama3 family with ignore_merges: a piece that is itself a
 * vocabulary entry becomes that token without applying merges. A Codec map has no field for this.
 * A client that always applies merges usually gets the same IDs on tiktoken-style vocabularies,
 * but that is not guaranteed.
 */
const PRE_TOKENIZER_PATTERNS: ReadonlyMap<string, string> = new Map([
  ...namesFor(GPT2_PATTERN, ["gpt-2", "phi-2", "mpt", "olmo"]),
  ...namesFor(QWEN2_PATTERN, ["qwen2", "deepseek-r1-qwen", "megrez", "stablelm2"]),
  ...namesFor(LLAMA3_PATTERN, ["llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe"]),
  ...namesFor(SMOLLM_PATTERN, ["smollm", "starcoder", "refact", "command-r"]),
  ...namesFor(DEFAULT_PATTERN, ["default"]),
]);

function namesFor(pattern: string, names: readonly string[]): [string, string][] {
  return names.map((name) => [name, pattern]);
}

/**
 * Serializes a map with the protocol library's fixed layout (equal maps give equal bytes) and
 * returns the UTF-8 bytes and their hash, `sha256:` followed by 64 lowercase hex digits.
 */
export function serializeTokenizerMap(map: TokenizerMap): { bytes: Uint8Array; hash: string } {
  const bytes = serializeTokenizerMapBytes(map);
  const hash = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  return { bytes, hash };
}

/**
 * Builds a string → ID record in which the first ID wins for a repeated string. The record is
 * built with Object.fromEntries so keys such as `__proto__` become ordinary properties.
 */
function firstIdByString(entries: Iterable<[string, number]>): Record<string, number> {
  const firstIds = new Map<string, number>();
  for (const [key, id] of entries) {
    if (!firstIds.has(key)) {
      firstIds.set(key, id);
    }
  }
  return Object.fromEntries(firstIds);
}

function readStringArray(value: unknown, key: string): string[] | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new Error(`${key} in the GGUF metadata must be a list of strings.`);
  }
  return value as string[];
}

/** GGUF stores token IDs as u32 (a number) or, rarely, u64 (a bigint in node-llama-cpp). */
function toTokenId(value: unknown): number | undefined {
  const id = typeof value === "bigint" ? Number(value) : value;
  return typeof id === "number" && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Returns the map id of a GGUF model: `gguf/` and a slug of its `general.name`, or of the file
 * name without `.gguf` when the name is missing. The engine and `codec-serve map build` both
 * use it, so a map built from a file carries the id the engine serves it under.
 */
export function ggufMapId(generalName: unknown, modelPath: string): string {
  const name =
    typeof generalName === "string" && generalName !== ""
      ? generalName
      : basename(modelPath, ".gguf");
  return `gguf/${mapIdSlug(name)}`;
}

/** Turns a name into a map id segment matching `[a-z0-9._-]+`, `model` when nothing is left. */
export function mapIdSlug(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "");
  return cleaned === "" ? "model" : cleaned;
}
