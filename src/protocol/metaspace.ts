/**
 * Text preparation for SentencePiece-style (metaspace) BPE, matching the Hugging Face
 * `tokenizer.json` of Llama 2 and Mistral 7B. There the normalizer puts `▁` (U+2581) before the
 * text and replaces every U+0020 with `▁`. BPE then runs over the whole result, because there is
 * no pre-tokenizer. Runs of spaces therefore stay in the text and merge into tokens such as
 * `▁▁`, and tabs and newlines reach BPE unchanged (usually ending as byte-fallback tokens).
 */

/** U+2581 LOWER ONE EIGHTH BLOCK, the metaspace character that stands for a space. */
export const METASPACE = "\u2581";

const ANY_SPACE = / /g;
/** A character other than `▁` directly followed by `▁`. */
const INNER_METASPACE = /[^\u2581]\u2581/u;

/**
 * Converts text into pieces in vocabulary space: spaces become `▁`, `prefix` puts one `▁`
 * before non-empty text, and with `splitAtWords` the result is cut before each `▁` that follows
 * another character.
 *
 * Cutting only speeds up BPE (and lets pieces be cached). It leaves the IDs unchanged when no
 * vocabulary token or merge result contains a character followed by `▁`, because then no
 * merge can join symbols across the cut; {@link canSplitAtWords} checks that.
 */
export function metaspacePieces(text: string, prefix: boolean, splitAtWords: boolean): string[] {
  if (text.length === 0) {
    return [];
  }
  const normalized = (prefix ? METASPACE : "") + text.replace(ANY_SPACE, METASPACE);
  if (!splitAtWords) {
    return [normalized];
  }

  const pieces: string[] = [];
  let start = 0;
  for (let index = 1; index < normalized.length; index++) {
    if (normalized[index] === METASPACE && normalized[index - 1] !== METASPACE) {
      pieces.push(normalized.slice(start, index));
      start = index;
    }
  }
  pieces.push(normalized.slice(start));
  return pieces;
}

/**
 * Returns whether cutting before word-initial `▁` is exact for this vocabulary and merge list:
 * no token and no merge result has a `▁` after another character. SentencePiece vocabularies
 * trained with whitespace splitting (Llama 2, Mistral) pass.
 */
export function canSplitAtWords(
  vocab: Iterable<string>,
  merges: Iterable<readonly [string, string]>,
): boolean {
  for (const token of vocab) {
    if (INNER_METASPACE.test(token)) {
      return false;
    }
  }
  for (const [left, right] of merges) {
    if (INNER_METASPACE.test(left + right)) {
      return false;
    }
  }
  return true;
}
