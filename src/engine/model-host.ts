import {
  getLlama,
  LlamaLogLevel,
  TokenBias,
  type Llama,
  type LlamaContext,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";

import type { Logger } from "../http/logger.js";
import { Detokenizer } from "../protocol/detokenizer.js";
import type { TokenizerMap } from "../protocol/tokenizer-map.js";
import type { CodecServerConfig } from "./codec-config.js";
import type { EngineOptions } from "./engine-options.js";
import {
  buildTokenizerMap,
  ggufMapId,
  readTokenizerMetadata,
  serializeTokenizerMap,
} from "./gguf-tokenizer-map.js";
import { codecSettings, llamaCppLogged, modelLoaded } from "./log-events.js";
import { loadDictionaries, tokenizerFingerprint, type DictionarySet } from "./zstd-dictionaries.js";

/** Context size used when none is configured, unless the model was trained on less. */
const DEFAULT_MAX_CONTEXT_SIZE = 4096;

/** The tokenizer map of the loaded model, as served at `/.well-known/codec/maps/<id>.json`. */
export interface ServedTokenizerMap {
  id: string;
  map: TokenizerMap;
  bytes: Uint8Array;
  /** `sha256:` followed by 64 lowercase hex digits of `bytes`. */
  hash: string;
}

/**
 * Owns the loaded model: the llama.cpp runtime, the model, its one context with
 * `parallel` sequences, and the Codec tokenizer map built from the GGUF metadata.
 * Create it with `ModelHost.load`; `dispose` frees the native memory and is idempotent.
 */
export class ModelHost {
  readonly servedModelName: string;
  readonly tokenizerMap: ServedTokenizerMap;
  /** Context size per sequence, in tokens, as llama.cpp allocated it. */
  readonly contextSize: number;
  readonly vocabSize: number;
  readonly chatTemplate: string | undefined;
  readonly bosText: string;
  readonly eosText: string;
  readonly context: LlamaContext;
  /** zstd dictionaries for this model's tokenizer, listed in the served map. */
  readonly dictionaries: DictionarySet;
  readonly #llama: Llama;
  readonly #model: LlamaModel;
  #disposed = false;

  private constructor(init: {
    llama: Llama;
    model: LlamaModel;
    context: LlamaContext;
    servedModelName: string;
    tokenizerMap: ServedTokenizerMap;
    chatTemplate: string | undefined;
    dictionaries: DictionarySet;
  }) {
    this.#llama = init.llama;
    this.#model = init.model;
    this.context = init.context;
    this.servedModelName = init.servedModelName;
    this.tokenizerMap = init.tokenizerMap;
    this.contextSize = init.context.contextSize;
    this.vocabSize = init.tokenizerMap.map.vocab_size;
    this.chatTemplate = init.chatTemplate;
    this.dictionaries = init.dictionaries;
    this.bosText = init.model.tokens.bosString ?? "";
    this.eosText = init.model.tokens.eosString ?? "";
  }

  /** Loads the GGUF file, creates the context and builds the tokenizer map. */
  static async load(
    options: EngineOptions,
    codec: CodecServerConfig,
    log: Logger,
  ): Promise<ModelHost> {
    const startedAt = performance.now();
    const llama = await getLlama({
      gpu: options.gpu === "cpu" ? false : options.gpu,
      build: "never",
      maxThreads: options.threads,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => llamaCppLogged(log, level, message),
    });
    const model = await llama.loadModel({
      modelPath: options.modelPath,
      ...(options.gpuLayers === undefined ? {} : { gpuLayers: options.gpuLayers }),
    });
    const trainContextSize = model.trainContextSize;
    const context = await model.createContext({
      sequences: options.parallel,
      contextSize: options.contextSize ?? {
        max: Math.min(DEFAULT_MAX_CONTEXT_SIZE, trainContextSize),
      },
      threads: options.threads,
    });

    const tokenizer = readTokenizerMetadata(model.fileInfo.metadata);
    const mapId = ggufMapId(model.fileInfo.metadata.general?.name, options.modelPath);
    const map = buildTokenizerMap(tokenizer, mapId);
    const dictionaries = await loadDictionaries(codec, tokenizerFingerprint(map));
    if (dictionaries.size > 0) map.zstd_dictionaries = dictionaries.mapEntries();
    codecSettings(log, {
      versionPolicy: codec.versionPolicy,
      minimumVersion: codec.minimumVersion,
      requiredFeatures: codec.requiredFeatures,
      compressionFlushMs: codec.compressionFlushMs,
      dictionaryFormats: map.zstd_dictionaries?.map((entry) => entry.format) ?? [],
      dictionaryHashes: map.zstd_dictionaries?.map((entry) => entry.hash) ?? [],
      dictionarySources: ["msgpack", "protobuf"].flatMap(
        (format) => dictionaries.forFormat(format as "msgpack")?.source ?? [],
      ),
    });
    const { bytes, hash } = serializeTokenizerMap(map);

    const host = new ModelHost({
      llama,
      model,
      context,
      servedModelName: options.servedModelName,
      tokenizerMap: { id: mapId, map, bytes, hash },
      chatTemplate: tokenizer.chat_template,
      dictionaries,
    });
    modelLoaded(log, {
      modelPath: options.modelPath,
      gpu: llama.gpu === false ? "cpu" : llama.gpu,
      threads: options.threads,
      contextSize: host.contextSize,
      trainContextSize,
      sequences: options.parallel,
      mapId,
      mapHash: hash,
      durationMs: Math.round(performance.now() - startedAt),
    });
    return host;
  }

  /**
   * Tokenizes prompt text. Special-token strings in the text are parsed as special tokens,
   * as Hugging Face tokenizers do, and a BOS token is prepended when the model's metadata requires one.
   */
  tokenize(text: string): number[] {
    const ids: number[] = this.#model.tokenize(text, true);
    const bos = this.#model.tokens.bos;
    if (this.#model.tokens.shouldPrependBosToken && bos !== null && ids[0] !== bos)
      ids.unshift(bos);
    return ids;
  }

  /** True for end-of-generation tokens (EOS, EOT and the like). */
  isEndOfGeneration(id: number): boolean {
    return this.#model.isEogToken(id as Token);
  }

  /**
   * Builds a llama.cpp token bias from OpenAI `logit_bias` pairs. As with OpenAI, -100
   * bans a token; other values are added to the token's logit.
   */
  createTokenBias(pairs: ReadonlyArray<readonly [number, number]>): TokenBias {
    const bias = new TokenBias(this.#model.tokenizer);
    // NOTE: TokenBias.set in node-llama-cpp 3.21.1 silently skips end-of-generation tokens,
    // but OpenAI clients bias EOS too (to force or forbid stopping). The sampler reads the
    // internal `_biases` map, so we fill it directly; the version is pinned exactly.
    const biases = (bias as unknown as { _biases: Map<Token, number> })._biases;
    for (const [id, value] of pairs) biases.set(id as Token, value <= -100 ? -Infinity : value);
    return bias;
  }

  /** Creates a detokenizer over the served map, so clients decoding frames get the same text. */
  createDetokenizer(): Detokenizer {
    return new Detokenizer(this.tokenizerMap.map);
  }

  /** Frees the context, model and runtime. Safe to call more than once. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.context.dispose();
    await this.#model.dispose();
    await this.#llama.dispose();
  }
}

/** Derives a map id matching `[a-z0-9._/-]+` from the model's name or file name. */
