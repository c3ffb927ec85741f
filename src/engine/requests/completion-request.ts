import { z } from "zod";

import { invalidParam, unsupportedParam } from "../../http/errors.js";
import { commonFields } from "./common-fields.js";
import {
  checkPromptIds,
  resolveMaxTokens,
  resolveRequestSettings,
  type GenerationRequest,
} from "./generation-request.js";
import { parseBody } from "../../http/parse-body.js";

/** OpenAI's default `max_tokens` for `/v1/completions`. */
const DEFAULT_COMPLETION_MAX_TOKENS = 16;

/** Model facts that request parsing needs. */
export interface PromptTokenizer {
  tokenize(text: string): number[];
  readonly vocabSize: number;
  readonly contextSize: number;
}

const tokenIds = z.array(z.number().int({ error: "token IDs must be integers" }));

const completionSchema = z.object({
  ...commonFields,
  prompt: z.union([z.string(), tokenIds, z.array(z.string()), z.array(tokenIds)], {
    error: "expected a string, an array of token IDs, or a one-element array of either",
  }),
  suffix: z.string().nullish(),
});

/**
 * Validates a `/v1/completions` body and tokenizes its prompt. `promptParam` is the name that
 * errors give the prompt: `prompt_ids` for a binary body from `/v1/completions/codec`.
 */
export function parseCompletionRequest(
  body: unknown,
  model: PromptTokenizer,
  promptParam: "prompt" | "prompt_ids" = "prompt",
): GenerationRequest {
  const fields = parseBody(completionSchema, body);
  if (fields.suffix != null && fields.suffix !== "") {
    throw unsupportedParam("suffix", "suffix (fill-in-the-middle) is not supported by this server");
  }

  const settings = resolveRequestSettings(fields, model.vocabSize);
  const promptIds = resolvePromptIds(fields.prompt, model, promptParam);
  const maxTokens = resolveMaxTokens(
    promptIds.length,
    settings.requestedMaxTokens,
    model.contextSize,
    DEFAULT_COMPLETION_MAX_TOKENS,
    promptParam,
  );
  return { ...settings, promptIds, maxTokens };
}

function resolvePromptIds(
  prompt: string | number[] | string[] | number[][],
  model: PromptTokenizer,
  promptParam: string,
): number[] {
  if (typeof prompt === "string") return model.tokenize(prompt);

  if (prompt.length === 0)
    throw invalidParam(promptParam, `${promptParam} must not be an empty array`);

  const first = prompt[0];
  if (typeof first === "number") {
    const ids = prompt as number[];
    checkPromptIds(ids, model.vocabSize, promptParam);
    return [...ids];
  }

  // A batch of prompts: one choice per prompt would need an index on every frame.
  if (prompt.length > 1) {
    throw unsupportedParam(
      "prompt",
      "batched prompts are not supported; send one prompt per request",
    );
  }
  if (typeof first === "string") return model.tokenize(first);

  const ids = first ?? [];
  checkPromptIds(ids, model.vocabSize, "prompt.0");
  return [...ids];
}
