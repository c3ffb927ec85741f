/**
 * The few protobuf wire primitives the Codec messages need.
 *
 * They are written by hand instead of using protobufjs reflection for three reasons.
 * protobufjs 8.8.1 compiles its encoders and decoders with `new Function`, which browsers
 * block on pages whose Content-Security-Policy forbids `unsafe-eval`. Its `uint32` reader
 * silently keeps the low 32 bits of a longer varint, where a token ID of 2^32 or more must
 * be rejected. And it skips group fields (wire types 3 and 4), which no Codec message uses
 * and which this decoder rejects as a sign of a corrupt or foreign stream.
 */

/** Protobuf wire types. Groups (3 and 4) are deprecated and never valid in Codec messages. */
export const WireType = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  fixed32: 5,
} as const;

/** Builds the error a reader throws: a frame and a request report failures differently. */
export type WireErrorFactory = (reason: string, offset: number) => Error;

const utf8Encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF in a string field, which TextDecoder drops by default.
const strictUtf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Encodes a string as UTF-8. */
export function utf8Bytes(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Returns how many bytes the varint encoding of a non-negative integer below 2^53 takes. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

/** Returns the size of a length-delimited field: tag, length varint and payload. */
export function lengthDelimitedSize(payloadBytes: number): number {
  return 1 + varintSize(payloadBytes) + payloadBytes;
}

/** Writes protobuf fields into a buffer sized in advance by the caller. */
export class ProtobufWriter {
  /** The output buffer, exactly as large as the caller asked. */
  readonly bytes: Uint8Array;
  #position = 0;

  /** Allocates the output buffer. */
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }

  /** Offset of the next byte to write. */
  get position(): number {
    return this.#position;
  }

  /** Writes a 4-byte unsigned big-endian integer, the Codec frame length prefix. */
  uint32BigEndian(value: number): void {
    new DataView(this.bytes.buffer).setUint32(this.#position, value, false);
    this.#position += 4;
  }

  /** Writes a field tag. Codec field numbers are all below 16, so a tag is one byte. */
  tag(field: number, wireType: number): void {
    this.bytes[this.#position++] = (field << 3) | wireType;
  }

  /** Writes a varint. Arithmetic instead of bit operations keeps values of 2^31 and up exact. */
  varint(value: number): void {
    while (value >= 0x80) {
      this.bytes[this.#position++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.bytes[this.#position++] = value;
  }

  /** Writes raw bytes. */
  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.#position);
    this.#position += bytes.length;
  }

  /** Writes a length-delimited field holding `bytes`. */
  lengthDelimited(field: number, bytes: Uint8Array): void {
    this.tag(field, WireType.lengthDelimited);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  /** Writes a little-endian IEEE 754 single-precision float, the `float` wire form. */
  float32(value: number): void {
    new DataView(this.bytes.buffer).setFloat32(this.#position, value, true);
    this.#position += 4;
  }
}

/** A field tag split into its number and wire type. */
export interface FieldTag {
  field: number;
  wireType: number;
  /** Offset of the tag's first byte, for error messages. */
  offset: number;
}

/** Reads protobuf fields from one message. Offsets in errors are relative to `baseOffset`. */
export class ProtobufReader {
  readonly #bytes: Uint8Array;
  readonly #baseOffset: number;
  readonly #fail: WireErrorFactory;
  #position = 0;

  /**
   * @param bytes - exactly the message bytes
   * @param baseOffset - offset of `bytes[0]` in the enclosing stream or message
   * @param fail - builds the error thrown on malformed input
   */
  constructor(bytes: Uint8Array, baseOffset: number, fail: WireErrorFactory) {
    this.#bytes = bytes;
    this.#baseOffset = baseOffset;
    this.#fail = fail;
  }

  /** Returns whether every byte has been read. */
  get done(): boolean {
    return this.#position >= this.#bytes.length;
  }

  /** Offset of the next byte to read, in the enclosing stream or message. */
  get offset(): number {
    return this.#baseOffset + this.#position;
  }

  /** Builds the error for a problem at `offset`, in the enclosing stream or message. */
  error(reason: string, offset: number = this.offset): Error {
    return this.#fail(reason, offset);
  }

  /** Throws unless a known field arrived with its declared wire type. `name` labels the error. */
  expectWireType(tag: FieldTag, expected: number, name: string): void {
    if (tag.wireType !== expected) {
      throw this.error(
        `field ${tag.field} (${name}) has wire type ${tag.wireType}, expected ${expected}`,
        tag.offset,
      );
    }
  }

  /** Reads a field tag and rejects field number 0. */
  tag(): FieldTag {
    const offset = this.offset;
    const tag = this.varint();
    if (tag > 0xffff_ffff) {
      throw this.error("field tag is larger than 32 bits", offset);
    }
    const field = Math.floor(tag / 8);
    if (field === 0) {
      throw this.error("field number 0 is not allowed", offset);
    }
    return { field, wireType: tag % 8, offset };
  }

  /**
   * Reads a varint of up to 10 bytes by arithmetic, so values of 2^31 and up stay positive.
   * Values above 2^53 lose precision, which is harmless: every caller rejects values that
   * large.
   */
  varint(): number {
    const start = this.offset;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.#position >= this.#bytes.length) {
        throw this.error("varint runs past the end of the message", start);
      }
      const byte = this.#bytes[this.#position++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        return value;
      }
      scale *= 0x80;
    }
    throw this.error("varint is longer than 10 bytes", start);
  }

  /**
   * Reads a varint and rejects values above 2^32 - 1. `fieldName` labels errors, which print
   * the exact value, and name the negative number that an int64 encoder writes as that value.
   */
  uint32(fieldName: string): number {
    const start = this.offset;
    const value = this.varint();
    if (value > 0xffff_ffff) {
      const exact = this.#exactVarint(start - this.#baseOffset);
      const signed = BigInt.asIntN(64, exact);
      const hint = signed < 0n ? ` (${signed} written as an int64)` : "";
      throw this.error(`${fieldName} is ${exact}${hint}, larger than a uint32`, start);
    }
    return value;
  }

  /** Reads again, as a BigInt, the varint that starts at `position`; it is known to be complete. */
  #exactVarint(position: number): bigint {
    let value = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.#bytes[position++] as number;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) {
        return BigInt.asUintN(64, value);
      }
      shift += 7n;
    }
  }

  /**
   * Reads one occurrence of a `repeated uint32` field into `values`: a packed run when the
   * wire type is 2, or a single varint when it is 0. Parsers must accept both forms.
   */
  repeatedUint32(tag: FieldTag, values: number[], name: string): void {
    if (tag.wireType === WireType.varint) {
      values.push(this.uint32(`${name}[${values.length}]`));
      return;
    }
    this.expectWireType(tag, WireType.lengthDelimited, name);

    const packed = this.lengthDelimited();
    while (!packed.done) {
      values.push(packed.uint32(`${name}[${values.length}]`));
    }
  }

  /** Reads the payload of a length-delimited field as a reader of its own. */
  lengthDelimited(): ProtobufReader {
    const start = this.offset;
    const length = this.varint();
    if (length > this.#bytes.length - this.#position) {
      throw this.error(`length ${length} runs past the end of the message`, start);
    }
    const payload = this.#bytes.subarray(this.#position, this.#position + length);
    const reader = new ProtobufReader(payload, this.offset, this.#fail);
    this.#position += length;
    return reader;
  }

  /**
   * Reads a `string` field as strict UTF-8, after checking that `tag` has the length-delimited
   * wire type. `fieldName` labels errors.
   */
  string(tag: FieldTag, fieldName: string): string {
    this.expectWireType(tag, WireType.lengthDelimited, fieldName);
    const start = this.offset;
    const payload = this.lengthDelimited();
    try {
      return strictUtf8Decoder.decode(payload.#bytes);
    } catch (error) {
      throw this.#fail(`${fieldName} is not valid UTF-8 (${(error as Error).message})`, start);
    }
  }

  /** Reads a little-endian single-precision float. */
  float32(): number {
    if (this.#bytes.length - this.#position < 4) {
      throw this.error("fixed32 field runs past the end of the message");
    }
    const view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset + this.#position, 4);
    this.#position += 4;
    return view.getFloat32(0, true);
  }

  /**
   * Skips a field this reader does not know, so fields added by newer servers pass through.
   * Wire types 3, 4, 6 and 7 are rejected: no Codec message uses them.
   */
  skip(tag: FieldTag): void {
    switch (tag.wireType) {
      case WireType.varint:
        this.varint();
        return;
      case WireType.fixed64:
        this.#skipBytes(8, tag);
        return;
      case WireType.lengthDelimited:
        this.lengthDelimited();
        return;
      case WireType.fixed32:
        this.#skipBytes(4, tag);
        return;
      default:
        throw this.error(
          `field ${tag.field} has wire type ${tag.wireType}, which Codec messages never use`,
          tag.offset,
        );
    }
  }

  #skipBytes(count: number, tag: FieldTag): void {
    if (this.#bytes.length - this.#position < count) {
      throw this.error(`field ${tag.field} runs past the end of the message`, tag.offset);
    }
    this.#position += count;
  }
}
