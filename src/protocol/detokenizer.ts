import { getDetokenizerTable, TokenKind } from "./detokenizer-table.js";
import type { DetokenizerTable } from "./detokenizer-table.js";
import type { TokenizerMap } from "./tokenizer-map.js";
import { incompleteTailLength } from "./utf8.js";

/** Options of {@link Detokenizer.render}. */
export interface RenderOptions {
  /**
   * Whether more IDs will follow. When true, bytes of a character that is not complete yet
   * are held for the next call. When false (the default), they are flushed as U+FFFD.
   * Pass `!frame.done` for each frame of a stream.
   */
  partial?: boolean;
  /** Whether to render special tokens as their literal strings. Defaults to false, which hides them. */
  renderSpecial?: boolean;
}

/** Options of the {@link Detokenizer} constructor. */
export interface DetokenizerOptions {
  /**
   * Whether to drop one space at the start of the rendered text, as the Hugging Face decoder of
   * Llama 2 and Mistral 7B (`Strip(start=1)`) does. A metaspace encoder puts `▁` before the
   * text, so IDs from `BPETokenizer` render back to the original text only with this set.
   * Applies to the first non-empty output after construction or {@link Detokenizer.reset}.
   * Defaults to false, which keeps the space as other Codec clients do.
   */
  stripLeadingSpace?: boolean;
}

const REPLACEMENT_CHARACTER = "\uFFFD";

/**
 * Turns token IDs into text with a tokenizer map, one frame at a time. It keeps state
 * between calls, so a character whose bytes span two frames comes out whole.
 *
 * Each ID is handled in this order:
 * 1. An ID in the byte-fallback range adds the byte `id - byte_fallback_start`, for every
 *    encoder.
 * 2. A special token flushes pending bytes and renders nothing, or its literal string with
 *    `renderSpecial`.
 * 3. A byte-level key, or a `<0xHH>` key of another encoder, adds its bytes. Bytes are
 *    emitted as soon as they form complete characters.
 * 4. A metaspace key (each U+2581 becomes a space), an identity key or a v1 `tokens` entry
 *    flushes pending bytes, then adds its text.
 * 5. An ID missing from the map flushes pending bytes, then adds U+FFFD.
 *
 * A flush turns incomplete bytes into U+FFFD. The leading space that a metaspace map puts
 * before the first word is kept unless the `stripLeadingSpace` option is set, while the Hugging
 * Face decoder of those models strips it.
 *
 * NOTE: invalid byte sequences become U+FFFD by the WHATWG decoding rules (one per maximal
 * invalid subpart), so the number of U+FFFD can differ from decoders that replace a whole
 * sequence.
 *
 * @example
 * ```ts
 * const detokenizer = new Detokenizer(map);
 * for await (const frame of decodeStream(response.body!, "msgpack")) {
 *   output.append(detokenizer.render(frame.ids, { partial: !frame.done }));
 * }
 * ```
 */
export class Detokenizer {
  readonly #table: DetokenizerTable;
  /** Bytes of a character that has not received all its bytes yet (at most 3). */
  readonly #pending = new Uint8Array(4);
  #pendingLength = 0;
  /** Scratch space to join pending bytes with the next token's bytes. */
  #scratch = new Uint8Array(64);
  /** Holds the one byte of a byte-fallback ID. */
  readonly #scratchByte = new Uint8Array(1);
  /** ignoreBOM keeps a U+FEFF at the start of a chunk, which TextDecoder drops by default. */
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  readonly #stripLeadingSpace: boolean;
  /** Whether no text has been rendered since construction or the last reset. */
  #atStart = true;

  /**
   * Creates a detokenizer over a validated map. The per-ID table is built once per map
   * object and shared by every detokenizer over that map.
   *
   * @throws {@link CodecInvalidMapError} when a token ID is above `MAX_DETOKENIZER_ID` (2^24 - 1)
   */
  constructor(map: TokenizerMap, options: DetokenizerOptions = {}) {
    this.#table = getDetokenizerTable(map);
    this.#stripLeadingSpace = options.stripLeadingSpace === true;
  }

  /**
   * Renders `ids` as text, continuing from the bytes left pending by earlier calls.
   *
   * @param ids - token IDs. Anything that is not an ID in the map renders as U+FFFD.
   */
  render(ids: readonly number[], options: RenderOptions = {}): string {
    const table = this.#table;
    const renderSpecial = options.renderSpecial === true;
    let text = "";

    for (const id of ids) {
      // `id >>> 0 === id` holds only for integers from 0 to 2^32 - 1.
      if (id >>> 0 === id && id >= table.fallbackStart && id <= table.fallbackEnd) {
        this.#scratchByte[0] = id - table.fallbackStart;
        text += this.#appendBytes(this.#scratchByte, 0, 1);
        continue;
      }

      switch (table.kinds[id] ?? TokenKind.unknown) {
        case TokenKind.bytes: {
          const standalone = table.texts[id];
          if (this.#pendingLength === 0 && standalone !== undefined) {
            text += standalone;
          } else {
            const start = table.byteStarts[id] as number;
            text += this.#appendBytes(table.bytePool, start, table.byteLengths[id] as number);
          }
          break;
        }
        case TokenKind.text:
          text += this.#flush() + (table.texts[id] as string);
          break;
        case TokenKind.special:
          text += this.#flush();
          if (renderSpecial) {
            text += table.texts[id] as string;
          }
          break;
        default:
          text += this.#flush() + REPLACEMENT_CHARACTER;
      }
    }

    if (options.partial !== true) {
      text += this.#flush();
    }
    if (this.#atStart && text.length > 0) {
      this.#atStart = false;
      if (this.#stripLeadingSpace && text.startsWith(" ")) {
        text = text.slice(1);
      }
    }
    return text;
  }

  /** Drops pending bytes and starts a new text. Call it between conversations that share a detokenizer. */
  reset(): void {
    this.#pendingLength = 0;
    this.#atStart = true;
  }

  /**
   * Appends bytes to the pending ones and returns the text of every complete character.
   * The bytes of a character still missing its continuation bytes stay pending.
   */
  #appendBytes(source: Uint8Array, start: number, length: number): string {
    const total = this.#pendingLength + length;
    if (this.#scratch.length < total) {
      this.#scratch = new Uint8Array(Math.max(total, this.#scratch.length * 2));
    }
    const scratch = this.#scratch;
    scratch.set(this.#pending.subarray(0, this.#pendingLength), 0);
    scratch.set(source.subarray(start, start + length), this.#pendingLength);

    const incomplete = incompleteTailLength(scratch, total);
    const text =
      total > incomplete ? this.#decoder.decode(scratch.subarray(0, total - incomplete)) : "";
    this.#pending.set(scratch.subarray(total - incomplete, total), 0);
    this.#pendingLength = incomplete;
    return text;
  }

  /** Emits the pending bytes, each incomplete sequence as U+FFFD. */
  #flush(): string {
    if (this.#pendingLength === 0) {
      return "";
    }
    const text = this.#decoder.decode(this.#pending.subarray(0, this.#pendingLength));
    this.#pendingLength = 0;
    return text;
  }
}
