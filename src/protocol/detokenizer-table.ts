import { CODE_POINT_TO_BYTE } from "./byte-level.js";
import { CodecInvalidMapError } from "./errors.js";
import type { TokenizerMap } from "./tokenizer-map.js";
import { isWellFormedUtf8, writeUtf8CodePoint } from "./utf8.js";

/** How the detokenizer renders an ID. */
export const TokenKind = {
  /** Not in the map: rendered as U+FFFD. */
  unknown: 0,
  /** Self-contained text: metaspace, identity and v1 `tokens` entries. */
  text: 1,
  /** Raw bytes that may continue or start a UTF-8 sequence: byte-level keys and `<0xHH>` keys. */
  bytes: 2,
  /** A special token: hidden unless the caller asks for it. */
  special: 3,
} as const;

/**
 * Everything the detokenizer needs per ID, in flat arrays indexed by ID so that a lookup
 * costs two array reads.
 */
export interface DetokenizerTable {
  /** One more than the highest ID in the map. */
  size: number;
  /** {@link TokenKind} of each ID. */
  kinds: Uint8Array;
  /**
   * Text of a `text` ID. For a `bytes` ID, the text of its bytes when they are complete UTF-8
   * on their own, which lets the renderer skip the byte path. For a `special` ID, the literal
   * special-token string.
   */
  texts: (string | undefined)[];
  /** Bytes of every `bytes` ID, back to back. */
  bytePool: Uint8Array;
  /** Offset of each `bytes` ID's bytes in `bytePool`. */
  byteStarts: Uint32Array;
  /** Length of each `bytes` ID's bytes. */
  byteLengths: Uint32Array;
  /** Inclusive byte-fallback range. An empty range (start > end) when the map has none. */
  fallbackStart: number;
  fallbackEnd: number;
}

/**
 * Highest token ID the detokenizer accepts in a map, 2^24 - 1. Its tables are dense arrays
 * indexed by ID, and real vocabularies stay below 300,000 IDs.
 */
export const MAX_DETOKENIZER_ID = 0xff_ffff;

const HEX_BYTE_KEY = /^<0x([0-9A-Fa-f]{2})>$/;
const METASPACE = "\u2581";

const tables = new WeakMap<TokenizerMap, DetokenizerTable>();
// ignoreBOM keeps a U+FEFF at the start of a token; by default TextDecoder drops it.
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Returns the table for `map`, building it on first use. Tables are cached per map object,
 * so every detokenizer over one map shares a single table.
 *
 * @throws {@link CodecInvalidMapError} when an ID exceeds {@link MAX_DETOKENIZER_ID}
 */
export function getDetokenizerTable(map: TokenizerMap): DetokenizerTable {
  let table = tables.get(map);
  if (table === undefined) {
    table = buildTable(map);
    tables.set(map, table);
  }
  return table;
}

function buildTable(map: TokenizerMap): DetokenizerTable {
  const size = highestId(map) + 1;
  const table: DetokenizerTable = {
    size,
    kinds: new Uint8Array(size),
    texts: new Array<string | undefined>(size),
    bytePool: new Uint8Array(0),
    byteStarts: new Uint32Array(size),
    byteLengths: new Uint32Array(size),
    fallbackStart: map.byte_fallback_start ?? 1,
    fallbackEnd: map.byte_fallback_end ?? 0,
  };

  if (map.vocab !== undefined) {
    if (map.encoder === "byte_level") {
      addByteLevelVocab(table, map.vocab);
    } else {
      addTextVocab(table, map.vocab, map.encoder === "metaspace");
    }
  } else if (map.tokens !== undefined) {
    for (const key in map.tokens) {
      table.kinds[Number(key)] = TokenKind.text;
      table.texts[Number(key)] = map.tokens[key];
    }
  }

  for (const name in map.special_tokens ?? {}) {
    const id = (map.special_tokens as Record<string, number>)[name] as number;
    if (table.kinds[id] === TokenKind.special) {
      continue;
    }
    // A v1 map may name a special token "eos" and keep its text in `tokens`.
    const v1Text = map.vocab === undefined ? map.tokens?.[String(id)] : undefined;
    table.kinds[id] = TokenKind.special;
    table.texts[id] = v1Text ?? name;
  }
  return table;
}

function highestId(map: TokenizerMap): number {
  let highest = map.byte_fallback_end ?? 0;
  for (const table of [map.vocab, map.special_tokens]) {
    for (const key in table ?? {}) {
      highest = Math.max(highest, (table as Record<string, number>)[key] as number);
    }
  }
  if (map.vocab === undefined) {
    for (const key in map.tokens ?? {}) {
      highest = Math.max(highest, Number(key));
    }
  }

  if (highest > MAX_DETOKENIZER_ID) {
    throw new CodecInvalidMapError(
      "vocab",
      highest,
      `has token ID ${highest}, above the detokenizer's limit of ${MAX_DETOKENIZER_ID}`,
    );
  }
  return highest;
}

/** Turns each byte-level key back into bytes, written straight into the shared pool. */
function addByteLevelVocab(table: DetokenizerTable, vocab: Record<string, number>): void {
  let pool = new Uint8Array(1 << 20);
  let used = 0;

  for (const key in vocab) {
    const id = vocab[key] as number;
    // Each UTF-16 unit yields at most 3 bytes (a surrogate pair yields 4 for 2 units).
    if (used + key.length * 3 > pool.length) {
      const grown = new Uint8Array(Math.max(pool.length * 2, used + key.length * 3));
      grown.set(pool.subarray(0, used));
      pool = grown;
    }

    const start = used;
    let ascii = true;
    for (let i = 0; i < key.length; i++) {
      const unit = key.charCodeAt(i);
      const byte = unit < CODE_POINT_TO_BYTE.length ? (CODE_POINT_TO_BYTE[unit] as number) : -1;
      if (byte >= 0) {
        pool[used++] = byte;
        ascii &&= byte < 0x80;
        continue;
      }
      // Outside the table: the character contributes its own UTF-8 bytes.
      let codePoint = key.codePointAt(i) as number;
      if (codePoint > 0xffff) {
        i++;
      } else if (codePoint >= 0xd800 && codePoint <= 0xdfff) {
        codePoint = 0xfffd;
      }
      used = writeUtf8CodePoint(codePoint, pool, used);
      ascii &&= codePoint < 0x80;
    }

    table.kinds[id] = TokenKind.bytes;
    table.byteStarts[id] = start;
    table.byteLengths[id] = used - start;
    table.texts[id] = standaloneText(pool, start, used, ascii);
  }
  table.bytePool = pool.subarray(0, used);
}

/** Adds metaspace or identity keys as text, and `<0xHH>` keys as the single byte they name. */
function addTextVocab(
  table: DetokenizerTable,
  vocab: Record<string, number>,
  metaspace: boolean,
): void {
  const pool: number[] = [];
  for (const key in vocab) {
    const id = vocab[key] as number;
    const hexByte = HEX_BYTE_KEY.exec(key);
    if (hexByte !== null) {
      const byte = Number.parseInt(hexByte[1] as string, 16);
      table.kinds[id] = TokenKind.bytes;
      table.byteStarts[id] = pool.length;
      table.byteLengths[id] = 1;
      table.texts[id] = byte < 0x80 ? String.fromCharCode(byte) : undefined;
      pool.push(byte);
      continue;
    }
    table.kinds[id] = TokenKind.text;
    table.texts[id] = metaspace && key.includes(METASPACE) ? key.replaceAll(METASPACE, " ") : key;
  }
  table.bytePool = Uint8Array.from(pool);
}

/** Text of a byte run that is complete UTF-8 on its own, or undefined if it is not. */
function standaloneText(
  pool: Uint8Array,
  start: number,
  end: number,
  ascii: boolean,
): string | undefined {
  // Spreading a long run into arguments could overflow the stack, so long runs use the decoder.
  if (ascii && end - start <= 256) {
    return String.fromCharCode(...pool.subarray(start, end));
  }
  return isWellFormedUtf8(pool, start, end)
    ? utf8Decoder.decode(pool.subarray(start, end))
    : undefined;
}
