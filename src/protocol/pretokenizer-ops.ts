/**
 * The ops of a pre-tokenizer program. Each op stands for one alternative of a GPT-2-family
 * pre-tokenizer regex and returns how many UTF-16 units it matches at a position (0 for no
 * match), with the same greedy and backtracking result the regex alternative gives.
 */
import type {
  AlternationOp,
  LettersCasedOp,
  LettersOp,
  PunctRunOp,
} from "./pretokenizer-op-types.js";
import { CharClass, charClasses, isNewline, isWhiteSpace, unitLength } from "./unicode-classes.js";

/** Returns the units the first matching op matches at `index`, or 0 when none matches. */
export function matchFirstOp(ops: readonly AlternationOp[], text: string, index: number): number {
  for (const op of ops) {
    const length = matchOp(op, text, index);
    if (length > 0) {
      return length;
    }
  }
  return 0;
}

function matchOp(op: AlternationOp, text: string, index: number): number {
  switch (op.op) {
    case "literals_ci":
      return matchLiterals(op.patterns, text, index, true);
    case "literals":
      return matchLiterals(op.patterns, text, index, false);
    case "letters":
      return withOptionalLead(text, index, leadTest(op), (at) => matchLetterBody(op, text, at));
    case "letters_cased":
      return withOptionalLead(text, index, op.lead_other === true ? leadOtherLN : undefined, (at) =>
        matchCasedBody(op, text, at),
      );
    case "numbers":
      return withOptionalLead(text, index, op.lead_space === true ? isSpace : undefined, (at) =>
        runLength(text, at, CharClass.number, op.max_run ?? 0),
      );
    case "punct_run":
      return matchPunctRun(op, text, index);
    case "punct_ascii_letters":
      return matchPunctAsciiLetters(text, index);
    case "newline_block":
      return matchNewlineBlock(text, index);
    case "trailing_ws":
      return matchTrailingWhiteSpace(text, index);
    case "ws_run":
      return whiteSpaceRunEnd(text, index) - index;
  }
}

/** Tests whether a code point may be the optional lead character. */
type LeadTest = (codePoint: number) => boolean;

const isSpace: LeadTest = (codePoint) => codePoint === 0x20;

const leadOtherLN: LeadTest = (codePoint) =>
  !isNewline(codePoint) && (charClasses(codePoint) & (CharClass.letter | CharClass.number)) === 0;

const leadOtherLPS: LeadTest = (codePoint) =>
  !isNewline(codePoint) &&
  (charClasses(codePoint) & (CharClass.letter | CharClass.punctuation | CharClass.symbol)) === 0;

function leadTest(op: LettersOp): LeadTest | undefined {
  if (op.lead_other === true) {
    return op.lead_other_class === "l_p_s" ? leadOtherLPS : leadOtherLN;
  }
  return op.lead_space === true ? isSpace : undefined;
}

/**
 * Matches `lead?body` as a backtracking regex does: with the lead character when it qualifies
 * and the body matches after it, else the body alone at `index`.
 */
function withOptionalLead(
  text: string,
  index: number,
  lead: LeadTest | undefined,
  body: (at: number) => number,
): number {
  if (index >= text.length) {
    return 0;
  }
  if (lead !== undefined) {
    const codePoint = text.codePointAt(index) as number;
    if (lead(codePoint)) {
      const after = index + unitLength(codePoint);
      const length = body(after);
      if (length > 0) {
        return after - index + length;
      }
    }
  }
  return body(index);
}

function matchLiterals(
  patterns: readonly string[],
  text: string,
  index: number,
  asciiCaseInsensitive: boolean,
): number {
  let best = 0;
  for (const pattern of patterns) {
    if (pattern.length <= best || index + pattern.length > text.length) {
      continue;
    }
    let matches = true;
    for (let k = 0; k < pattern.length && matches; k++) {
      const actual = text.charCodeAt(index + k);
      const expected = pattern.charCodeAt(k);
      matches =
        actual === expected ||
        (asciiCaseInsensitive && asciiLower(actual) === asciiLower(expected));
    }
    if (matches) {
      best = pattern.length;
    }
  }
  return best;
}

function asciiLower(unit: number): number {
  return unit >= 0x41 && unit <= 0x5a ? unit + 0x20 : unit;
}

/** Length of the run of code points having any of `classes`, capped at `maxCount` when it is above 0. */
function runLength(text: string, index: number, classes: number, maxCount: number): number {
  let position = index;
  let count = 0;
  while (position < text.length && (maxCount <= 0 || count < maxCount)) {
    const codePoint = text.codePointAt(position) as number;
    if ((charClasses(codePoint) & classes) === 0) {
      break;
    }
    position += unitLength(codePoint);
    count++;
  }
  return position - index;
}

function matchLetterBody(op: LettersOp, text: string, index: number): number {
  const classes = op.body === "L_M" ? CharClass.letter | CharClass.mark : CharClass.letter;
  return runLength(text, index, classes, 0);
}

function matchCasedBody(op: LettersCasedOp, text: string, index: number): number {
  // The greedy upper run may have to give back characters, because Lm, Lo and M belong to both
  // clusters. Each prefix end is tried from the longest down, as regex backtracking does.
  const prefixEnds = [index];
  let position = index;
  while (position < text.length) {
    const codePoint = text.codePointAt(position) as number;
    if ((charClasses(codePoint) & CharClass.upperCluster) === 0) {
      break;
    }
    position += unitLength(codePoint);
    prefixEnds.push(position);
  }

  const minPrefix = op.kind === "upper" ? 1 : 0;
  const minSuffix = op.kind === "title" ? 1 : 0;
  for (let k = prefixEnds.length - 1; k >= minPrefix; k--) {
    const suffixStart = prefixEnds[k] as number;
    let end = suffixStart;
    let suffixCount = 0;
    while (end < text.length) {
      const codePoint = text.codePointAt(end) as number;
      if ((charClasses(codePoint) & CharClass.lowerCluster) === 0) {
        break;
      }
      end += unitLength(codePoint);
      suffixCount++;
    }
    if (suffixCount < minSuffix) {
      continue;
    }
    end += matchLiterals(op.trailing_ci ?? [], text, end, true);
    return end - index;
  }
  return 0;
}

function matchPunctRun(op: PunctRunOp, text: string, index: number): number {
  const inRun =
    op.charset === "p_s"
      ? (classes: number) => (classes & (CharClass.punctuation | CharClass.symbol)) !== 0
      : (classes: number) =>
          (classes & (CharClass.whiteSpace | CharClass.letter | CharClass.number)) === 0;

  return withOptionalLead(text, index, op.lead_space === true ? isSpace : undefined, (at) => {
    let position = at;
    while (position < text.length) {
      const codePoint = text.codePointAt(position) as number;
      if (!inRun(charClasses(codePoint))) {
        break;
      }
      position += unitLength(codePoint);
    }
    if (position === at) {
      return 0;
    }
    const trailing = op.trailing_chars ?? (op.trailing_newlines === true ? "\r\n" : "");
    // Trailing characters are single UTF-16 units in every known program.
    while (position < text.length && trailing.includes(text.charAt(position))) {
      position++;
    }
    return position - at;
  });
}

function matchPunctAsciiLetters(text: string, index: number): number {
  if (
    index >= text.length ||
    (charClasses(text.charCodeAt(index)) & CharClass.asciiPunctuation) === 0
  ) {
    return 0;
  }
  let position = index + 1;
  while (position < text.length) {
    const unit = text.charCodeAt(position) | 0x20;
    if (unit < 0x61 || unit > 0x7a) {
      break;
    }
    position++;
  }
  return position === index + 1 ? 0 : position - index;
}

/** End of the run of White_Space code points that starts at `index`. */
function whiteSpaceRunEnd(text: string, index: number): number {
  let position = index;
  while (position < text.length) {
    const codePoint = text.codePointAt(position) as number;
    if (!isWhiteSpace(codePoint)) {
      break;
    }
    position += unitLength(codePoint);
  }
  return position;
}

/** `\s*[\r\n]+` backtracks the whitespace run to the end of its last newline. */
function matchNewlineBlock(text: string, index: number): number {
  const runEnd = whiteSpaceRunEnd(text, index);
  let end = runEnd;
  while (end > index && !isNewline(text.charCodeAt(end - 1))) {
    end--;
  }
  return end - index;
}

/**
 * `\s+(?!\S)` takes the whole run at the end of the text or before more whitespace, and
 * otherwise gives back the run's last code point, which leaves nothing when the run is one
 * code point long.
 */
function matchTrailingWhiteSpace(text: string, index: number): number {
  const runEnd = whiteSpaceRunEnd(text, index);
  if (runEnd === index || runEnd === text.length) {
    return runEnd - index;
  }
  // Every White_Space code point is in the BMP, so the last one is one UTF-16 unit.
  return runEnd - 1 - index;
}
