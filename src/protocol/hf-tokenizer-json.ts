/**
 * Builds a Codec tokenizer map from a Hugging Face `tokenizer.json`, so a client or server can
 * publish a map for any model that ships one.
 */
import { translatePreTokenizer } from "./hf-pre-tokenizer.js";
import { serializeTokenizerMap } from "./map-serialize.js";
import type { SerializedTokenizerMap } from "./map-serialize.js";
import {
  CodecInvalidTokenizerJsonError,
  CodecUnsupportedTokenizerError,
} from "./tokenizer-errors.js";
import { validateTokenizerMap } from "./tokenizer-map.js";
import type { TokenizerMap } from "./tokenizer-map.js";
import { detectToolCalling } from "./tool-calling-conventions.js";

/** Options of {@link buildMapFromTokenizerJson}. */
export interface BuildMapOptions {
  /** The map id, lowercase `org/model-family` by convention, e.g. `qwen/qwen2`. */
  id: string;
  /** The parsed `tokenizer_config.json`. Its `added_tokens_decoder` entries become special tokens too. */
  tokenizerConfig?: unknown;
  /** `published_at` date-time to record. Left out by default, so the bytes depend only on the input. */
  publishedAt?: string;
}

/** A built map with its serialized bytes and content hash. */
export interface BuiltTokenizerMap extends SerializedTokenizerMap {
  map: TokenizerMap;
}

type JsonObject = Record<string, unknown>;

/**
 * Builds a version 2 map from a parsed `tokenizer.json` (a BPE model) and serializes it with a
 * fixed layout, so the same input always gives the same bytes and `sha256:` hash.
 *
 * - `vocab` is `model.vocab` plus every added token not already in it, and `vocab_size` is the
 *   highest ID plus one.
 * - `merges` are `"left right"` strings whether the file stores strings or pairs.
 * - `encoder`, `pre_tokenizer_pattern` and `pre_tokenizer_program` come from the normalizer and
 *   pre-tokenizer; families that no program expresses exactly get `pre_tokenizer_program: null`.
 * - `byte_fallback_start`/`_end` are set when `model.byte_fallback` is on and `<0x00>`…`<0xFF>`
 *   have consecutive IDs.
 * - `special_tokens` lists every added token, special or not (`<tool_call>` and `<think>` are
 *   non-special added tokens in Qwen3), as the GGUF map builder lists CONTROL and USER_DEFINED
 *   tokens. The detokenizer hides them unless asked to render them.
 * - `tool_calling` is declared when the special tokens hold a known marker pair.
 *
 * NOTE: normalizers other than the metaspace ones (Qwen2's NFC, for example) are not recorded
 * in the map. Pass `normalize` to the tokenizer to apply them.
 *
 * @throws {@link CodecInvalidTokenizerJsonError} when the document is malformed
 * @throws {@link CodecUnsupportedTokenizerError} for a model type other than BPE, or a merge
 *   whose token contains a space
 */
export async function buildMapFromTokenizerJson(
  tokenizerJson: unknown,
  options: BuildMapOptions,
): Promise<BuiltTokenizerMap> {
  const root = requireObject(tokenizerJson, "$");
  const model = requireObject(root.model, "model");
  if (model.type !== undefined && model.type !== "BPE") {
    throw new CodecUnsupportedTokenizerError(
      options.id,
      `model.type ${JSON.stringify(model.type)} is not supported; only BPE tokenizers convert to Codec maps.`,
    );
  }

  const modelVocab = readVocab(model.vocab);
  const specialTokens = readAddedTokens(root.added_tokens, options.tokenizerConfig);
  const addedOnly = Object.entries(specialTokens).filter(
    ([content]) => !Object.hasOwn(modelVocab, content),
  );
  const vocab: Record<string, number> = Object.fromEntries([
    ...Object.entries(modelVocab),
    ...addedOnly,
  ]);

  const map: TokenizerMap = {
    id: options.id,
    version: "2",
    vocab_size: highestId(vocab, specialTokens) + 1,
    vocab,
    ...translatePreTokenizer(root.normalizer, root.pre_tokenizer),
  };
  const merges = readMerges(model.merges, options.id);
  if (merges.length > 0) {
    map.merges = merges;
  }
  if (model.byte_fallback === true) {
    Object.assign(map, byteFallbackRange(vocab));
  }
  if (Object.keys(specialTokens).length > 0) {
    map.special_tokens = specialTokens;
    const toolCalling = detectToolCalling(specialTokens);
    if (toolCalling !== undefined) {
      map.tool_calling = toolCalling;
    }
  }
  if (options.publishedAt !== undefined) {
    map.published_at = options.publishedAt;
  }

  validateTokenizerMap(map);
  return { map, ...(await serializeTokenizerMap(map)) };
}

function readVocab(value: unknown): Record<string, number> {
  const vocab = requireObject(value, "model.vocab");
  const entries: [string, number][] = [];
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
      throw new CodecInvalidTokenizerJsonError(
        `model.vocab[${JSON.stringify(token)}]`,
        id,
        "must be a non-negative integer ID",
      );
    }
    entries.push([token, id]);
  }
  // fromEntries makes keys such as "__proto__" ordinary properties.
  return Object.fromEntries(entries);
}

/** Content to ID of every added token, then of `added_tokens_decoder` entries not listed yet. */
function readAddedTokens(addedTokens: unknown, tokenizerConfig: unknown): Record<string, number> {
  const entries = new Map<string, number>();
  if (addedTokens !== undefined && addedTokens !== null) {
    if (!Array.isArray(addedTokens)) {
      throw new CodecInvalidTokenizerJsonError("added_tokens", addedTokens, "must be an array");
    }
    addedTokens.forEach((token: unknown, index) => {
      const entry = requireObject(token, `added_tokens[${index}]`);
      addSpecial(entries, entry.content, entry.id, `added_tokens[${index}]`);
    });
  }

  const config = tokenizerConfig as JsonObject | undefined;
  const decoder = config?.added_tokens_decoder;
  if (typeof decoder === "object" && decoder !== null) {
    for (const [id, token] of Object.entries(decoder as JsonObject)) {
      const entry = requireObject(token, `tokenizerConfig.added_tokens_decoder[${id}]`);
      if (typeof entry.content === "string" && !entries.has(entry.content)) {
        addSpecial(
          entries,
          entry.content,
          Number(id),
          `tokenizerConfig.added_tokens_decoder[${id}]`,
        );
      }
    }
  }
  return Object.fromEntries(entries);
}

function addSpecial(
  entries: Map<string, number>,
  content: unknown,
  id: unknown,
  field: string,
): void {
  if (typeof content !== "string" || content.length === 0) {
    throw new CodecInvalidTokenizerJsonError(
      `${field}.content`,
      content,
      "must be a non-empty string",
    );
  }
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
    throw new CodecInvalidTokenizerJsonError(
      `${field}.id`,
      id,
      "must be a non-negative integer ID",
    );
  }
  if (!entries.has(content)) {
    entries.set(content, id);
  }
}

/**
 * Reads merges stored as `"left right"` strings (tokenizers before 0.20) or as `[left, right]`
 * pairs (0.20 and later), and returns them as strings.
 */
function readMerges(value: unknown, mapId: string): string[] {
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw new CodecInvalidTokenizerJsonError("model.merges", value, "must be an array");
  }
  return value.map((merge: unknown, index) => {
    const field = `model.merges[${index}]`;
    if (typeof merge === "string") {
      if (merge.split(" ").length !== 2) {
        throw new CodecInvalidTokenizerJsonError(
          field,
          merge,
          `must be two tokens separated by one space`,
        );
      }
      return merge;
    }
    if (
      !Array.isArray(merge) ||
      merge.length !== 2 ||
      !merge.every((part) => typeof part === "string")
    ) {
      throw new CodecInvalidTokenizerJsonError(
        field,
        merge,
        "must be a string or a pair of strings",
      );
    }
    const [left, right] = merge as [string, string];
    if (left.includes(" ") || right.includes(" ")) {
      throw new CodecUnsupportedTokenizerError(
        mapId,
        `merge ${index} has a token that contains a space, which the "left right" merge form of Codec maps cannot represent.`,
      );
    }
    return `${left} ${right}`;
  });
}

function highestId(...tables: Record<string, number>[]): number {
  let highest = 0;
  for (const table of tables) {
    for (const id of Object.values(table)) {
      highest = Math.max(highest, id);
    }
  }
  return highest;
}

/** Returns the range of `<0x00>`…`<0xFF>` when they exist with consecutive IDs. */
function byteFallbackRange(
  vocab: Record<string, number>,
): Pick<TokenizerMap, "byte_fallback_start" | "byte_fallback_end"> {
  const start = vocab["<0x00>"];
  if (start === undefined) {
    return {};
  }
  for (let byte = 1; byte < 256; byte++) {
    const key = `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
    if (vocab[key] !== start + byte) {
      return {};
    }
  }
  return { byte_fallback_start: start, byte_fallback_end: start + 255 };
}

function requireObject(value: unknown, field: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CodecInvalidTokenizerJsonError(field, value, "must be an object");
  }
  return value as JsonObject;
}
