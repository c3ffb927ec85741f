/**
 * Translates the `normalizer` and `pre_tokenizer` of a Hugging Face `tokenizer.json` into the
 * Codec map fields `encoder`, `pre_tokenizer_pattern` and `pre_tokenizer_program`.
 *
 * A program is emitted only where it reproduces the source exactly: regexes recognised from a
 * table of known families, and `Sequence` pre-tokenizers whose every step has an exact stage.
 * Anything else gets `pre_tokenizer_program: null`, which marks the family as not expressible,
 * and no pattern unless the pattern alone is exact.
 */
import type { AlternationOp } from "./pretokenizer-op-types.js";
import type { ProgramStage } from "./pretokenizer-stages.js";
import type { MapEncoder, PreTokenizerProgram } from "./tokenizer-map.js";

/** The encoder fields a tokenizer.json translates to. */
export interface EncoderFields {
  encoder?: MapEncoder;
  pre_tokenizer_pattern?: string;
  pre_tokenizer_program?: PreTokenizerProgram | null;
}

type JsonObject = Record<string, unknown>;

const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

/** The regex `ByteLevel(use_regex: true)` runs, fixed inside the tokenizers library (GPT-2's). */
export const GPT2_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** Ops equal to an alternation regex, keyed by the regex as tokenizer.json spells it. */
const KNOWN_PATTERNS: ReadonlyMap<string, AlternationOp[]> = new Map([
  // Qwen2, Qwen2.5 and Qwen3: single digits.
  [
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    gpt4StyleOps(1),
  ],
  // Llama 3 and cl100k_base (GPT-4): digit runs of up to three.
  [
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    gpt4StyleOps(3),
  ],
  [GPT2_PATTERN, gpt2Ops()],
]);

function gpt4StyleOps(maxDigits: number): AlternationOp[] {
  return [
    { op: "literals_ci", patterns: CONTRACTIONS },
    { op: "letters", lead_other: true },
    { op: "numbers", max_run: maxDigits },
    { op: "punct_run", lead_space: true, trailing_newlines: true },
    { op: "newline_block" },
    { op: "trailing_ws" },
    { op: "ws_run" },
  ];
}

function gpt2Ops(): AlternationOp[] {
  return [
    { op: "literals", patterns: CONTRACTIONS },
    { op: "letters", lead_space: true },
    { op: "numbers", lead_space: true },
    { op: "punct_run", lead_space: true },
    { op: "trailing_ws" },
    { op: "ws_run" },
  ];
}

/** Returns the map's encoder fields for a tokenizer.json's normalizer and pre-tokenizer. */
export function translatePreTokenizer(normalizer: unknown, preTokenizer: unknown): EncoderFields {
  const steps = flatten(preTokenizer, "pretokenizers");
  if (steps.some((step) => step.type === "ByteLevel")) {
    return { encoder: "byte_level", ...byteLevelFields(steps) };
  }

  const metaspaceStep = steps.find((step) => step.type === "Metaspace");
  if (metaspaceStep !== undefined) {
    return {
      encoder: "metaspace",
      pre_tokenizer_program: metaspaceFromPreTokenizer(metaspaceStep, steps),
    };
  }
  const normalizers = flatten(normalizer, "normalizers");
  if (normalizers.some(isSpaceToMetaspace)) {
    return {
      encoder: "metaspace",
      pre_tokenizer_program: metaspaceFromNormalizer(normalizers, steps),
    };
  }
  return {};
}

/** Lists the steps of a `Sequence`, or the single step, or nothing for null. */
function flatten(step: unknown, listKey: string): JsonObject[] {
  if (!isObject(step)) {
    return [];
  }
  if (step.type === "Sequence" && Array.isArray(step[listKey])) {
    return (step[listKey] as unknown[]).flatMap((inner) => flatten(inner, listKey));
  }
  return [step];
}

function byteLevelFields(steps: JsonObject[]): Omit<EncoderFields, "encoder"> {
  const stages: ProgramStage[] = [];
  const patterns: string[] = [];
  for (const step of steps) {
    const stage = stageFor(step);
    if (stage === undefined) {
      return { pre_tokenizer_program: null };
    }
    if (stage === "none") {
      continue;
    }
    stages.push(stage);
    if (stage.stage === "alternation") {
      patterns.push(step.type === "ByteLevel" ? GPT2_PATTERN : (regexOf(step) as string));
    }
  }

  // A single regex step is exactly the pattern; with more steps no single regex is.
  const only = stages.length === 1 ? stages[0] : undefined;
  if (only?.stage === "alternation") {
    return {
      pre_tokenizer_pattern: patterns[0] as string,
      pre_tokenizer_program: { version: 1, ops: toJson(only.ops) },
    };
  }
  if (stages.length === 0) {
    return { pre_tokenizer_program: null };
  }
  return { pre_tokenizer_program: { version: 2, stages: toJson(stages) } };
}

/**
 * Returns the program stage of one byte-level pre-tokenizer step, `"none"` for a step that
 * does not split, or undefined when the step cannot be expressed exactly.
 */
function stageFor(step: JsonObject): ProgramStage | "none" | undefined {
  switch (step.type) {
    case "ByteLevel":
      if (step.add_prefix_space === true) {
        return undefined;
      }
      return step.use_regex === false ? "none" : { stage: "alternation", ops: gpt2Ops() };
    case "Split": {
      const regex = regexOf(step);
      if (step.behavior !== "Isolated" || step.invert === true || regex === undefined) {
        return undefined;
      }
      if (regex === "[0-9][0-9][0-9]") {
        return { stage: "digit_triples_isolate" };
      }
      const ops = KNOWN_PATTERNS.get(regex);
      return ops === undefined ? undefined : { stage: "alternation", ops };
    }
    case "Digits":
      return {
        stage: "digits_isolate",
        mode: step.individual_digits === true ? "individual" : "grouped",
      };
    case "Punctuation":
      return step.behavior === undefined || step.behavior === "Contiguous"
        ? { stage: "punctuation_contiguous" }
        : undefined;
    default:
      return undefined;
  }
}

function regexOf(step: JsonObject): string | undefined {
  const pattern = step.pattern;
  return isObject(pattern) && typeof pattern.Regex === "string" ? pattern.Regex : undefined;
}

/** Returns whether a normalizer step is a `Replace` that turns U+0020 into `▁`. */
function isSpaceToMetaspace(step: JsonObject): boolean {
  const pattern = step.pattern;
  return (
    step.type === "Replace" &&
    isObject(pattern) &&
    pattern.String === " " &&
    step.content === "\u2581"
  );
}

/**
 * Returns the program for the Llama 2 and Mistral 7B form: normalizer `Prepend("▁")` and
 * `Replace(" ", "▁")`, no pre-tokenizer. Without the prepend, or with other normalizer steps,
 * no program is exact and null is returned.
 */
function metaspaceFromNormalizer(
  normalizers: JsonObject[],
  steps: JsonObject[],
): PreTokenizerProgram | null {
  const prepends = normalizers.some((step) => step.type === "Prepend" && step.prepend === "\u2581");
  const onlyKnownSteps = normalizers.every(
    (step) => isSpaceToMetaspace(step) || step.type === "Prepend",
  );
  return prepends && onlyKnownSteps && steps.length === 0 ? metaspaceProgram() : null;
}

/**
 * Returns the program for the `Metaspace` pre-tokenizer form, or null. Only `split: false` with
 * a `▁` before the text matches the program.
 *
 * NOTE: `split: true` (each `▁` starts a new piece) has no program op, so such maps get null
 * and clients encode them as `split: false`, which differs on runs of spaces.
 */
function metaspaceFromPreTokenizer(
  step: JsonObject,
  steps: JsonObject[],
): PreTokenizerProgram | null {
  const prepends =
    step.prepend_scheme === "always" ||
    step.prepend_scheme === "first" ||
    (step.prepend_scheme === undefined && step.add_prefix_space !== false);
  const exact =
    steps.length === 1 && step.split === false && step.replacement === "\u2581" && prepends;
  return exact ? metaspaceProgram() : null;
}

function metaspaceProgram(): PreTokenizerProgram {
  return { version: 1, ops: [{ op: "metaspace_split" }] };
}

function toJson<T>(value: T): Record<string, unknown>[] {
  return structuredClone(value) as unknown as Record<string, unknown>[];
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
