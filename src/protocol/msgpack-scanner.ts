/**
 * Finds where one msgpack value ends without decoding it, so the stream decoder can cut
 * frames out of network chunks split at any byte and report exactly where a body was cut.
 *
 * The scanner is resumable. Its whole state is the offset of the next element header and the
 * count of elements still to read. That suffices because a msgpack header alone gives the
 * size of its inline payload and the number of its children.
 */
export class MsgpackValueScanner {
  /** Offset, from the value's first byte, of the next element header to read. */
  #position = 0;
  /** Elements still to read before the value is complete. */
  #open = 1;

  /** Bytes of the value scanned so far. */
  get scannedBytes(): number {
    return this.#position;
  }

  /** Starts over for the next value. */
  reset(): void {
    this.#position = 0;
    this.#open = 1;
  }

  /**
   * Scans the buffered bytes of the current value, from where the last call stopped.
   *
   * @param bytes - the buffered bytes, starting at the value's first byte. Later calls must
   *   pass the same bytes, possibly with more appended.
   * @returns the value's length in bytes, or -1 when more bytes are needed
   * @throws RangeError on the byte 0xc1, which msgpack never uses. `scannedBytes` is then the
   *   offset of that byte.
   */
  scan(bytes: Uint8Array): number {
    let position = this.#position;
    let open = this.#open;

    while (open > 0 && position < bytes.length) {
      const element = measureElement(bytes, position);
      if (element === null) {
        this.#position = position;
        throw new RangeError(`byte 0xc1 at offset ${position} is not a valid msgpack type`);
      }
      if (element === undefined || position + element.size > bytes.length) {
        break;
      }
      position += element.size;
      open += element.children - 1;
    }

    this.#position = position;
    this.#open = open;
    return open === 0 ? position : -1;
  }
}

/** Size of one element's header plus inline payload, and how many child elements follow it. */
interface ElementSize {
  size: number;
  children: number;
}

/**
 * Measures the element whose header starts at `at`. Returns undefined when the header's
 * length field is not buffered yet, and null for the unused type byte 0xc1.
 */
function measureElement(bytes: Uint8Array, at: number): ElementSize | undefined | null {
  const head = bytes[at] as number;

  if (head <= 0x7f || head >= 0xe0) {
    return { size: 1, children: 0 };
  }
  if (head <= 0x8f) {
    return { size: 1, children: 2 * (head & 0x0f) };
  }
  if (head <= 0x9f) {
    return { size: 1, children: head & 0x0f };
  }
  if (head <= 0xbf) {
    return { size: 1 + (head & 0x1f), children: 0 };
  }

  switch (head) {
    case 0xc0: // nil
    case 0xc2: // false
    case 0xc3: // true
      return { size: 1, children: 0 };
    case 0xc1:
      return null;
    case 0xc4: // bin 8
    case 0xd9: // str 8
      return withPayload(bytes, at, 1, 0);
    case 0xc5: // bin 16
    case 0xda: // str 16
      return withPayload(bytes, at, 2, 0);
    case 0xc6: // bin 32
    case 0xdb: // str 32
      return withPayload(bytes, at, 4, 0);
    case 0xc7: // ext 8: the length, then a type byte
      return withPayload(bytes, at, 1, 1);
    case 0xc8: // ext 16
      return withPayload(bytes, at, 2, 1);
    case 0xc9: // ext 32
      return withPayload(bytes, at, 4, 1);
    case 0xcc: // uint 8
    case 0xd0: // int 8
      return { size: 2, children: 0 };
    case 0xcd: // uint 16
    case 0xd1: // int 16
      return { size: 3, children: 0 };
    case 0xca: // float 32
    case 0xce: // uint 32
    case 0xd2: // int 32
      return { size: 5, children: 0 };
    case 0xcb: // float 64
    case 0xcf: // uint 64
    case 0xd3: // int 64
      return { size: 9, children: 0 };
    case 0xd4: // fixext 1, 2, 4, 8, 16: a type byte, then the data
      return { size: 3, children: 0 };
    case 0xd5:
      return { size: 4, children: 0 };
    case 0xd6:
      return { size: 6, children: 0 };
    case 0xd7:
      return { size: 10, children: 0 };
    case 0xd8:
      return { size: 18, children: 0 };
    case 0xdc: // array 16
      return withChildren(bytes, at, 2, 1);
    case 0xdd: // array 32
      return withChildren(bytes, at, 4, 1);
    case 0xde: // map 16
      return withChildren(bytes, at, 2, 2);
    default: // 0xdf, map 32
      return withChildren(bytes, at, 4, 2);
  }
}

/** A str, bin or ext element: the length field counts payload bytes that follow the header. */
function withPayload(
  bytes: Uint8Array,
  at: number,
  lengthWidth: number,
  extraHeaderBytes: number,
): ElementSize | undefined {
  const length = readLength(bytes, at + 1, lengthWidth);
  if (length === undefined) {
    return undefined;
  }
  return { size: 1 + lengthWidth + extraHeaderBytes + length, children: 0 };
}

/** An array or map element: the length field counts entries, and a map entry is two elements. */
function withChildren(
  bytes: Uint8Array,
  at: number,
  lengthWidth: number,
  elementsPerEntry: number,
): ElementSize | undefined {
  const count = readLength(bytes, at + 1, lengthWidth);
  if (count === undefined) {
    return undefined;
  }
  return { size: 1 + lengthWidth, children: elementsPerEntry * count };
}

/** Reads a big-endian unsigned length of 1, 2 or 4 bytes, or returns undefined if not buffered. */
function readLength(bytes: Uint8Array, at: number, width: number): number | undefined {
  if (at + width > bytes.length) {
    return undefined;
  }
  let value = 0;
  for (let i = 0; i < width; i++) {
    value = value * 256 + (bytes[at + i] as number);
  }
  return value;
}
