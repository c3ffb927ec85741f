import type { Tokenizer } from "./bpe-tokenizer.js";
import { Detokenizer } from "./detokenizer.js";
import type { TokenizerMap } from "./tokenizer-map.js";
import { pickTokenizer } from "./tokenize.js";

/** Options of {@link translate}. */
export interface TranslateOptions {
  /**
   * Handling of a source special token whose literal string is not a special token of the
   * target map: `"drop"` it (the default, as rendering hides special tokens) or encode its
   * literal string as `"text"`.
   */
  unmappedSpecialTokens?: "drop" | "text";
  /**
   * Whether to drop the space a metaspace source puts before its first word. Defaults to true
   * for a metaspace source map, as the Hugging Face decoders of those models do, and false
   * otherwise.
   */
  stripLeadingSpace?: boolean;
}

/** Tokenizers are costly to build (they index the whole vocabulary), so one is kept per map. */
const tokenizers = new WeakMap<TokenizerMap, Tokenizer>();

function tokenizerFor(map: TokenizerMap): Tokenizer {
  let tokenizer = tokenizers.get(map);
  if (tokenizer === undefined) {
    tokenizer = pickTokenizer(map);
    tokenizers.set(map, tokenizer);
  }
  return tokenizer;
}

/**
 * Translates token IDs of one map into token IDs of another: the text between special tokens is
 * detokenized with `fromMap` and encoded again with `toMap`'s tokenizer.
 *
 * A special token is carried over by its literal string (for example `<|im_end|>`): when the
 * string is also a key of `toMap.special_tokens`, that ID is emitted. Otherwise the
 * `unmappedSpecialTokens` option decides. Text on either side of a special token is encoded as
 * a separate segment, so a metaspace target puts `▁` before each segment, as the Hugging Face
 * Llama 2 tokenizer does around special tokens.
 *
 * The result equals what `toMap`'s tokenizer gives for the decoded text. It differs from the
 * IDs a model of `toMap` would generate for the same text only where that model would not
 * produce canonical tokenization. Text that the source cannot represent exactly (a U+FFFD from
 * an unknown ID, for instance) carries over as rendered.
 *
 * @throws the errors of {@link BPETokenizer} when `toMap` has encoding data that cannot be used
 */
export function translate(
  ids: readonly number[],
  fromMap: TokenizerMap,
  toMap: TokenizerMap,
  options: TranslateOptions = {},
): number[] {
  const detokenizer = new Detokenizer(fromMap, {
    stripLeadingSpace: options.stripLeadingSpace ?? fromMap.encoder === "metaspace",
  });
  const tokenizer = tokenizerFor(toMap);
  const sourceSpecials = literalBySpecialId(fromMap);
  const targetSpecials = toMap.special_tokens ?? {};

  const out: number[] = [];
  let run: number[] = [];
  const flushRun = (): void => {
    if (run.length > 0) {
      append(out, tokenizer.encode(detokenizer.render(run)));
      run = [];
    }
  };

  for (const id of ids) {
    const literal = sourceSpecials.get(id);
    if (literal === undefined) {
      run.push(id);
      continue;
    }
    flushRun();
    if (Object.hasOwn(targetSpecials, literal)) {
      out.push(targetSpecials[literal] as number);
    } else if (options.unmappedSpecialTokens === "text") {
      append(out, tokenizer.encode(literal));
    }
  }
  flushRun();
  return out;
}

/** Literal string of each special token ID; the first name listed wins for a shared ID. */
function literalBySpecialId(map: TokenizerMap): Map<number, string> {
  const literals = new Map<number, string>();
  for (const [literal, id] of Object.entries(map.special_tokens ?? {})) {
    if (!literals.has(id)) {
      literals.set(id, literal);
    }
  }
  return literals;
}

/** Appends without spreading, which would overflow the call stack for very long arrays. */
function append(target: number[], source: readonly number[]): void {
  for (const id of source) {
    target.push(id);
  }
}
