/** Builds Codec tokenizer maps from GGUF files and Hugging Face tokenizer.json files. */
import { readFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";

import { readGgufFileInfo } from "node-llama-cpp";

import {
  buildTokenizerMap,
  ggufMapId,
  mapIdSlug,
  readTokenizerMetadata,
  serializeTokenizerMap,
} from "../engine/gguf-tokenizer-map.js";
import { buildMapFromTokenizerJson } from "../protocol/hf-tokenizer-json.js";
import { translatePreTokenizer } from "../protocol/hf-pre-tokenizer.js";
import { compileProgram } from "../protocol/pretokenizer-program.js";
import type { TokenizerMap } from "../protocol/tokenizer-map.js";

/** A built map: its exact bytes and their `sha256:` hash. */
export interface BuiltMap {
  map: TokenizerMap;
  bytes: Uint8Array;
  hash: string;
}

/*
 * The split regexes of the byte-level families as tokenizer.json spells them. The protocol
 * library's pre-tokenizer translation recognises these spellings, so a GGUF map of these families
 * gets the same pre_tokenizer_program as a map built from the model's tokenizer.json.
 */
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const GPT2_SPLIT =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** `tokenizer.ggml.pre` names (as in llama.cpp) whose split regex has a program. */
const SPLIT_BY_PRE = new Map<string, string>([
  ...["qwen2", "deepseek-r1-qwen", "megrez", "stablelm2"].map(
    (name) => [name, QWEN2_SPLIT] as const,
  ),
  ...["llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe"].map(
    (name) => [name, LLAMA3_SPLIT] as const,
  ),
  ...["gpt-2", "phi-2", "mpt", "olmo"].map((name) => [name, GPT2_SPLIT] as const),
]);

/**
 * Builds a v2 map from a GGUF file's tokenizer metadata, as the engine serves it, plus a
 * `pre_tokenizer_program` when the file's pre-tokenizer is one the protocol library can compile.
 */
export async function buildMapFromGguf(path: string, id: string | undefined): Promise<BuiltMap> {
  const info = await readGgufFileInfo(path, { readTensorInfo: false });
  const tokenizer = readTokenizerMetadata(info.metadata);
  const generalName = (info.metadata as { general?: { name?: unknown } }).general?.name;
  const mapId = id ?? ggufMapId(generalName, path);
  const map = buildTokenizerMap(tokenizer, mapId);

  const split =
    tokenizer.model === "gpt2" ? SPLIT_BY_PRE.get(tokenizer.pre ?? "default") : undefined;
  if (split !== undefined) {
    const fields = translatePreTokenizer(null, {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: split }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    });
    if (fields.pre_tokenizer_program != null) {
      compileProgram(fields.pre_tokenizer_program);
      map.pre_tokenizer_program = fields.pre_tokenizer_program;
    }
  }
  return { map, ...serializeTokenizerMap(map) };
}

/** Builds a v2 map from a tokenizer.json file and, optionally, its tokenizer_config.json. */
export async function buildMapFromTokenizerFiles(
  tokenizerJsonPath: string,
  tokenizerConfigPath: string | undefined,
  id: string | undefined,
): Promise<BuiltMap> {
  const tokenizerJson: unknown = JSON.parse(await readFile(tokenizerJsonPath, "utf8"));
  const tokenizerConfig: unknown =
    tokenizerConfigPath === undefined
      ? undefined
      : JSON.parse(await readFile(tokenizerConfigPath, "utf8"));
  const mapId = id ?? `hf/${mapIdSlug(tokenizerName(tokenizerJsonPath))}`;
  return buildMapFromTokenizerJson(tokenizerJson, {
    id: mapId,
    ...(tokenizerConfig === undefined ? {} : { tokenizerConfig }),
  });
}

/**
 * Returns the name a tokenizer file stands for: its directory for the usual file name
 * `tokenizer.json` (a model download such as `Qwen2.5-0.5B/tokenizer.json`), else its own stem.
 */
function tokenizerName(path: string): string {
  const stem = basename(path, ".json");
  return stem === "tokenizer" ? basename(dirname(resolve(path))) : stem;
}
