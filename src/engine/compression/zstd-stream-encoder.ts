/**
 * A streaming zstd compressor (RFC 8878) that writes one frame per response and can flush
 * after every Codec frame.
 *
 * It is written by hand because no npm package offers streaming zstd compression with both a
 * dictionary and an explicit flush on Node 20 without a native build at install time: zstd-napi
 * and @mongodb-js/zstd download prebuilt binaries from GitHub, @toondepauw/node-zstd and the
 * wasm builds (@bokuweb/zstd-wasm, @hpcc-js/wasm-zstd) compress whole buffers only, and
 * zstd-codec's stream binding has no real flush. Node's own zlib gains zstd only in Node 22.15.
 *
 * The encoder is deliberately simple. Matches are found with a hash of 4-byte sequences over
 * the dictionary content and the output so far, literals are stored raw, and the sequences use
 * the predefined FSE tables, so no entropy table is ever transmitted. Any conforming zstd
 * decoder reads the output. Its ratio is below the reference library's on large inputs, but on
 * Codec streams, where almost every byte repeats an earlier frame or the dictionary, the
 * matches carry nearly all of the gain.
 */
import type { ZstdDictionary } from "./zstd-dictionary.js";

/** Window size declared in the frame header: 1 MiB (window log 20). */
const WINDOW_LOG = 20;
const WINDOW_SIZE = 1 << WINDOW_LOG;
/** Largest block content, in bytes. */
const MAX_BLOCK_SIZE = 128 * 1024;
const MIN_MATCH = 4;
const HASH_BITS = 16;
/** Candidates examined per position; more finds longer matches at a higher CPU cost. */
const MAX_CHAIN_DEPTH = 16;

const BLOCK_TYPE_RAW = 0;
const BLOCK_TYPE_COMPRESSED = 2;
/** The last block of every frame: empty, raw, with the last-block flag set. */
const LAST_EMPTY_BLOCK = Uint8Array.of(0x01, 0x00, 0x00);

interface Sequence {
  literalLength: number;
  matchLength: number;
  offset: number;
}

/**
 * Compresses one stream into a single zstd frame. Call `push` for each piece of the body: it
 * returns compressed bytes that decode to everything pushed so far, so the receiver can decode
 * each Codec frame as soon as it arrives. Call `finish` once at the end.
 */
export class ZstdStreamEncoder {
  readonly #dictionary: ZstdDictionary;
  /** Dictionary content followed by the output so far, trimmed to the window. */
  #history: Uint8Array;
  #historyLength: number;
  /** Absolute stream position of `#history[0]`, dictionary content included. */
  #historyStart = 0;
  /** Positions at or after this one are not in the hash table yet. */
  #hashedUpTo = 0;
  /** Most recent absolute position per hash, or -1. */
  readonly #head = new Int32Array(1 << HASH_BITS).fill(-1);
  /** Previous position with the same hash, indexed by absolute position modulo the window. */
  readonly #chain = new Int32Array(WINDOW_SIZE).fill(-1);
  #headerWritten = false;
  #finished = false;

  constructor(dictionary: ZstdDictionary) {
    this.#dictionary = dictionary;
    const content = dictionary.content.subarray(
      Math.max(0, dictionary.content.length - WINDOW_SIZE / 2),
    );
    this.#history = new Uint8Array(Math.max(content.length * 2, 64 * 1024));
    this.#history.set(content);
    this.#historyLength = content.length;
  }

  /** Compresses `data` and flushes it, returning a complete block (or the frame header and a block). */
  push(data: Uint8Array): Uint8Array {
    if (this.#finished) throw new Error("the zstd stream is already finished");
    const parts: Uint8Array[] = [];
    if (!this.#headerWritten) {
      parts.push(this.#frameHeader());
      this.#headerWritten = true;
    }
    for (let start = 0; start < data.length; start += MAX_BLOCK_SIZE) {
      parts.push(this.#block(data.subarray(start, Math.min(data.length, start + MAX_BLOCK_SIZE))));
    }
    return concat(parts);
  }

  /** Ends the frame. */
  finish(): Uint8Array {
    if (this.#finished) return new Uint8Array(0);
    this.#finished = true;
    const header = this.#headerWritten ? new Uint8Array(0) : this.#frameHeader();
    return concat([header, LAST_EMPTY_BLOCK]);
  }

  #frameHeader(): Uint8Array {
    const hasId = this.#dictionary.id !== 0;
    const header = new Uint8Array(hasId ? 10 : 6);
    const view = new DataView(header.buffer);
    view.setUint32(0, 0xfd2fb528, true);
    // Frame header descriptor: no content size, no checksum, multi-segment, 4-byte dictionary ID.
    header[4] = hasId ? 0x03 : 0x00;
    // Window descriptor: exponent (window log - 10) in the high 5 bits, mantissa 0.
    header[5] = (WINDOW_LOG - 10) << 3;
    if (hasId) view.setUint32(6, this.#dictionary.id, true);
    return header;
  }

  #block(data: Uint8Array): Uint8Array {
    const blockStart = this.#append(data);
    const blockEnd = blockStart + data.length;
    const compressed = this.#compressBlock(blockStart, blockEnd);

    const raw = compressed === undefined || compressed.length >= data.length;
    const content = raw ? data : compressed;
    const header = blockHeader(content.length, raw ? BLOCK_TYPE_RAW : BLOCK_TYPE_COMPRESSED);
    return concat([header, content]);
  }

  /** Appends bytes to the history, sliding the window when needed; returns their absolute start. */
  #append(data: Uint8Array): number {
    if (this.#historyLength + data.length > this.#history.length) {
      const keep = Math.min(this.#historyLength, WINDOW_SIZE - data.length - MAX_BLOCK_SIZE);
      const needed = keep + data.length;
      const next = new Uint8Array(
        Math.min(Math.max(needed * 2, this.#history.length), WINDOW_SIZE * 2),
      );
      next.set(this.#history.subarray(this.#historyLength - keep, this.#historyLength));
      this.#historyStart += this.#historyLength - keep;
      this.#history = next;
      this.#historyLength = keep;
    }
    const start = this.#historyStart + this.#historyLength;
    this.#history.set(data, this.#historyLength);
    this.#historyLength += data.length;
    return start;
  }

  #byteAt(position: number): number {
    return this.#history[position - this.#historyStart]!;
  }

  #hashAt(position: number): number {
    const index = position - this.#historyStart;
    const h = this.#history;
    const value = h[index]! | (h[index + 1]! << 8) | (h[index + 2]! << 16) | (h[index + 3]! << 24);
    return Math.imul(value, 0x9e3779b1) >>> (32 - HASH_BITS);
  }

  /** Adds every position before `limit` to the hash table. Callers only pass limits whose 4 bytes are known. */
  #indexBefore(limit: number): void {
    for (
      let position = Math.max(this.#hashedUpTo, this.#historyStart);
      position < limit;
      position++
    ) {
      const hash = this.#hashAt(position);
      this.#chain[position % WINDOW_SIZE] = this.#head[hash]!;
      this.#head[hash] = position;
    }
    this.#hashedUpTo = Math.max(this.#hashedUpTo, limit);
  }

  #compressBlock(start: number, end: number): Uint8Array | undefined {
    const sequences: Sequence[] = [];
    const literals: number[] = [];
    let literalStart = start;
    let position = start;
    while (position + MIN_MATCH <= end) {
      // Only earlier positions may be match candidates, so the table grows as the parse advances.
      this.#indexBefore(position);
      const match = this.#findMatch(position, end);
      if (match === undefined) {
        position++;
        continue;
      }
      for (let p = literalStart; p < position; p++) literals.push(this.#byteAt(p));
      sequences.push({
        literalLength: position - literalStart,
        matchLength: match.length,
        offset: match.offset,
      });
      position += match.length;
      literalStart = position;
    }
    for (let p = literalStart; p < end; p++) literals.push(this.#byteAt(p));
    this.#indexBefore(end - MIN_MATCH + 1);

    if (sequences.length === 0) return undefined;
    return concat([literalsSection(literals), sequencesSection(sequences)]);
  }

  #findMatch(position: number, end: number): { length: number; offset: number } | undefined {
    const minimumPosition = Math.max(this.#historyStart, position - WINDOW_SIZE + 1);
    let candidate = this.#head[this.#hashAt(position)]!;
    let best: { length: number; offset: number } | undefined;
    for (
      let depth = 0;
      depth < MAX_CHAIN_DEPTH && candidate >= minimumPosition && candidate < position;
      depth++
    ) {
      let length = 0;
      while (
        position + length < end &&
        this.#byteAt(candidate + length) === this.#byteAt(position + length)
      )
        length++;
      if (length >= MIN_MATCH && (best === undefined || length > best.length)) {
        best = { length, offset: position - candidate };
      }
      const previous = this.#chain[candidate % WINDOW_SIZE]!;
      if (previous >= candidate) break;
      candidate = previous;
    }
    return best;
  }
}

function blockHeader(size: number, type: number): Uint8Array {
  const value = size * 8 + type * 2;
  return Uint8Array.of(value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff);
}

/** A raw literals section: a 1-, 2- or 3-byte header, then the bytes. */
function literalsSection(literals: number[]): Uint8Array {
  const size = literals.length;
  let header: number[];
  if (size < 32) header = [size << 3];
  else if (size < 4096) header = [((size & 0x0f) << 4) | 0b0100, size >> 4];
  else header = [((size & 0x0f) << 4) | 0b1100, (size >> 4) & 0xff, size >> 12];
  return Uint8Array.from([...header, ...literals]);
}

function sequencesSection(sequences: Sequence[]): Uint8Array {
  const count = sequences.length;
  let header: number[];
  if (count < 128) header = [count];
  else if (count < 0x7f00) header = [(count >> 8) + 0x80, count & 0xff];
  else header = [0xff, (count - 0x7f00) & 0xff, (count - 0x7f00) >> 8];
  // Compression modes: predefined distributions for literal lengths, offsets and match lengths.
  header.push(0x00);
  return concat([Uint8Array.from(header), encodeSequences(sequences)]);
}

/** Code, baseline and extra-bit count of a literal length, match length or offset. */
interface Coded {
  code: number;
  extra: number;
  extraBits: number;
}

const LITERAL_LENGTH_BASELINES = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128,
  256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536,
];
const LITERAL_LENGTH_BITS = [
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12,
  13, 14, 15, 16,
];
const MATCH_LENGTH_BASELINES = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
  29, 30, 31, 32, 33, 34, 35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051,
  4099, 8195, 16387, 32771, 65539,
];
const MATCH_LENGTH_BITS = [
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
];

function codeFor(value: number, baselines: readonly number[], bits: readonly number[]): Coded {
  let code = baselines.length - 1;
  while (baselines[code]! > value) code--;
  return { code, extra: value - baselines[code]!, extraBits: bits[code]! };
}

function offsetCode(offset: number): Coded {
  // Offset values 1 to 3 name repeat offsets, so a plain offset is sent as offset + 3.
  const value = offset + 3;
  const code = 31 - Math.clz32(value);
  return { code, extra: value - 2 ** code, extraBits: code };
}

/** The predefined normalized distributions of RFC 8878 (accuracy logs 6, 6 and 5). */
const LITERAL_LENGTH_TABLE = buildEncodingTable(
  [
    4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1,
    -1, -1, -1, -1,
  ],
  6,
);
const MATCH_LENGTH_TABLE = buildEncodingTable(
  [
    1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1,
  ],
  6,
);
const OFFSET_TABLE = buildEncodingTable(
  [1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1],
  5,
);

/** An FSE encoding table: the state table and, per symbol, the two transform values. */
interface EncodingTable {
  accuracyLog: number;
  states: Uint16Array;
  deltaBits: number[];
  deltaState: number[];
}

/**
 * Builds an FSE encoding table from a normalized distribution, spreading symbols over the
 * states exactly as a decoder builds its decoding table: "less than 1" symbols (-1) take the
 * highest states, the others are spread with the step (size / 2 + size / 8 + 3).
 */
function buildEncodingTable(distribution: readonly number[], accuracyLog: number): EncodingTable {
  const size = 1 << accuracyLog;
  const symbolAtState = new Array<number>(size);
  let highThreshold = size - 1;
  const cumulative = new Array<number>(distribution.length + 1).fill(0);
  for (let symbol = 0; symbol < distribution.length; symbol++) {
    const probability = distribution[symbol]!;
    if (probability === -1) {
      cumulative[symbol + 1] = cumulative[symbol]! + 1;
      symbolAtState[highThreshold--] = symbol;
    } else {
      cumulative[symbol + 1] = cumulative[symbol]! + probability;
    }
  }

  const step = (size >> 1) + (size >> 3) + 3;
  let position = 0;
  for (let symbol = 0; symbol < distribution.length; symbol++) {
    for (let occurrence = 0; occurrence < distribution[symbol]!; occurrence++) {
      symbolAtState[position] = symbol;
      do position = (position + step) & (size - 1);
      while (position > highThreshold);
    }
  }

  const states = new Uint16Array(size);
  const next = cumulative.slice();
  for (let state = 0; state < size; state++) {
    const symbol = symbolAtState[state]!;
    states[next[symbol]!++] = size + state;
  }

  const deltaBits: number[] = [];
  const deltaState: number[] = [];
  let total = 0;
  for (const probability of distribution) {
    if (probability === -1 || probability === 1) {
      deltaBits.push((accuracyLog << 16) - size);
      deltaState.push(total - 1);
      total += 1;
    } else if (probability === 0) {
      deltaBits.push(((accuracyLog + 1) << 16) - size);
      deltaState.push(0);
    } else {
      const maxBitsOut = accuracyLog - (31 - Math.clz32(probability - 1));
      deltaBits.push((maxBitsOut << 16) - (probability << maxBitsOut));
      deltaState.push(total - probability);
      total += probability;
    }
  }
  return { accuracyLog, states, deltaBits, deltaState };
}

function initialState(table: EncodingTable, symbol: number): number {
  const bits = (table.deltaBits[symbol]! + (1 << 15)) >>> 16;
  const value = (bits << 16) - table.deltaBits[symbol]!;
  return table.states[(value >>> bits) + table.deltaState[symbol]!]!;
}

/** Writes bits least significant first; the decoder reads the stream from its end. */
class BitWriter {
  readonly #bytes: number[] = [];
  #accumulator = 0;
  #count = 0;

  write(value: number, bits: number): void {
    if (bits === 0) return;
    this.#accumulator += (value % 2 ** bits) * 2 ** this.#count;
    this.#count += bits;
    while (this.#count >= 8) {
      this.#bytes.push(this.#accumulator % 256);
      this.#accumulator = Math.floor(this.#accumulator / 256);
      this.#count -= 8;
    }
  }

  /** Appends the end mark (one set bit) and pads to a whole byte. */
  close(): Uint8Array {
    this.write(1, 1);
    if (this.#count > 0) this.#bytes.push(this.#accumulator);
    return Uint8Array.from(this.#bytes);
  }
}

function encodeSymbol(
  writer: BitWriter,
  table: EncodingTable,
  state: number,
  symbol: number,
): number {
  const bits = (state + table.deltaBits[symbol]!) >>> 16;
  writer.write(state, bits);
  return table.states[(state >>> bits) + table.deltaState[symbol]!]!;
}

/**
 * Encodes the sequences in reverse order, the last one first, so that a decoder reading the
 * bit stream backwards meets them in order: initial states, then per sequence the offset,
 * match length and literal length bits, then the state updates.
 */
function encodeSequences(sequences: Sequence[]): Uint8Array {
  const coded = sequences.map((sequence) => ({
    literal: codeFor(sequence.literalLength, LITERAL_LENGTH_BASELINES, LITERAL_LENGTH_BITS),
    match: codeFor(sequence.matchLength, MATCH_LENGTH_BASELINES, MATCH_LENGTH_BITS),
    offset: offsetCode(sequence.offset),
  }));
  const writer = new BitWriter();
  const last = coded[coded.length - 1]!;
  let matchState = initialState(MATCH_LENGTH_TABLE, last.match.code);
  let offsetState = initialState(OFFSET_TABLE, last.offset.code);
  let literalState = initialState(LITERAL_LENGTH_TABLE, last.literal.code);
  writeExtraBits(writer, last);

  for (let index = coded.length - 2; index >= 0; index--) {
    const sequence = coded[index]!;
    offsetState = encodeSymbol(writer, OFFSET_TABLE, offsetState, sequence.offset.code);
    matchState = encodeSymbol(writer, MATCH_LENGTH_TABLE, matchState, sequence.match.code);
    literalState = encodeSymbol(writer, LITERAL_LENGTH_TABLE, literalState, sequence.literal.code);
    writeExtraBits(writer, sequence);
  }

  writer.write(matchState, MATCH_LENGTH_TABLE.accuracyLog);
  writer.write(offsetState, OFFSET_TABLE.accuracyLog);
  writer.write(literalState, LITERAL_LENGTH_TABLE.accuracyLog);
  return writer.close();
}

function writeExtraBits(
  writer: BitWriter,
  sequence: { literal: Coded; match: Coded; offset: Coded },
): void {
  writer.write(sequence.literal.extra, sequence.literal.extraBits);
  writer.write(sequence.match.extra, sequence.match.extraBits);
  writer.write(sequence.offset.extra, sequence.offset.extraBits);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const result = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}
