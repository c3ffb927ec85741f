/**
 * Compiles a map's `pre_tokenizer_pattern`, a regex written for the Oniguruma engine of Hugging
 * Face tokenizers, into a JavaScript RegExp that splits text the same way.
 */
import { CodecInvalidPatternError } from "./tokenizer-errors.js";

/**
 * Compiles `pattern` with the `gv` flags, then `gu`, then `gu` after rewriting each `(?i:…)`
 * group into a non-capturing group with both cases of every ASCII letter spelled out, because
 * JavaScript engines before ES2025 (Node.js before 23) reject inline modifier groups.
 *
 * `\s` and `\S` are first rewritten to `\p{White_Space}` and `\P{White_Space}`, because that is
 * what they mean in Oniguruma. JavaScript's own `\s` excludes U+0085 and includes U+FEFF.
 *
 * NOTE: an engine that compiles `(?i:…)` natively folds case by Unicode rules, so `'ſ` (long s)
 * matches `'s` there, while the rewrite and the `literals_ci` program op match ASCII only.
 *
 * @throws {@link CodecInvalidPatternError} when no form compiles
 */
export function compilePreTokenizerPattern(pattern: string): RegExp {
  const unicodeWhiteSpace = rewriteEscapes(pattern, false);
  let lastError: unknown;
  for (const flags of ["gv", "gu"]) {
    try {
      return new RegExp(unicodeWhiteSpace, flags);
    } catch (error) {
      lastError = error;
    }
  }
  try {
    return new RegExp(rewriteEscapes(pattern, true), "gu");
  } catch (error) {
    lastError = error;
  }
  throw new CodecInvalidPatternError(pattern, lastError);
}

/**
 * Splits `text` as Hugging Face `Split(pattern, behavior: Isolated)` does: every non-empty
 * match is a piece, and so is each stretch of text between matches.
 */
export function splitByPattern(regex: RegExp, text: string): string[] {
  const pieces: string[] = [];
  let gapStart = 0;
  regex.lastIndex = 0;
  for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
    const matched = match[0];
    if (matched.length === 0) {
      // Step over one code point so a zero-width match cannot loop forever.
      regex.lastIndex = match.index + ((text.codePointAt(match.index) ?? 0) > 0xffff ? 2 : 1);
      continue;
    }
    if (match.index > gapStart) {
      pieces.push(text.slice(gapStart, match.index));
    }
    pieces.push(matched);
    gapStart = match.index + matched.length;
  }
  if (gapStart < text.length) {
    pieces.push(text.slice(gapStart));
  }
  return pieces;
}

/** Escapes whose argument is in braces: `\p{L}`, `\P{L}`, `\u{1F600}`. */
const BRACED_ESCAPES = new Set(["p", "P", "u"]);

/**
 * Rewrites `\s` and `\S`, and with `expandCaseInsensitive` every `(?i:…)` group. Escapes and
 * their arguments are copied whole so that, for example, the `L` of `\p{L}` is never expanded.
 *
 * NOTE: inside a `(?i:…)` group, letters in character classes are left as they are, because
 * no pre-tokenizer regex in use puts a class there.
 */
function rewriteEscapes(pattern: string, expandCaseInsensitive: boolean): string {
  let out = "";
  /** Nesting depth of groups at which each open `(?i:` group started. */
  const caseInsensitiveDepths: number[] = [];
  let depth = 0;
  let inClass = false;
  let index = 0;

  while (index < pattern.length) {
    const char = pattern[index] as string;

    if (char === "\\") {
      const escaped = readEscape(pattern, index);
      if (escaped === "\\s") {
        out += "\\p{White_Space}";
      } else if (escaped === "\\S") {
        out += "\\P{White_Space}";
      } else {
        out += escaped;
      }
      index += escaped.length;
      continue;
    }
    if (inClass) {
      inClass = char !== "]";
    } else if (char === "[") {
      inClass = true;
    } else if (char === "(") {
      depth++;
      if (expandCaseInsensitive && pattern.startsWith("(?i:", index)) {
        caseInsensitiveDepths.push(depth);
        out += "(?:";
        index += 4;
        continue;
      }
    } else if (char === ")") {
      if (caseInsensitiveDepths.at(-1) === depth) {
        caseInsensitiveDepths.pop();
      }
      depth--;
    } else if (caseInsensitiveDepths.length > 0 && /^[A-Za-z]$/.test(char)) {
      out += `[${char.toLowerCase()}${char.toUpperCase()}]`;
      index++;
      continue;
    }
    out += char;
    index++;
  }
  return out;
}

/** Returns the whole escape sequence that starts with the backslash at `index`. */
function readEscape(pattern: string, index: number): string {
  const letter = pattern[index + 1];
  if (letter === undefined) {
    return "\\";
  }
  if (BRACED_ESCAPES.has(letter) && pattern[index + 2] === "{") {
    const close = pattern.indexOf("}", index + 3);
    return close < 0 ? pattern.slice(index) : pattern.slice(index, close + 1);
  }
  if (letter === "x") {
    return pattern.slice(index, index + 4);
  }
  if (letter === "u") {
    return pattern.slice(index, index + 6);
  }
  if (letter === "c") {
    return pattern.slice(index, index + 3);
  }
  return pattern.slice(index, index + 2);
}
