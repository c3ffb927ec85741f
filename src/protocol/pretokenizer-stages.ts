/**
 * Stages of a version 2 pre-tokenizer program. Each stage splits one piece into pieces, and the
 * program applies every stage to every piece the previous stage produced, as the Hugging Face
 * `Sequence` pre-tokenizer does.
 */
import { matchFirstOp } from "./pretokenizer-ops.js";
import type { AlternationOp } from "./pretokenizer-op-types.js";
import { CharClass, charClasses, unitLength } from "./unicode-classes.js";

/**
 * Isolates numbers (`\p{N}`). `individual` makes each digit a piece, as Hugging Face
 * `Digits(individual_digits=true)` does. `grouped` keeps a run together, cut into pieces of at
 * most `max_run` digits when it is set.
 */
export interface DigitsIsolateStage {
  stage: "digits_isolate";
  mode: "individual" | "grouped";
  max_run?: number;
}

/**
 * Isolates non-overlapping windows of exactly three ASCII digits, scanned left to right, as
 * `Split("[0-9][0-9][0-9]", Isolated)` does. Leftover digits stay in the text around them.
 */
export interface DigitTriplesIsolateStage {
  stage: "digit_triples_isolate";
}

/** Splits runs of punctuation (ASCII punctuation or `\p{P}`) from the rest, as `Punctuation(Contiguous)` does. */
export interface PunctuationContiguousStage {
  stage: "punctuation_contiguous";
}

/** Isolates runs of U+4E00–U+9FA5, Hiragana U+3040–U+309F and Katakana U+30A0–U+30FF. */
export interface CjkIsolateStage {
  stage: "cjk_isolate";
}

/** Runs an op list over the piece, as a `Split(regex, Isolated)` of the alternation regex does. */
export interface AlternationStage {
  stage: "alternation";
  ops: AlternationOp[];
}

/** One stage of a version 2 program. */
export type ProgramStage =
  | DigitsIsolateStage
  | DigitTriplesIsolateStage
  | PunctuationContiguousStage
  | CjkIsolateStage
  | AlternationStage;

/** Appends the pieces of one stage applied to `piece` to `out`. */
export function runStage(stage: ProgramStage, piece: string, out: string[]): void {
  switch (stage.stage) {
    case "digits_isolate":
      splitDigits(stage, piece, out);
      return;
    case "digit_triples_isolate":
      splitDigitTriples(piece, out);
      return;
    case "punctuation_contiguous":
      splitRuns(piece, out, isPunctuation);
      return;
    case "cjk_isolate":
      splitRuns(piece, out, isCjk);
      return;
    case "alternation":
      runAlternation(stage.ops, piece, out);
  }
}

/**
 * Splits `text` into the pieces an op list matches. Where no op matches, the run of positions
 * up to the next match becomes one piece, as the text between two matches of a
 * `Split(…, Isolated)` regex does. Op lists compiled from exhaustive regexes match everywhere,
 * so this only happens after an earlier stage removed the characters an op would have matched.
 */
export function runAlternation(ops: readonly AlternationOp[], text: string, out: string[]): void {
  let index = 0;
  while (index < text.length) {
    const length = matchFirstOp(ops, text, index);
    if (length > 0) {
      out.push(text.slice(index, index + length));
      index += length;
      continue;
    }
    let end = index + unitLength(text.codePointAt(index) as number);
    while (end < text.length && matchFirstOp(ops, text, end) === 0) {
      end += unitLength(text.codePointAt(end) as number);
    }
    out.push(text.slice(index, end));
    index = end;
  }
}

function splitDigits(stage: DigitsIsolateStage, piece: string, out: string[]): void {
  const maxRun = stage.mode === "grouped" && stage.max_run !== undefined ? stage.max_run : 0;
  let textStart = 0;
  let index = 0;
  while (index < piece.length) {
    const codePoint = piece.codePointAt(index) as number;
    if ((charClasses(codePoint) & CharClass.number) === 0) {
      index += unitLength(codePoint);
      continue;
    }
    if (index > textStart) {
      out.push(piece.slice(textStart, index));
    }

    let runEnd = index;
    let count = 0;
    while (runEnd < piece.length) {
      const next = piece.codePointAt(runEnd) as number;
      const limitReached =
        stage.mode === "individual" ? count === 1 : maxRun > 0 && count === maxRun;
      if ((charClasses(next) & CharClass.number) === 0 || limitReached) {
        break;
      }
      runEnd += unitLength(next);
      count++;
    }
    out.push(piece.slice(index, runEnd));
    index = runEnd;
    textStart = runEnd;
  }
  if (textStart < piece.length) {
    out.push(piece.slice(textStart));
  }
}

function isAsciiDigit(unit: number): boolean {
  return unit >= 0x30 && unit <= 0x39;
}

function splitDigitTriples(piece: string, out: string[]): void {
  let textStart = 0;
  let index = 0;
  while (index + 3 <= piece.length) {
    const triple =
      isAsciiDigit(piece.charCodeAt(index)) &&
      isAsciiDigit(piece.charCodeAt(index + 1)) &&
      isAsciiDigit(piece.charCodeAt(index + 2));
    if (!triple) {
      index++;
      continue;
    }
    if (index > textStart) {
      out.push(piece.slice(textStart, index));
    }
    out.push(piece.slice(index, index + 3));
    index += 3;
    textStart = index;
  }
  if (textStart < piece.length) {
    out.push(piece.slice(textStart));
  }
}

function isPunctuation(codePoint: number): boolean {
  return (charClasses(codePoint) & (CharClass.asciiPunctuation | CharClass.punctuation)) !== 0;
}

function isCjk(codePoint: number): boolean {
  return (
    (codePoint >= 0x4e00 && codePoint <= 0x9fa5) ||
    (codePoint >= 0x3040 && codePoint <= 0x309f) ||
    (codePoint >= 0x30a0 && codePoint <= 0x30ff)
  );
}

/** Splits `piece` into maximal runs of code points that pass `test` and runs that do not. */
function splitRuns(piece: string, out: string[], test: (codePoint: number) => boolean): void {
  let runStart = 0;
  let runKind: boolean | undefined;
  let index = 0;
  while (index < piece.length) {
    const codePoint = piece.codePointAt(index) as number;
    const kind = test(codePoint);
    if (runKind !== undefined && kind !== runKind) {
      out.push(piece.slice(runStart, index));
      runStart = index;
    }
    runKind = kind;
    index += unitLength(codePoint);
  }
  if (runStart < piece.length) {
    out.push(piece.slice(runStart));
  }
}
