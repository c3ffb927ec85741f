/**
 * Unicode character classes used by pre-tokenizer programs, taken from the runtime's regex
 * property escapes so that no Unicode tables ship with the library.
 *
 * Whitespace is the Unicode `White_Space` property, which is what `\s` means in the Oniguruma
 * regexes of Hugging Face tokenizers. JavaScript's `\s` differs on two code points: it excludes
 * U+0085 NEXT LINE and includes U+FEFF ZERO WIDTH NO-BREAK SPACE.
 */

const LETTER = /^\p{L}$/u;
const NUMBER = /^\p{N}$/u;
const MARK = /^\p{M}$/u;
const PUNCTUATION = /^\p{P}$/u;
const SYMBOL = /^\p{S}$/u;
const WHITE_SPACE = /^\p{White_Space}$/u;
const UPPER_CLUSTER = /^[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]$/u;
const LOWER_CLUSTER = /^[\p{Ll}\p{Lm}\p{Lo}\p{M}]$/u;

/** Bit flags of one code point's classes. */
export const CharClass = {
  letter: 1,
  number: 2,
  mark: 4,
  punctuation: 8,
  symbol: 16,
  whiteSpace: 32,
  upperCluster: 64,
  lowerCluster: 128,
  /** One of the 32 ASCII punctuation characters `!`-`/`, `:`-`@`, `[`-`` ` ``, `{`-`~`. */
  asciiPunctuation: 256,
} as const;

function classify(codePoint: number): number {
  const char = String.fromCodePoint(codePoint);
  let flags = 0;
  if (LETTER.test(char)) flags |= CharClass.letter;
  if (NUMBER.test(char)) flags |= CharClass.number;
  if (MARK.test(char)) flags |= CharClass.mark;
  if (PUNCTUATION.test(char)) flags |= CharClass.punctuation;
  if (SYMBOL.test(char)) flags |= CharClass.symbol;
  if (WHITE_SPACE.test(char)) flags |= CharClass.whiteSpace;
  if (UPPER_CLUSTER.test(char)) flags |= CharClass.upperCluster;
  if (LOWER_CLUSTER.test(char)) flags |= CharClass.lowerCluster;
  const asciiPunctuation =
    (codePoint >= 0x21 && codePoint <= 0x2f) ||
    (codePoint >= 0x3a && codePoint <= 0x40) ||
    (codePoint >= 0x5b && codePoint <= 0x60) ||
    (codePoint >= 0x7b && codePoint <= 0x7e);
  if (asciiPunctuation) flags |= CharClass.asciiPunctuation;
  return flags;
}

/** Marks a BMP entry that has not been classified yet. */
const UNCLASSIFIED = 0x8000;
/** Flags of BMP code points, filled in on first use of each code point. */
const bmpFlags = new Uint16Array(0x10000).fill(UNCLASSIFIED);
/** Flags of code points above U+FFFF, which are rare enough for a Map. */
const astralFlags = new Map<number, number>();

/** Returns the {@link CharClass} flags of a code point. */
export function charClasses(codePoint: number): number {
  if (codePoint <= 0xffff) {
    let flags = bmpFlags[codePoint] as number;
    if (flags === UNCLASSIFIED) {
      flags = classify(codePoint);
      bmpFlags[codePoint] = flags;
    }
    return flags;
  }
  let flags = astralFlags.get(codePoint);
  if (flags === undefined) {
    flags = classify(codePoint);
    astralFlags.set(codePoint, flags);
  }
  return flags;
}

/** Returns whether the code point has the Unicode `White_Space` property. */
export function isWhiteSpace(codePoint: number): boolean {
  return (charClasses(codePoint) & CharClass.whiteSpace) !== 0;
}

/** Returns whether the code point is CR or LF. */
export function isNewline(codePoint: number): boolean {
  return codePoint === 0x0a || codePoint === 0x0d;
}

/** Length in UTF-16 code units of a code point. */
export function unitLength(codePoint: number): number {
  return codePoint > 0xffff ? 2 : 1;
}
