/** Byte helpers for tests that pin wire bytes against worked examples. */

/** Parses space-separated hex bytes such as `"83 aa 70"`. */
export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.split(/\s+/).map((byte) => Number.parseInt(byte, 16)));
}

/** Formats bytes as space-separated lowercase hex, the form the worked examples use. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join(" ");
}

/** Joins byte arrays into one. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
