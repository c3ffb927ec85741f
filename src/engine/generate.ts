import { randomInt } from "node:crypto";

import type { LlamaContextSequence, SequenceEvaluateOptions, Token } from "node-llama-cpp";

import type { ModelHost } from "./model-host.js";
import type { GenerationRequest } from "./requests/generation-request.js";
import { StopFilter, type Release } from "./stop-filter.js";

/** Reason a generation ended. The same strings go on Codec frames and in OpenAI `finish_reason`. */
export type FinishReason = "stop" | "length" | "abort" | "error";

/** Token counts, in the OpenAI `usage` shape. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** Outcome of a generation, with whatever was still held back at the end. */
export interface GenerationResult {
  finishReason: FinishReason;
  usage: Usage;
  /** IDs and text released only at the end (held for a stop string, or partial UTF-8). */
  tail: Release;
}

/**
 * Generates a completion on `sequence`, yielding IDs and text as soon as they may be sent.
 *
 * Ends with `stop` on an end-of-generation token (which is not sent or counted, unless
 * `ignoreEos` makes it an ordinary token) or a stop string, `length` after `request.maxTokens` tokens, and `abort` when `signal` aborts.
 * `completion_tokens` counts every sampled token except the end-of-generation token.
 */
export async function* generate(
  host: ModelHost,
  sequence: LlamaContextSequence,
  request: GenerationRequest,
  signal: AbortSignal,
  onFinish?: (finishReason: FinishReason, usage: Usage) => void,
): AsyncGenerator<Release, GenerationResult> {
  const detokenizer = host.createDetokenizer();
  const filter = new StopFilter(request.stop);
  const generated: Token[] = [];
  // Stays "abort" unless the loop ends on its own, so a consumer that stops early counts as an abort.
  let finishReason: FinishReason = "abort";
  let stoppedByString = false;

  try {
    if (request.maxTokens === 0) finishReason = "length";
    else {
      const tokens = sequence.evaluate(
        request.promptIds as Token[],
        evaluateOptions(host, request, generated),
      );
      for await (const id of tokens) {
        if (signal.aborted) break;
        if (!request.ignoreEos && host.isEndOfGeneration(id)) {
          finishReason = "stop";
          break;
        }

        generated.push(id);
        const { release, stopped } = filter.push(id, detokenizer.render([id], { partial: true }));
        if (release.ids.length > 0 || release.text !== "") yield release;
        if (stopped) {
          finishReason = "stop";
          stoppedByString = true;
          break;
        }
        if (generated.length >= request.maxTokens) {
          finishReason = "length";
          break;
        }
      }
      // The sequence ended without a reason of ours (its context is full): report it as a length stop.
      if (finishReason === "abort" && !signal.aborted) finishReason = "length";
    }

    const tail = stoppedByString ? { ids: [], text: "" } : filter.flush();
    if (!stoppedByString) tail.text += detokenizer.render([], { partial: false });
    return { finishReason, usage: usageOf(request, generated.length), tail };
  } finally {
    onFinish?.(finishReason, usageOf(request, generated.length));
  }
}

function usageOf(request: GenerationRequest, completionTokens: number): Usage {
  const promptTokens = request.promptIds.length;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/**
 * Sampling defaults when a request names none: llama.cpp's top-k 40 and top-p 0.95. OpenAI's
 * API has no top-k, but sampling from the whole vocabulary sorts it for every token: with
 * top-k off, the demo model (151,669 tokens) decoded 6 times slower on the 2-core machine in
 * docs/benchmarks.md (about 14 ms against 2.3 ms per token). `top_k: 0` turns it off.
 */
const DEFAULT_TOP_K = 40;
const DEFAULT_TOP_P = 0.95;

/** Penalties look at this many of the most recent generated tokens, node-llama-cpp's default. */
const PENALTY_WINDOW = 64;

function evaluateOptions(
  host: ModelHost,
  request: GenerationRequest,
  generated: readonly Token[],
): SequenceEvaluateOptions {
  const sampling = request.sampling;
  const options: SequenceEvaluateOptions = {
    temperature: sampling.temperature,
    topK: sampling.topK ?? DEFAULT_TOP_K,
    topP: sampling.topP ?? DEFAULT_TOP_P,
    minP: sampling.minP ?? 0,
    // Without a seed, node-llama-cpp seeds from the clock in seconds, so requests in the same
    // second would sample the same text. A random seed per request avoids that.
    seed: sampling.seed ?? randomInt(2 ** 32 - 1),
    // EOG tokens are yielded so that we can tell "stop" apart from the sequence ending.
    yieldEogToken: true,
  };
  if (sampling.logitBias.length > 0) options.tokenBias = host.createTokenBias(sampling.logitBias);

  const penalties =
    sampling.frequencyPenalty ?? sampling.presencePenalty ?? sampling.repetitionPenalty;
  if (penalties !== undefined) {
    options.repeatPenalty = {
      punishTokens: () => generated.slice(-PENALTY_WINDOW),
      maxPunishTokens: PENALTY_WINDOW,
      penalty: sampling.repetitionPenalty ?? 1,
      frequencyPenalty: sampling.frequencyPenalty ?? 0,
      presencePenalty: sampling.presencePenalty ?? 0,
    };
  }
  return options;
}
