/**
 * The GPT-2 byte-to-unicode table used by byte-level BPE vocabularies (GPT-2, Llama 3,
 * Qwen 2). Every byte gets a printable character, so a vocabulary key such as `Ġworld`
 * stands for the bytes of " world".
 *
 * Bytes 33-126, 161-172 and 174-255 stand for themselves. The other 68 bytes (0-32, 127-160
 * and 173) map in ascending order to U+0100, U+0101 and so on up to U+0143. So 0x20 (space)
 * is U+0120 `Ġ` and 0x0A (newline) is U+010A `Ċ`.
 */

function buildByteToCodePoint(): Uint16Array {
  const table = new Uint16Array(256);
  let next = 0x100;
  for (let byte = 0; byte < 256; byte++) {
    const printable =
      (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || (byte >= 174 && byte <= 255);
    table[byte] = printable ? byte : next++;
  }
  return table;
}

/** Code point of the character that stands for each byte, indexed by byte value. */
export const BYTE_TO_CODE_POINT: Readonly<Uint16Array> = buildByteToCodePoint();

/**
 * Byte value of each table character, indexed by code point from 0 to U+0143. The value -1
 * marks a code point that is not in the table.
 */
export const CODE_POINT_TO_BYTE: Readonly<Int16Array> = (() => {
  const table = new Int16Array(0x144).fill(-1);
  BYTE_TO_CODE_POINT.forEach((codePoint, byte) => {
    table[codePoint] = byte;
  });
  return table;
})();

const utf8Encoder = new TextEncoder();

/**
 * Converts a byte-level vocabulary key back to the bytes it stands for. A character outside
 * the table (for example in an added token such as `<think>` written as plain text)
 * contributes its own UTF-8 bytes.
 */
export function byteLevelKeyToBytes(key: string): Uint8Array {
  const bytes: number[] = [];
  for (const char of key) {
    const codePoint = char.codePointAt(0) as number;
    const byte =
      codePoint < CODE_POINT_TO_BYTE.length ? (CODE_POINT_TO_BYTE[codePoint] as number) : -1;
    if (byte >= 0) {
      bytes.push(byte);
    } else {
      bytes.push(...utf8Encoder.encode(char));
    }
  }
  return Uint8Array.from(bytes);
}

/** Converts bytes to their byte-level characters, the inverse of {@link byteLevelKeyToBytes}. */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) {
    text += String.fromCharCode(BYTE_TO_CODE_POINT[byte] as number);
  }
  return text;
}
