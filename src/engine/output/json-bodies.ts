import type { GenerationResult } from "../generate.js";
import type { ResponseIdentity } from "./stream-encoder.js";

/** Builds the non-streaming `/v1/completions` response body. */
export function completionBody(identity: ResponseIdentity, text: string, result: GenerationResult) {
  return {
    ...identity,
    object: "text_completion",
    choices: [{ index: 0, text, logprobs: null, finish_reason: result.finishReason }],
    usage: result.usage,
  };
}

/** Builds the non-streaming `/v1/chat/completions` response body. */
export function chatCompletionBody(
  identity: ResponseIdentity,
  text: string,
  result: GenerationResult,
) {
  return {
    ...identity,
    object: "chat.completion",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: text },
        logprobs: null,
        finish_reason: result.finishReason,
      },
    ],
    usage: result.usage,
  };
}
