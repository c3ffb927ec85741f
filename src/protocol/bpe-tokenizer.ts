/*
 * Hand-written rather than built on a tokenizer library, because the encoder runs a Codec map
 * (its pre_tokenizer_program ops included) rather than a Hugging Face tokenizer.json. It also
 * has to stay small enough for a browser bundle with no WebAssembly or Node.js APIs.
 */
import { mergeSymbols } from "./bpe-merge.js";
import { BYTE_TO_CODE_POINT } from "./byte-level.js";
import { canSplitAtWords, metaspacePieces } from "./metaspace.js";
import { compilePreTokenizerPattern, splitByPattern } from "./pretokenizer-pattern.js";
import { compileProgram, runProgram } from "./pretokenizer-program.js";
import type { CompiledProgram } from "./pretokenizer-program.js";
import { SpecialTokenSplitter } from "./special-token-splitter.js";
import { CodecUnsupportedTokenizerError } from "./tokenizer-errors.js";
import type { TokenizerMap } from "./tokenizer-map.js";

/** Text to token IDs with one tokenizer map. */
export interface Tokenizer {
  /** The map id. */
  readonly id: string;
  /** Encodes `text` into token IDs. */
  encode(text: string): number[];
}

/** Options of {@link BPETokenizer}. */
export interface BPETokenizerOptions {
  /**
   * Whether special-token strings in the text (keys of `special_tokens`, such as `<|im_end|>`)
   * become their IDs. Defaults to false: they are encoded as ordinary text, as Codec clients do.
   * When true, the text between special tokens is encoded segment by segment, so a metaspace map
   * puts `▁` before each segment.
   */
  parseSpecialTokens?: boolean;
  /**
   * Unicode normalization applied to the text first. Maps do not record the normalizer, so set
   * this to match the source tokenizer, e.g. `"NFC"` for Qwen2. Defaults to none.
   */
  normalize?: "NFC" | "NFD" | "NFKC" | "NFKD";
  /** Most distinct pieces whose IDs are cached; the cache is emptied when it is full. Defaults to 16384. */
  cacheSize?: number;
}

/** Splits one text segment into pieces in vocabulary space, ready for BPE. */
type PieceSplitter = (text: string) => string[];

const utf8Encoder = new TextEncoder();

/** Byte-level character of each byte, as one-character strings. */
const BYTE_CHARS: readonly string[] = Array.from(BYTE_TO_CODE_POINT, (codePoint) =>
  String.fromCharCode(codePoint),
);

/**
 * Byte-pair encoding with a Codec map, for `byte_level` and `metaspace` maps that have `vocab`
 * and `merges`. It reproduces the token IDs of the Hugging Face tokenizer the map was built from,
 * called with `add_special_tokens=False`.
 *
 * byte_level text is split by the map's `pre_tokenizer_program` when it has one, else by its
 * `pre_tokenizer_pattern`. metaspace text gets `▁` for each space and one before the text, and
 * then BPE runs over it as a whole (see `metaspacePieces`). A symbol left outside the
 * vocabulary becomes its UTF-8 bytes as byte-fallback IDs when the map has that range, else the
 * `<unk>` special token when the map has one, else nothing.
 *
 * @example
 * ```ts
 * const ids = new BPETokenizer(map).encode("Hello, world!");
 * ```
 */
export class BPETokenizer implements Tokenizer {
  readonly id: string;
  readonly #vocab: Map<string, number>;
  readonly #ranks: Map<string, number>;
  readonly #byteLevel: boolean;
  readonly #splitPieces: PieceSplitter;
  readonly #fallbackStart: number | undefined;
  readonly #unknownId: number | undefined;
  readonly #specials: SpecialTokenSplitter | undefined;
  readonly #normalize: BPETokenizerOptions["normalize"];
  readonly #cache = new Map<string, number[]>();
  readonly #cacheSize: number;

  /** Returns whether `map` has what this tokenizer needs: `vocab`, non-empty `merges` and an encoder. */
  static supports(map: TokenizerMap): boolean {
    return (
      map.vocab !== undefined &&
      map.merges !== undefined &&
      map.merges.length > 0 &&
      (map.encoder === "byte_level" || map.encoder === "metaspace")
    );
  }

  /**
   * Prepares the vocabulary, merge ranks and pre-tokenizer of a validated map.
   *
   * @throws {@link CodecUnsupportedTokenizerError} when {@link BPETokenizer.supports} is false,
   *   when a byte_level map has neither a program nor a pattern, or when a metaspace map has a
   *   program other than `metaspace_split`
   * @throws {@link CodecUnsupportedProgramVersionError} or {@link CodecInvalidProgramError} for a bad program
   * @throws {@link CodecInvalidPatternError} for a pattern that does not compile
   */
  constructor(map: TokenizerMap, options: BPETokenizerOptions = {}) {
    if (!BPETokenizer.supports(map)) {
      throw new CodecUnsupportedTokenizerError(
        map.id,
        "BPE needs vocab, non-empty merges and encoder byte_level or metaspace. Use pickTokenizer(map) to fall back to LongestMatchTokenizer.",
      );
    }
    this.id = map.id;
    this.#vocab = new Map(Object.entries(map.vocab as Record<string, number>));
    this.#ranks = buildRanks(map.merges as string[]);
    this.#byteLevel = map.encoder === "byte_level";
    this.#fallbackStart = map.byte_fallback_start;
    this.#unknownId = map.special_tokens?.["<unk>"];
    this.#normalize = options.normalize;
    this.#cacheSize = options.cacheSize ?? 16384;
    this.#splitPieces = this.#byteLevel ? byteLevelSplitter(map) : this.#metaspaceSplitter(map);
    if (options.parseSpecialTokens === true) {
      this.#specials = new SpecialTokenSplitter(Object.entries(map.special_tokens ?? {}));
    }
  }

  /** Encodes `text` into token IDs. */
  encode(text: string): number[] {
    const ids: number[] = [];
    if (this.#specials === undefined || this.#specials.isEmpty) {
      this.#encodeSegment(text, ids);
      return ids;
    }
    for (const segment of this.#specials.split(text)) {
      if ("specialId" in segment) {
        ids.push(segment.specialId);
      } else {
        this.#encodeSegment(segment.text, ids);
      }
    }
    return ids;
  }

  #encodeSegment(text: string, ids: number[]): void {
    const normalized = this.#normalize === undefined ? text : text.normalize(this.#normalize);
    for (const piece of this.#splitPieces(normalized)) {
      let pieceIds = this.#cache.get(piece);
      if (pieceIds === undefined) {
        pieceIds = this.#encodePiece(piece);
        if (this.#cache.size >= this.#cacheSize) {
          this.#cache.clear();
        }
        this.#cache.set(piece, pieceIds);
      }
      for (const id of pieceIds) {
        ids.push(id);
      }
    }
  }

  #encodePiece(piece: string): number[] {
    const symbols = this.#byteLevel
      ? Array.from(utf8Encoder.encode(piece), (byte) => BYTE_CHARS[byte] as string)
      : Array.from(piece);
    const ids: number[] = [];
    for (const symbol of mergeSymbols(symbols, this.#ranks)) {
      const id = this.#vocab.get(symbol);
      if (id !== undefined) {
        ids.push(id);
      } else if (this.#fallbackStart !== undefined) {
        for (const byte of utf8Encoder.encode(symbol)) {
          ids.push(this.#fallbackStart + byte);
        }
      } else if (this.#unknownId !== undefined) {
        ids.push(this.#unknownId);
      }
      // NOTE: with neither fallback, the symbol is dropped. A valid byte_level map covers
      // every byte, so this happens only with a map that lacks single-byte tokens.
    }
    return ids;
  }

  #metaspaceSplitter(map: TokenizerMap): PieceSplitter {
    const program = map.pre_tokenizer_program;
    let prefix = true;
    if (program !== undefined && program !== null) {
      const compiled = compileProgram(program);
      if (compiled.kind !== "metaspace") {
        throw new CodecUnsupportedTokenizerError(
          map.id,
          "a metaspace map's pre_tokenizer_program must be the single metaspace_split op.",
        );
      }
      prefix = !compiled.prefixFirst;
    }
    const mergePairs = (map.merges as string[]).map(splitMerge);
    const splitAtWords = canSplitAtWords(this.#vocab.keys(), mergePairs);
    return (text) => metaspacePieces(text, prefix, splitAtWords);
  }
}

/** Rank of each merge, `"left right"` to its index. A repeated merge keeps its first index. */
function buildRanks(merges: readonly string[]): Map<string, number> {
  const ranks = new Map<string, number>();
  merges.forEach((merge, index) => {
    if (!ranks.has(merge)) {
      ranks.set(merge, index);
    }
  });
  return ranks;
}

function splitMerge(merge: string): readonly [string, string] {
  const space = merge.indexOf(" ", 1);
  return space < 0 ? [merge, ""] : [merge.slice(0, space), merge.slice(space + 1)];
}

function byteLevelSplitter(map: TokenizerMap): PieceSplitter {
  const program = map.pre_tokenizer_program;
  if (program !== undefined && program !== null) {
    const compiled: CompiledProgram = compileProgram(program);
    if (compiled.kind === "metaspace") {
      throw new CodecUnsupportedTokenizerError(
        map.id,
        "metaspace_split is not valid in a byte_level map.",
      );
    }
    return (text) => runProgram(compiled, text);
  }
  if (map.pre_tokenizer_pattern !== undefined) {
    const regex = compilePreTokenizerPattern(map.pre_tokenizer_pattern);
    return (text) => splitByPattern(regex, text);
  }
  throw new CodecUnsupportedTokenizerError(
    map.id,
    "a byte_level map needs a pre_tokenizer_program or a pre_tokenizer_pattern to encode text.",
  );
}
