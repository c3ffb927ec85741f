/**
 * UTF-8 checks the detokenizer needs to hold a character split across tokens until its
 * last byte arrives.
 */

/**
 * Returns whether `bytes[start..end)` is complete, well-formed UTF-8: no stray continuation
 * bytes, no overlong forms, no surrogates, nothing above U+10FFFF and no cut sequence.
 */
export function isWellFormedUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const lead = bytes[i] as number;
    if (lead < 0x80) {
      i++;
      continue;
    }

    // Allowed range of the second byte, narrower after E0, ED, F0 and F4 (RFC 3629, section 4).
    let continuationCount: number;
    let secondMin = 0x80;
    let secondMax = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      continuationCount = 1;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      continuationCount = 2;
      secondMin = lead === 0xe0 ? 0xa0 : 0x80;
      secondMax = lead === 0xed ? 0x9f : 0xbf;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      continuationCount = 3;
      secondMin = lead === 0xf0 ? 0x90 : 0x80;
      secondMax = lead === 0xf4 ? 0x8f : 0xbf;
    } else {
      return false;
    }

    if (i + continuationCount >= end) {
      return false;
    }
    const second = bytes[i + 1] as number;
    if (second < secondMin || second > secondMax) {
      return false;
    }
    for (let k = 2; k <= continuationCount; k++) {
      if (((bytes[i + k] as number) & 0xc0) !== 0x80) {
        return false;
      }
    }
    i += continuationCount + 1;
  }
  return true;
}

/**
 * Returns how many bytes at the end of `bytes[0..end)` are the start of a multi-byte
 * sequence still waiting for continuation bytes (0 to 3). Those bytes are held back, and
 * everything before them can be decoded now.
 */
export function incompleteTailLength(bytes: Uint8Array, end: number): number {
  const lookBack = Math.min(3, end);
  for (let back = 1; back <= lookBack; back++) {
    const byte = bytes[end - back] as number;
    if ((byte & 0xc0) === 0x80) {
      continue;
    }
    return sequenceLength(byte) > back ? back : 0;
  }
  return 0;
}

/** Sequence length announced by a lead byte; 1 for ASCII and for bytes that cannot lead. */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) {
    return 2;
  }
  if (lead >= 0xe0 && lead <= 0xef) {
    return 3;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    return 4;
  }
  return 1;
}

/** Writes the UTF-8 encoding of one code point at `at` and returns the offset after it. */
export function writeUtf8CodePoint(codePoint: number, out: Uint8Array, at: number): number {
  if (codePoint < 0x80) {
    out[at] = codePoint;
    return at + 1;
  }
  if (codePoint < 0x800) {
    out[at] = 0xc0 | (codePoint >> 6);
    out[at + 1] = 0x80 | (codePoint & 0x3f);
    return at + 2;
  }
  if (codePoint < 0x10000) {
    out[at] = 0xe0 | (codePoint >> 12);
    out[at + 1] = 0x80 | ((codePoint >> 6) & 0x3f);
    out[at + 2] = 0x80 | (codePoint & 0x3f);
    return at + 3;
  }
  out[at] = 0xf0 | (codePoint >> 18);
  out[at + 1] = 0x80 | ((codePoint >> 12) & 0x3f);
  out[at + 2] = 0x80 | ((codePoint >> 6) & 0x3f);
  out[at + 3] = 0x80 | (codePoint & 0x3f);
  return at + 4;
}
