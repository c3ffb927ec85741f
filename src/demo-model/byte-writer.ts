const INITIAL_CAPACITY = 64 * 1024;

/** A growable little-endian byte buffer for the binary sections of a GGUF file. */
export class ByteWriter {
  #buffer = Buffer.alloc(INITIAL_CAPACITY);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  writeUint8(value: number): void {
    this.#reserve(1);
    this.#buffer.writeUInt8(value, this.#length);
    this.#length += 1;
  }

  writeInt8(value: number): void {
    this.#reserve(1);
    this.#buffer.writeInt8(value, this.#length);
    this.#length += 1;
  }

  writeUint16(value: number): void {
    this.#reserve(2);
    this.#buffer.writeUInt16LE(value, this.#length);
    this.#length += 2;
  }

  writeInt16(value: number): void {
    this.#reserve(2);
    this.#buffer.writeInt16LE(value, this.#length);
    this.#length += 2;
  }

  writeUint32(value: number): void {
    this.#reserve(4);
    this.#buffer.writeUInt32LE(value, this.#length);
    this.#length += 4;
  }

  writeInt32(value: number): void {
    this.#reserve(4);
    this.#buffer.writeInt32LE(value, this.#length);
    this.#length += 4;
  }

  writeFloat32(value: number): void {
    this.#reserve(4);
    this.#buffer.writeFloatLE(value, this.#length);
    this.#length += 4;
  }

  writeFloat64(value: number): void {
    this.#reserve(8);
    this.#buffer.writeDoubleLE(value, this.#length);
    this.#length += 8;
  }

  writeUint64(value: bigint): void {
    this.#reserve(8);
    this.#buffer.writeBigUInt64LE(value, this.#length);
    this.#length += 8;
  }

  writeInt64(value: bigint): void {
    this.#reserve(8);
    this.#buffer.writeBigInt64LE(value, this.#length);
    this.#length += 8;
  }

  /** Writes a number as a u64. Throws a RangeError unless it is a non-negative safe integer. */
  writeUint64Number(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Invalid u64 value ${value}: expected a non-negative safe integer.`);
    }
    this.writeUint64(BigInt(value));
  }

  /** Writes a GGUF string: a u64 byte length followed by the UTF-8 bytes, with no terminator. */
  writeString(value: string): void {
    const byteLength = Buffer.byteLength(value, "utf8");
    this.writeUint64Number(byteLength);
    this.#reserve(byteLength);
    this.#buffer.write(value, this.#length, byteLength, "utf8");
    this.#length += byteLength;
  }

  /** Appends zero bytes until the length is a multiple of `alignment`. */
  padTo(alignment: number): void {
    const padding = paddingFor(this.#length, alignment);
    this.#reserve(padding);
    this.#buffer.fill(0, this.#length, this.#length + padding);
    this.#length += padding;
  }

  /** Returns a view of the bytes written so far. Later writes may change or replace its memory. */
  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  #reserve(byteCount: number): void {
    const required = this.#length + byteCount;
    if (required <= this.#buffer.length) {
      return;
    }

    let capacity = this.#buffer.length * 2;
    while (capacity < required) {
      capacity *= 2;
    }
    const grown = Buffer.alloc(capacity);
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}

/** Returns the number of zero bytes that bring `offset` up to a multiple of `alignment`. */
export function paddingFor(offset: number, alignment: number): number {
  const remainder = offset % alignment;
  return remainder === 0 ? 0 : alignment - remainder;
}
