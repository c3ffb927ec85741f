/**
 * Reads the parts of a zstd dictionary that a compressor needs: its ID and its content.
 *
 * A trained dictionary (the format `zstd --train` writes) starts with the magic number
 * 0xEC30A437, a 4-byte dictionary ID, the entropy tables (a Huffman table for literals, then
 * FSE tables for offsets, match lengths and literal lengths) and three repeat offsets. The rest
 * is content that frames may reference as if it preceded their first byte. Any other byte
 * string is a raw-content dictionary: all of it is content and its ID is 0.
 */

const DICTIONARY_MAGIC = 0xec30a437;

/** Largest symbol value of each FSE table in a dictionary header, in file order. */
const FSE_TABLE_MAX_SYMBOLS = [31, 52, 35] as const;

/** A parsed zstd dictionary. */
export interface ZstdDictionary {
  /** The whole file, as clients load it. */
  bytes: Uint8Array;
  /** Dictionary ID written into frame headers; 0 for a raw-content dictionary. */
  id: number;
  /** The bytes that frames may reference. */
  content: Uint8Array;
}

/**
 * Parses a dictionary file.
 *
 * @throws Error when a trained dictionary's header is truncated or malformed
 */
export function parseZstdDictionary(bytes: Uint8Array): ZstdDictionary {
  if (bytes.length < 8 || readUint32(bytes, 0) !== DICTIONARY_MAGIC) {
    return { bytes, id: 0, content: bytes };
  }

  const id = readUint32(bytes, 4);
  let offset = 8 + huffmanTableLength(bytes, 8);
  for (const maxSymbol of FSE_TABLE_MAX_SYMBOLS) {
    offset += fseTableLength(bytes, offset, maxSymbol);
  }
  // Three repeat offsets of 4 bytes each.
  offset += 12;
  if (offset > bytes.length) {
    throw new Error(
      `the zstd dictionary header is truncated: it needs ${offset} bytes, the file has ${bytes.length}`,
    );
  }
  return { bytes, id, content: bytes.subarray(offset) };
}

/** Length of a Huffman table description: a header byte, then 4-bit weights or FSE-compressed weights. */
function huffmanTableLength(bytes: Uint8Array, offset: number): number {
  const header = bytes[offset];
  if (header === undefined) throw new Error("the zstd dictionary ends before its Huffman table");
  if (header >= 128) return 1 + Math.ceil((header - 127) / 2);
  return 1 + header;
}

/**
 * Length of an FSE table description (RFC 8878, "FSE Table Description"): a 4-bit accuracy
 * log, then variable-width probabilities, with runs of zero probabilities coded as 2-bit repeat flags.
 */
function fseTableLength(bytes: Uint8Array, start: number, maxSymbol: number): number {
  let position = start * 8;
  const readBits = (count: number): number => {
    let value = 0;
    for (let bit = 0; bit < count; bit++) {
      const byte = bytes[(position + bit) >> 3];
      if (byte === undefined)
        throw new Error("the zstd dictionary ends inside an FSE table description");
      value += ((byte >> ((position + bit) & 7)) & 1) * 2 ** bit;
    }
    position += count;
    return value;
  };
  const peekBits = (count: number): number => {
    const saved = position;
    const value = readBits(count);
    position = saved;
    return value;
  };

  const accuracyLog = readBits(4) + 5;
  let remaining = (1 << accuracyLog) + 1;
  let threshold = 1 << accuracyLog;
  let bitCount = accuracyLog + 1;
  let symbol = 0;
  let previousWasZero = false;

  while (remaining > 1 && symbol <= maxSymbol) {
    if (previousWasZero) {
      let repeat = readBits(2);
      symbol += repeat;
      while (repeat === 3) {
        repeat = readBits(2);
        symbol += repeat;
      }
    }

    // A value below `max` takes bitCount - 1 bits, the others take bitCount bits.
    const max = 2 * threshold - 1 - remaining;
    const low = peekBits(bitCount - 1);
    let value: number;
    if (low < max) {
      value = low;
      position += bitCount - 1;
    } else {
      value = peekBits(bitCount);
      position += bitCount;
      if (value >= threshold) value -= max;
    }

    const probability = value - 1;
    remaining -= probability < 0 ? -probability : probability;
    symbol++;
    previousWasZero = probability === 0;
    while (remaining < threshold && threshold > 1) {
      bitCount--;
      threshold >>= 1;
    }
  }
  if (remaining !== 1)
    throw new Error("an FSE table description in the zstd dictionary is malformed");
  return Math.ceil(position / 8) - start;
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0, true);
}
