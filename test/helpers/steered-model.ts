import { join } from "node:path";

import { ensureDemoModel } from "../../src/demo-model/demo-model.js";
import { TEST_CACHE_DIR } from "./paths.js";

/** Qwen token IDs of the tool-call markers. */
export const TOOL_CALL_START = 151_657;
export const TOOL_CALL_END = 151_658;

/** `{"name": "lookup"}` in Qwen tokens. */
export const TOOL_CALL_BODY = [4913, 606, 788, 330, 21_020, 9207];

/** ` Done.` in Qwen tokens. */
export const AFTER_TOOL_CALL = [27_357, 13];

/** `Hi`, the prompt that starts the loop. */
export const LOOP_PROMPT = [13_048];

/** The token sequence greedy decoding repeats: a tool call, then ` Done.`. */
export const TOOL_CALL_LOOP = [
  TOOL_CALL_START,
  ...TOOL_CALL_BODY,
  TOOL_CALL_END,
  ...AFTER_TOOL_CALL,
];

/**
 * Returns a demo model whose greedy output after `Hi` (or after the newline that ends the chat
 * template's assistant header) is the tool-call loop, forever.
 */
export function steeredModelPath(): Promise<string> {
  const transitions: Array<[number, number]> = [
    [LOOP_PROMPT[0]!, TOOL_CALL_START],
    // The Qwen chat template ends with "<|im_start|>assistant\n"; token 198 is "\n".
    [198, TOOL_CALL_START],
  ];
  TOOL_CALL_LOOP.forEach((id, index) =>
    transitions.push([id, TOOL_CALL_LOOP[(index + 1) % TOOL_CALL_LOOP.length]!]),
  );
  return ensureDemoModel(join(TEST_CACHE_DIR, "demo-models"), { transitions });
}
