/**
 * Comparison of two tokenizer maps by behaviour: whether they render the same text for each
 * token ID both have, and encode the same texts to the same IDs. It checks a map built here from
 * a tokenizer.json against a published map of the same tokenizer.
 */
import { Detokenizer } from "../protocol/detokenizer.js";
import type { TokenizerMap } from "../protocol/tokenizer-map.js";
import { pickTokenizer } from "../protocol/tokenize.js";

/**
 * Texts encoded when the caller gives none: prose, contractions, code, digits, whitespace runs,
 * accented and CJK text, emoji with joiners, characters outside the BMP, and a special-token
 * string that must stay text.
 */
export const DEFAULT_COMPARE_TEXTS: readonly string[] = [
  "Hello, world!",
  "The quick brown fox jumps over the lazy dog.",
  "I'm sure they've done it; we'll see, you'd think.",
  "def square(x):\n    return x ** 2  # comment\n",
  "12345 67890 3.14159 1,000,000",
  "  two leading spaces,\ttabs\n\nand blank lines   ",
  "Ünïcödé — 日本語のテキスト and 한국어",
  "emoji 🎉 with joiners 👩‍👩‍👧‍👦 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "<|endoftext|> stays text",
];

/** Maximum number of differences listed. The rest are only counted. */
const LISTED_DIFFERENCES = 10;

/** One token ID that the two maps render differently. */
export interface DecodeDifference {
  id: number;
  first: string;
  second: string;
}

/** One text that the two maps encode to different IDs. */
export interface EncodeDifference {
  text: string;
  first: number[];
  second: number[];
}

/** The result of {@link compareMaps}. */
export interface MapComparison {
  /** IDs compared: those below both maps' `vocab_size`. */
  sharedIds: number;
  decodeDifferenceCount: number;
  /** The first differences, up to 10. */
  decodeDifferences: DecodeDifference[];
  textCount: number;
  encodeDifferenceCount: number;
  encodeDifferences: EncodeDifference[];
}

/**
 * Compares two maps: each ID below both vocabulary sizes is rendered alone, special tokens as
 * their strings, and each text is encoded with both maps' tokenizers.
 */
export function compareMaps(
  first: TokenizerMap,
  second: TokenizerMap,
  texts: readonly string[] = DEFAULT_COMPARE_TEXTS,
): MapComparison {
  const sharedIds = Math.min(first.vocab_size, second.vocab_size);
  const firstDetokenizer = new Detokenizer(first);
  const secondDetokenizer = new Detokenizer(second);
  const decodeDifferences: DecodeDifference[] = [];
  let decodeDifferenceCount = 0;
  for (let id = 0; id < sharedIds; id++) {
    const firstText = firstDetokenizer.render([id], { partial: false, renderSpecial: true });
    const secondText = secondDetokenizer.render([id], { partial: false, renderSpecial: true });
    if (firstText === secondText) continue;
    decodeDifferenceCount++;
    if (decodeDifferences.length < LISTED_DIFFERENCES) {
      decodeDifferences.push({ id, first: firstText, second: secondText });
    }
  }

  const firstTokenizer = pickTokenizer(first);
  const secondTokenizer = pickTokenizer(second);
  const encodeDifferences: EncodeDifference[] = [];
  for (const text of texts) {
    const firstIds = firstTokenizer.encode(text);
    const secondIds = secondTokenizer.encode(text);
    if (firstIds.length === secondIds.length && firstIds.every((id, i) => id === secondIds[i])) {
      continue;
    }
    encodeDifferences.push({ text, first: firstIds, second: secondIds });
  }

  return {
    sharedIds,
    decodeDifferenceCount,
    decodeDifferences,
    textCount: texts.length,
    encodeDifferenceCount: encodeDifferences.length,
    encodeDifferences: encodeDifferences.slice(0, LISTED_DIFFERENCES),
  };
}

/** Formats a comparison as the lines `codec-serve map compare` prints. */
export function formatComparison(comparison: MapComparison): string[] {
  const lines = [
    `decode: ${comparison.sharedIds} shared IDs, ${comparison.decodeDifferenceCount} render differently`,
  ];
  for (const difference of comparison.decodeDifferences) {
    lines.push(
      `  ID ${difference.id}: ${JSON.stringify(difference.first)} vs ${JSON.stringify(difference.second)}`,
    );
  }
  lines.push(
    `encode: ${comparison.textCount} texts, ${comparison.encodeDifferenceCount} encode differently`,
  );
  for (const difference of comparison.encodeDifferences) {
    lines.push(
      `  ${JSON.stringify(difference.text)}: [${difference.first.join(" ")}] vs [${difference.second.join(" ")}]`,
    );
  }
  return lines;
}
