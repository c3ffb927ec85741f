import { z } from "zod";

import { STREAM_FORMATS } from "../../protocol/frame.js";

/** Maximum number of stop strings per request. */
export const MAX_STOP_STRINGS = 16;

const finite = () => z.number().refine(Number.isFinite, { error: "expected a finite number" });

/**
 * Request fields shared by `/v1/completions` and `/v1/chat/completions`. Unknown fields
 * are ignored, as OpenAI-compatible servers do; fields we cannot honour are rejected
 * later with a message that names them.
 */
export const commonFields = {
  model: z.string().nullish(),
  max_tokens: z.number().int({ error: "expected an integer" }).min(0).nullish(),
  temperature: finite().min(0).max(100).nullish(),
  top_p: finite().gt(0).max(1).nullish(),
  top_k: z.number().int({ error: "expected an integer" }).min(-1).nullish(),
  min_p: finite().min(0).max(1).nullish(),
  seed: z.number().int({ error: "expected an integer" }).nullish(),
  stop: z
    .union([
      z.string().min(1, { error: "stop strings must not be empty" }),
      z.array(z.string().min(1, { error: "stop strings must not be empty" })).max(MAX_STOP_STRINGS),
    ])
    .nullish(),
  n: z.number().int({ error: "expected an integer" }).min(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  stream_format: z.enum(STREAM_FORMATS).nullish(),
  tool_watcher: z
    .object({
      start_id: z.number().int({ error: "expected an integer token ID" }).min(0).max(0xffff_ffff),
      end_id: z.number().int({ error: "expected an integer token ID" }).min(0).max(0xffff_ffff),
    })
    .nullish(),
  // Keys are checked in resolveSampling, where the error can name the key that is not a token ID.
  logit_bias: z.record(z.string(), finite().min(-100).max(100)).nullish(),
  frequency_penalty: finite().min(-2).max(2).nullish(),
  presence_penalty: finite().min(-2).max(2).nullish(),
  repetition_penalty: finite().gt(0).max(10).nullish(),
  ignore_eos: z.boolean().nullish(),
  logprobs: z.unknown().optional(),
  top_logprobs: z.unknown().optional(),
  echo: z.unknown().optional(),
  best_of: z.unknown().optional(),
  user: z.string().nullish(),
};

const commonSchema = z.object(commonFields);

/** The common fields after validation. */
export type CommonFields = z.output<typeof commonSchema>;
