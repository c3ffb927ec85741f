import { ERRORS, HttpError, invalidParam, unsupportedParam } from "../../http/errors.js";
import type { StreamFormat } from "../../protocol/frame.js";
import type { CommonFields } from "./common-fields.js";

/** Sampling settings for one generation, in node-llama-cpp terms. */
export interface SamplingOptions {
  /** 0 means greedy decoding. */
  temperature: number;
  /** `undefined` uses the default; see `DEFAULT_TOP_P`. */
  topP: number | undefined;
  /** `undefined` uses the default (`DEFAULT_TOP_K`); 0 disables top-k. */
  topK: number | undefined;
  minP: number | undefined;
  /** uint32 seed; `undefined` lets llama.cpp pick one. */
  seed: number | undefined;
  /** Token ID and the value added to its logit. */
  logitBias: ReadonlyArray<readonly [number, number]>;
  frequencyPenalty: number | undefined;
  presencePenalty: number | undefined;
  repetitionPenalty: number | undefined;
}

/** A validated request, ready for the generation pipeline. */
export interface GenerationRequest {
  promptIds: number[];
  maxTokens: number;
  sampling: SamplingOptions;
  stop: string[];
  /** Keep generating past end-of-generation tokens (for benchmarks), as vLLM and llama.cpp allow. */
  ignoreEos: boolean;
  /** Binary formats always stream. */
  stream: boolean;
  includeUsage: boolean;
  format: StreamFormat;
  /** Marker token IDs of the server-side ToolWatcher; only with a binary format. */
  toolWatcher: { startId: number; endId: number } | undefined;
}

/** The fields of a request that do not depend on the prompt. */
export type RequestSettings = Omit<GenerationRequest, "promptIds" | "maxTokens"> & {
  /** The requested `max_tokens`, or `undefined` for the endpoint default. */
  requestedMaxTokens: number | undefined;
};

/** OpenAI's default temperature. */
const DEFAULT_TEMPERATURE = 1;

/** Checks the endpoint-independent fields and converts them to generation settings. */
export function resolveRequestSettings(fields: CommonFields, vocabSize: number): RequestSettings {
  rejectUnsupported(fields);

  const format = fields.stream_format ?? "json";
  const binary = format !== "json";
  const n = fields.n ?? 1;
  if (binary && n > 1) {
    throw invalidParam(
      "n",
      `n must be 1 with stream_format '${format}': binary frames carry no choice index to tell sequences apart`,
      n,
    );
  }
  if (n > 1)
    throw unsupportedParam("n", "n > 1 is not supported; send one request per completion", n);

  // Binary formats always stream, as the upstream Codec engines do.
  const stream = binary || (fields.stream ?? false);
  if (!stream && fields.stream_options != null) {
    throw invalidParam("stream_options", "stream_options is only allowed when stream is true");
  }

  return {
    sampling: resolveSampling(fields, vocabSize),
    stop: normalizeStop(fields.stop),
    ignoreEos: fields.ignore_eos ?? false,
    stream,
    includeUsage: stream && !binary && fields.stream_options?.include_usage === true,
    format,
    toolWatcher: resolveToolWatcher(fields, binary, vocabSize),
    requestedMaxTokens: fields.max_tokens ?? undefined,
  };
}

/** Checks `tool_watcher`: detection results travel only on binary frames, so JSON is rejected. */
function resolveToolWatcher(
  fields: CommonFields,
  binary: boolean,
  vocabSize: number,
): GenerationRequest["toolWatcher"] {
  const watcher = fields.tool_watcher;
  if (watcher == null) return undefined;
  if (!binary) {
    throw invalidParam(
      "tool_watcher",
      "tool_watcher needs a binary stream_format (msgpack, protobuf or msgpack-delta): tool calls are reported on Codec frames only",
    );
  }
  if (watcher.start_id === watcher.end_id) {
    throw invalidParam(
      "tool_watcher",
      "tool_watcher.start_id and end_id must be different token IDs",
      watcher,
    );
  }
  for (const key of ["start_id", "end_id"] as const) {
    if (watcher[key] >= vocabSize) {
      throw new HttpError(
        ERRORS.requestTokenOutOfVocab,
        `tool_watcher.${key} ${watcher[key]} is outside the vocabulary (valid IDs are 0 to ${vocabSize - 1})`,
        { param: `tool_watcher.${key}`, value: watcher[key] },
      );
    }
  }
  return { startId: watcher.start_id, endId: watcher.end_id };
}

/**
 * Decides the number of tokens to generate and rejects prompts that do not fit the
 * context: the prompt plus the completion must fit in one sequence's context. Errors about the
 * prompt name `promptParam`.
 */
export function resolveMaxTokens(
  promptTokens: number,
  requested: number | undefined,
  contextSize: number,
  defaultMaxTokens: number | undefined,
  promptParam = "prompt",
): number {
  if (promptTokens === 0)
    throw invalidParam(promptParam, `${promptParam} must contain at least one token`);
  if (promptTokens >= contextSize) {
    throw new HttpError(
      ERRORS.requestContextLength,
      `the prompt has ${promptTokens} tokens, but the context holds ${contextSize}; shorten the prompt`,
      { param: promptParam, value: promptTokens },
    );
  }

  const room = contextSize - promptTokens;
  const maxTokens = requested ?? Math.min(defaultMaxTokens ?? room, room);
  if (promptTokens + maxTokens > contextSize) {
    throw new HttpError(
      ERRORS.requestContextLength,
      `the context holds ${contextSize} tokens, but ${promptTokens + maxTokens} were requested ` +
        `(${promptTokens} in the prompt, ${maxTokens} for the completion); lower max_tokens to at most ${room}`,
      { param: "max_tokens", value: maxTokens },
    );
  }
  return maxTokens;
}

/** Checks that prompt token IDs are integers inside the model's vocabulary. */
export function checkPromptIds(ids: readonly number[], vocabSize: number, param: string): void {
  for (const [index, id] of ids.entries()) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new HttpError(
        ERRORS.requestTokenOutOfVocab,
        `token ID ${id} at ${param}[${index}] is outside the vocabulary (valid IDs are 0 to ${vocabSize - 1})`,
        { param, value: id },
      );
    }
  }
}

function rejectUnsupported(fields: CommonFields): void {
  if (fields.logprobs != null && fields.logprobs !== false && fields.logprobs !== 0) {
    throw unsupportedParam(
      "logprobs",
      "logprobs are not supported by this server",
      fields.logprobs,
    );
  }
  if (fields.top_logprobs != null && fields.top_logprobs !== 0) {
    throw unsupportedParam(
      "top_logprobs",
      "top_logprobs are not supported by this server",
      fields.top_logprobs,
    );
  }
  if (fields.echo != null && fields.echo !== false) {
    throw unsupportedParam("echo", "echo is not supported by this server", fields.echo);
  }
  if (fields.best_of != null && fields.best_of !== 1) {
    throw unsupportedParam(
      "best_of",
      "best_of other than 1 is not supported by this server",
      fields.best_of,
    );
  }
}

function resolveSampling(fields: CommonFields, vocabSize: number): SamplingOptions {
  const logitBias: Array<readonly [number, number]> = [];
  for (const [key, bias] of Object.entries(fields.logit_bias ?? {})) {
    if (!/^\d+$/.test(key)) {
      throw invalidParam(
        `logit_bias.${key}`,
        `logit_bias keys must be token IDs, got '${key}'`,
        key,
      );
    }
    const id = Number(key);
    if (id >= vocabSize) {
      throw new HttpError(
        ERRORS.requestTokenOutOfVocab,
        `logit_bias names token ID ${id}, which is outside the vocabulary (valid IDs are 0 to ${vocabSize - 1})`,
        { param: "logit_bias", value: id },
      );
    }
    logitBias.push([id, bias]);
  }

  const topK = fields.top_k ?? undefined;
  return {
    temperature: fields.temperature ?? DEFAULT_TEMPERATURE,
    topP: fields.top_p ?? undefined,
    // OpenAI clients and vLLM use -1 for "no top-k"; llama.cpp uses 0.
    topK: topK === undefined ? undefined : Math.max(0, topK),
    minP: fields.min_p ?? undefined,
    // llama.cpp takes a uint32 seed; OpenAI clients may send any integer.
    seed: fields.seed == null ? undefined : Number(BigInt.asUintN(32, BigInt(fields.seed))),
    logitBias,
    frequencyPenalty: fields.frequency_penalty ?? undefined,
    presencePenalty: fields.presence_penalty ?? undefined,
    repetitionPenalty: fields.repetition_penalty ?? undefined,
  };
}

function normalizeStop(stop: string | string[] | null | undefined): string[] {
  if (stop == null) return [];
  return typeof stop === "string" ? [stop] : [...new Set(stop)];
}
