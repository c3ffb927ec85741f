import type { ToolCallingConvention } from "./tokenizer-map.js";

/**
 * Tool-call marker pairs that open and close a tool call as single tokens, in the order they
 * are tried. A map declares a convention only when both markers are special tokens of the model.
 */
export const TOOL_CALLING_CONVENTIONS: readonly ToolCallingConvention[] = [
  // Qwen2.5 and Qwen3 emit a JSON object {"name", "arguments"} between the markers and read
  // tool results back as plain text inside <tool_response> blocks.
  {
    convention: "qwen25",
    markers: { start: "<tool_call>", end: "</tool_call>" },
    args_format: "json",
    result_format: "text",
  },
  // Llama 3.1+ opens a built-in tool call with <|python_tag|> and ends that message with
  // <|eom_id|>. No argument or result format is declared, because Llama writes built-in tool
  // calls in Python-call syntax and custom tool calls as JSON.
  { convention: "llama3", markers: { start: "<|python_tag|>", end: "<|eom_id|>" } },
  { convention: "phi4", markers: { start: "<|tool|>", end: "<|/tool|>" } },
  { convention: "mistral_nemo", markers: { start: "[TOOL_CALLS]", end: "[/TOOL_CALLS]" } },
  {
    convention: "deepseek_v3",
    markers: {
      start: "<\uff5ctool\u2581calls\u2581begin\uff5c>",
      end: "<\uff5ctool\u2581calls\u2581end\uff5c>",
    },
  },
];

/**
 * Returns a copy of the first convention whose two markers are both keys of `specialTokens`,
 * or undefined when none is.
 */
export function detectToolCalling(
  specialTokens: Readonly<Record<string, number>>,
): ToolCallingConvention | undefined {
  const convention = TOOL_CALLING_CONVENTIONS.find(
    ({ markers }) =>
      Object.hasOwn(specialTokens, markers.start) && Object.hasOwn(specialTokens, markers.end),
  );
  return convention === undefined ? undefined : structuredClone(convention);
}
