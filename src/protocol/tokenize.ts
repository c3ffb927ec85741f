import { BPETokenizer } from "./bpe-tokenizer.js";
import type { BPETokenizerOptions, Tokenizer } from "./bpe-tokenizer.js";
import { SpecialTokenSplitter } from "./special-token-splitter.js";
import type { TokenizerMap } from "./tokenizer-map.js";

const utf8Encoder = new TextEncoder();

/**
 * Greedy longest-match encoding over the map's vocabulary keys (or v1 `tokens` texts), for maps
 * without merges such as identity or synthetic maps. It is not BPE: on a real model vocabulary
 * it can pick different tokens than the model's tokenizer.
 *
 * Special-token strings are matched first at each position, and a short v1 name such as `eos`
 * also matches as `<|eos|>`. Where no entry matches, the character becomes its UTF-8 bytes as
 * byte-fallback IDs when the map has that range, else the `<unk>` (or `unk`) special token, else
 * ID 0, which is what other Codec clients emit.
 */
export class LongestMatchTokenizer implements Tokenizer {
  readonly id: string;
  readonly #fragments = new Map<string, number>();
  readonly #maxLength: number;
  readonly #specials: SpecialTokenSplitter;
  readonly #fallbackStart: number | undefined;
  readonly #unknownId: number;

  /** Indexes the map's vocabulary, v1 texts and special tokens. */
  constructor(map: TokenizerMap) {
    this.id = map.id;
    let maxLength = 1;
    const add = (fragment: string, id: number): void => {
      if (fragment.length > 0 && !this.#fragments.has(fragment)) {
        this.#fragments.set(fragment, id);
        maxLength = Math.max(maxLength, fragment.length);
      }
    };
    for (const [fragment, id] of Object.entries(map.vocab ?? {})) {
      add(fragment, id);
    }
    for (const [id, fragment] of Object.entries(map.tokens ?? {})) {
      add(fragment, Number(id));
    }
    this.#maxLength = maxLength;

    const specials: [string, number][] = [];
    for (const [name, id] of Object.entries(map.special_tokens ?? {})) {
      specials.push([name, id]);
      if (!name.startsWith("<")) {
        specials.push([`<|${name}|>`, id]);
      }
    }
    this.#specials = new SpecialTokenSplitter(specials);
    this.#fallbackStart = map.byte_fallback_start;
    this.#unknownId = map.special_tokens?.["<unk>"] ?? map.special_tokens?.["unk"] ?? 0;
  }

  /** Encodes `text` into token IDs. */
  encode(text: string): number[] {
    const ids: number[] = [];
    let index = 0;
    while (index < text.length) {
      const special = this.#specials.matchAt(text, index);
      if (special !== undefined) {
        ids.push(special[1]);
        index += special[0];
        continue;
      }

      const matched = this.#longestFragmentAt(text, index);
      if (matched !== undefined) {
        ids.push(matched[1]);
        index += matched[0];
        continue;
      }

      const codePoint = text.codePointAt(index) as number;
      const char = String.fromCodePoint(codePoint);
      if (this.#fallbackStart !== undefined) {
        for (const byte of utf8Encoder.encode(char)) {
          ids.push(this.#fallbackStart + byte);
        }
      } else {
        ids.push(this.#unknownId);
      }
      index += char.length;
    }
    return ids;
  }

  #longestFragmentAt(text: string, index: number): [number, number] | undefined {
    for (let length = Math.min(this.#maxLength, text.length - index); length >= 1; length--) {
      const id = this.#fragments.get(text.slice(index, index + length));
      if (id !== undefined) {
        return [length, id];
      }
    }
    return undefined;
  }
}

/**
 * Returns the tokenizer for a map: {@link BPETokenizer} when the map has `vocab`, `merges` and
 * an encoder, else {@link LongestMatchTokenizer}.
 */
export function pickTokenizer(map: TokenizerMap, options: BPETokenizerOptions = {}): Tokenizer {
  return BPETokenizer.supports(map)
    ? new BPETokenizer(map, options)
    : new LongestMatchTokenizer(map);
}

/**
 * Encodes `text` with the tokenizer {@link pickTokenizer} chooses. Building a tokenizer indexes
 * the whole vocabulary, so keep one from `pickTokenizer` to encode many texts.
 */
export function tokenize(
  map: TokenizerMap,
  text: string,
  options: BPETokenizerOptions = {},
): number[] {
  return pickTokenizer(map, options).encode(text);
}
