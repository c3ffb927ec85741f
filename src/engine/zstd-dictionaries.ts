/**
 * The zstd dictionaries the engine compresses with: one per wire mode, shipped in `dicts/zstd/`
 * for the Qwen tokenizer, or given by the operator with `CODEC_ZSTD_DICT_MSGPACK_PATH` and
 * `CODEC_ZSTD_DICT_PROTOBUF_PATH`.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import type { BinaryStreamFormat } from "../protocol/frame.js";
import { serializeTokenizerMapBytes } from "../protocol/map-serialize.js";
import type { TokenizerMap } from "../protocol/tokenizer-map.js";
import type { ZstdDictionaryEntry } from "../protocol/tokenizer-map.js";
import type { CodecServerConfig } from "./codec-config.js";
import { parseZstdDictionary, type ZstdDictionary } from "./compression/zstd-dictionary.js";

/** Directory of the shipped dictionaries and their manifest, at the package root. */
export const SHIPPED_DICTIONARY_DIR = fileURLToPath(
  new URL("../../../dicts/zstd/", import.meta.url),
);

/** Path under which dictionaries are served; the file name is the sha256 hex of the bytes. */
export const DICT_PATH_PREFIX = "/.well-known/codec/dicts/";

/**
 * Identifies a tokenizer independently of the model's name: the sha256 hex of its map
 * serialized with the id `tokenizer` and without dictionaries.
 */
export function tokenizerFingerprint(map: TokenizerMap): string {
  const { zstd_dictionaries: _dictionaries, ...tokenizer } = map;
  return createHash("sha256")
    .update(serializeTokenizerMapBytes({ ...tokenizer, id: "tokenizer" }))
    .digest("hex");
}

/** One entry of `dicts/zstd/manifest.json`, written by `npm run train-dicts`. */
export interface DictionaryManifestEntry {
  format: BinaryStreamFormat;
  file: string;
  /** sha256 of the tokenizer map the dictionary was trained for, built with id `tokenizer`. */
  tokenizer_sha256: string;
  trained_at?: string;
  corpus_summary?: string;
}

/** A dictionary the engine uses and serves. */
export interface LoadedDictionary {
  format: BinaryStreamFormat;
  /** `sha256:` and 64 lowercase hex digits of the file. */
  hash: string;
  hex: string;
  parsed: ZstdDictionary;
  source: "shipped" | "operator";
  trainedAt: string | undefined;
  corpusSummary: string | undefined;
}

/** The dictionaries of one engine, by wire mode and by hex hash. */
export class DictionarySet {
  readonly #byFormat = new Map<BinaryStreamFormat, LoadedDictionary>();
  readonly #byHex = new Map<string, LoadedDictionary>();

  constructor(dictionaries: readonly LoadedDictionary[]) {
    for (const dictionary of dictionaries) {
      this.#byFormat.set(dictionary.format, dictionary);
      this.#byHex.set(dictionary.hex, dictionary);
    }
  }

  forFormat(format: BinaryStreamFormat): LoadedDictionary | undefined {
    return this.#byFormat.get(format);
  }

  byHex(hex: string): LoadedDictionary | undefined {
    return this.#byHex.get(hex);
  }

  get size(): number {
    return this.#byFormat.size;
  }

  /** Returns the `zstd_dictionaries` entries of the served tokenizer map. */
  mapEntries(): ZstdDictionaryEntry[] {
    return [...this.#byFormat.values()].map((dictionary) => ({
      format: dictionary.format,
      url: `${DICT_PATH_PREFIX}${dictionary.hex}.zstd`,
      hash: dictionary.hash,
      size_bytes: dictionary.parsed.bytes.length,
      ...(dictionary.trainedAt === undefined ? {} : { trained_at: dictionary.trainedAt }),
      ...(dictionary.corpusSummary === undefined
        ? {}
        : { corpus_summary: dictionary.corpusSummary }),
    }));
  }
}

/**
 * Loads the operator's dictionaries, and the shipped ones for wire modes the operator left
 * unset when the model's tokenizer is the one they were trained for.
 *
 * @param tokenizerSha256 - sha256 hex of the model's tokenizer map built with id `tokenizer`
 * @throws Error when an operator dictionary cannot be read or parsed
 */
export async function loadDictionaries(
  config: CodecServerConfig,
  tokenizerSha256: string,
  shippedDir: string = SHIPPED_DICTIONARY_DIR,
): Promise<DictionarySet> {
  const loaded: LoadedDictionary[] = [];
  for (const format of ["msgpack", "protobuf"] as const) {
    const path = config.zstdDictionaryPaths[format];
    if (path === undefined) continue;
    const bytes = await readFile(path).catch((error: unknown) => {
      throw new Error(
        `cannot read the zstd dictionary ${path} (CODEC_ZSTD_DICT_${format.toUpperCase()}_PATH)`,
        {
          cause: error,
        },
      );
    });
    loaded.push(toLoaded(format, new Uint8Array(bytes), "operator", undefined));
  }

  for (const entry of await readManifest(shippedDir)) {
    if (entry.tokenizer_sha256 !== tokenizerSha256) continue;
    if (loaded.some((dictionary) => dictionary.format === entry.format)) continue;
    const bytes = new Uint8Array(await readFile(`${shippedDir}${entry.file}`));
    loaded.push(toLoaded(entry.format, bytes, "shipped", entry));
  }
  return new DictionarySet(loaded);
}

async function readManifest(directory: string): Promise<DictionaryManifestEntry[]> {
  let text: string;
  try {
    text = await readFile(`${directory}manifest.json`, "utf8");
  } catch {
    return [];
  }
  return (JSON.parse(text) as { dictionaries: DictionaryManifestEntry[] }).dictionaries;
}

function toLoaded(
  format: BinaryStreamFormat,
  bytes: Uint8Array,
  source: LoadedDictionary["source"],
  entry: DictionaryManifestEntry | undefined,
): LoadedDictionary {
  const hex = createHash("sha256").update(bytes).digest("hex");
  return {
    format,
    hash: `sha256:${hex}`,
    hex,
    parsed: parseZstdDictionary(bytes),
    source,
    trainedAt: entry?.trained_at,
    corpusSummary: entry?.corpus_summary,
  };
}
