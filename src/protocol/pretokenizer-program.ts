/**
 * Validation and execution of a map's `pre_tokenizer_program`, which describes how to split
 * text into pieces before BPE without needing a regex engine.
 *
 * Version 1 is `{version: 1, ops}`: at each position the first op that matches a non-empty span
 * emits it. Version 2 is `{version: 2, stages}`: each stage splits every piece the stage before
 * produced. Any other version is rejected, because its ops could mean something else.
 */
import type { AlternationOp } from "./pretokenizer-op-types.js";
import { runAlternation, runStage } from "./pretokenizer-stages.js";
import type { ProgramStage } from "./pretokenizer-stages.js";
import {
  CodecInvalidProgramError,
  CodecUnsupportedProgramVersionError,
} from "./tokenizer-errors.js";

/**
 * A validated program. `metaspace` is the single-op SentencePiece program
 * `{version: 1, ops: [{op: "metaspace_split"}]}`, which the metaspace encoder runs itself.
 */
export type CompiledProgram =
  | { kind: "alternation"; ops: AlternationOp[] }
  | { kind: "stages"; stages: ProgramStage[] }
  | { kind: "metaspace"; prefixFirst: boolean };

type JsonObject = Record<string, unknown>;

/** Allowed option names and checks of each op, keyed by op name. */
const OP_FIELDS: Record<string, Record<string, (value: unknown) => boolean>> = {
  literals_ci: { patterns: isNonEmptyStringArray },
  literals: { patterns: isNonEmptyStringArray },
  letters: {
    lead_other: isBoolean,
    lead_space: isBoolean,
    lead_other_class: oneOf("l_n", "l_p_s"),
    body: oneOf("L", "L_M"),
  },
  letters_cased: {
    kind: oneOf("title", "upper"),
    lead_other: isBoolean,
    trailing_ci: isStringArray,
  },
  numbers: { max_run: isCount, lead_space: isBoolean },
  punct_run: {
    lead_space: isBoolean,
    trailing_newlines: isBoolean,
    trailing_chars: isString,
    charset: oneOf("not_ws_L_N", "p_s"),
  },
  punct_ascii_letters: {},
  newline_block: {},
  trailing_ws: {},
  ws_run: {},
};

const REQUIRED_OP_FIELDS: Record<string, string[]> = {
  literals_ci: ["patterns"],
  literals: ["patterns"],
  letters_cased: ["kind"],
};

const STAGE_FIELDS: Record<string, Record<string, (value: unknown) => boolean>> = {
  digits_isolate: { mode: oneOf("individual", "grouped"), max_run: isCount },
  digit_triples_isolate: {},
  punctuation_contiguous: {},
  cjk_isolate: {},
  alternation: { ops: Array.isArray },
};

const REQUIRED_STAGE_FIELDS: Record<string, string[]> = {
  digits_isolate: ["mode"],
  alternation: ["ops"],
};

/**
 * Checks a `pre_tokenizer_program` and returns it in executable form. Unknown option names are
 * ignored, so programs from newer compilers that add optional fields still run.
 *
 * `metaspace_split` is accepted only as the single op of a version 1 program. Its
 * `prefix_first: true` turns off the `▁` that is otherwise put before the text. The Codec
 * program spec describes the flag the other way round, but the `@codecai/web` client leaves the
 * first piece without `▁` when it is true, and this follows the client. Absent or false means a
 * `▁` before the text in both readings.
 *
 * @throws {@link CodecUnsupportedProgramVersionError} for a version other than 1 or 2
 * @throws {@link CodecInvalidProgramError} for an unknown op or stage, or an invalid option
 */
export function compileProgram(program: unknown): CompiledProgram {
  if (!isObject(program)) {
    throw new CodecInvalidProgramError("$", program, "must be an object");
  }
  if (program.version === 1) {
    return compileVersion1(program);
  }
  if (program.version === 2) {
    if (!Array.isArray(program.stages)) {
      throw new CodecInvalidProgramError(
        "stages",
        program.stages,
        "must be an array in a version 2 program",
      );
    }
    const stages = program.stages.map((stage: unknown, index) =>
      compileStage(stage, `stages[${index}]`),
    );
    return { kind: "stages", stages };
  }
  throw new CodecUnsupportedProgramVersionError(program.version);
}

/**
 * Splits `text` into pieces with a compiled alternation or stage program. Empty pieces are
 * dropped.
 *
 * @throws {@link CodecInvalidProgramError} for the metaspace program, which needs the map's
 *   encoder context and runs inside the BPE tokenizer
 */
export function runProgram(program: CompiledProgram, text: string): string[] {
  if (program.kind === "alternation") {
    const pieces: string[] = [];
    runAlternation(program.ops, text, pieces);
    return pieces;
  }
  if (program.kind === "metaspace") {
    throw new CodecInvalidProgramError(
      "ops[0]",
      "metaspace_split",
      "runs only inside a metaspace BPE tokenizer",
    );
  }

  let pieces = [text];
  for (const stage of program.stages) {
    const next: string[] = [];
    for (const piece of pieces) {
      runStage(stage, piece, next);
    }
    pieces = next;
  }
  return pieces.filter((piece) => piece.length > 0);
}

function compileVersion1(program: JsonObject): CompiledProgram {
  if (!Array.isArray(program.ops) || program.ops.length === 0) {
    throw new CodecInvalidProgramError(
      "ops",
      program.ops,
      "must be a non-empty array in a version 1 program",
    );
  }
  const first: unknown = program.ops[0];
  if (program.ops.length === 1 && isObject(first) && first.op === "metaspace_split") {
    if (first.prefix_first !== undefined && typeof first.prefix_first !== "boolean") {
      throw new CodecInvalidProgramError(
        "ops[0].prefix_first",
        first.prefix_first,
        "must be a boolean",
      );
    }
    return { kind: "metaspace", prefixFirst: first.prefix_first === true };
  }
  return { kind: "alternation", ops: compileOps(program.ops, "ops") };
}

function compileOps(ops: unknown[], path: string): AlternationOp[] {
  return ops.map((op: unknown, index) => {
    const opPath = `${path}[${index}]`;
    if (!isObject(op) || typeof op.op !== "string") {
      throw new CodecInvalidProgramError(opPath, op, `must be an object with an "op" name`);
    }
    if (op.op === "metaspace_split") {
      throw new CodecInvalidProgramError(
        `${opPath}.op`,
        op.op,
        "is valid only as the single op of a version 1 program",
      );
    }
    checkFields(op, op.op, OP_FIELDS, REQUIRED_OP_FIELDS, opPath, "op");
    return op as unknown as AlternationOp;
  });
}

function compileStage(stage: unknown, path: string): ProgramStage {
  if (!isObject(stage) || typeof stage.stage !== "string") {
    throw new CodecInvalidProgramError(path, stage, `must be an object with a "stage" name`);
  }
  checkFields(stage, stage.stage, STAGE_FIELDS, REQUIRED_STAGE_FIELDS, path, "stage");
  if (stage.stage === "alternation") {
    return { stage: "alternation", ops: compileOps(stage.ops as unknown[], `${path}.ops`) };
  }
  return stage as unknown as ProgramStage;
}

function checkFields(
  entry: JsonObject,
  name: string,
  allFields: Record<string, Record<string, (value: unknown) => boolean>>,
  requiredFields: Record<string, string[]>,
  path: string,
  kind: "op" | "stage",
): void {
  const fields = Object.hasOwn(allFields, name) ? allFields[name] : undefined;
  if (fields === undefined) {
    throw new CodecInvalidProgramError(`${path}.${kind}`, name, `is not a known ${kind}`);
  }
  for (const required of requiredFields[name] ?? []) {
    if (entry[required] === undefined) {
      throw new CodecInvalidProgramError(`${path}.${required}`, undefined, "is required");
    }
  }
  for (const [field, check] of Object.entries(fields)) {
    if (entry[field] !== undefined && !check(entry[field])) {
      throw new CodecInvalidProgramError(`${path}.${field}`, entry[field], "has an invalid value");
    }
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isBoolean(value: unknown): boolean {
  return typeof value === "boolean";
}

function isString(value: unknown): boolean {
  return typeof value === "string";
}

function isCount(value: unknown): boolean {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function isNonEmptyStringArray(value: unknown): boolean {
  return isStringArray(value) && (value as string[]).every((item) => item.length > 0);
}

function oneOf(...values: string[]): (value: unknown) => boolean {
  return (value) => typeof value === "string" && values.includes(value);
}
