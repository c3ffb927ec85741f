import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";

import { ByteWriter, paddingFor } from "./byte-writer.js";
import { toFloat16Array } from "./float16.js";
import {
  GGML_TENSOR_ELEMENT_BYTES,
  GGML_TENSOR_TYPE,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPE,
  GGUF_VERSION,
} from "./gguf-format.js";
import type {
  GgufFileContents,
  GgufMetadataEntry,
  GgufMetadataValue,
  GgufScalarType,
  GgufScalarValue,
  GgufTensor,
} from "./gguf-format.js";

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Writes a GGUF v3 file: header, metadata, tensor infos, padding, then each tensor's data
 * padded to the alignment. Tensors are generated and written one at a time.
 * The output depends only on `contents`, so equal contents give byte-identical files.
 */
export async function writeGgufFile(path: string, contents: GgufFileContents): Promise<void> {
  const alignment = readAlignment(contents.metadata);
  const header = encodeGgufHeader(contents, alignment);

  const handle = await open(path, "w");
  try {
    await writeAll(handle, header);
    for (const tensor of contents.tensors) {
      const data = encodeTensorData(tensor);
      await writeAll(handle, data);
      await writeAll(handle, new Uint8Array(paddingFor(data.byteLength, alignment)));
    }
  } finally {
    await handle.close();
  }
}

/** Writes all of `bytes`, repeating the call when the OS accepts only part of them. */
async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
    offset += bytesWritten;
  }
}

/**
 * Encodes everything before the tensor data: header, metadata, tensor infos and the zero
 * padding that aligns the data section.
 */
export function encodeGgufHeader(contents: GgufFileContents, alignment: number): Uint8Array {
  const writer = new ByteWriter();
  writer.writeUint32(GGUF_MAGIC);
  writer.writeUint32(GGUF_VERSION);
  writer.writeUint64Number(contents.tensors.length);
  writer.writeUint64Number(contents.metadata.length);

  for (const entry of contents.metadata) {
    writer.writeString(entry.key);
    writeMetadataValue(writer, entry.value);
  }

  let dataOffset = 0;
  for (const tensor of contents.tensors) {
    writeTensorInfo(writer, tensor, dataOffset);
    const byteLength = tensorByteLength(tensor);
    dataOffset += byteLength + paddingFor(byteLength, alignment);
  }

  writer.padTo(alignment);
  return writer.bytes();
}

/** Returns the tensor's values in its element type, checking their count against its shape. */
export function encodeTensorData(tensor: GgufTensor): Uint8Array {
  const values = tensor.values();
  const expected = elementCount(tensor);
  if (values.length !== expected) {
    throw new RangeError(
      `Tensor ${tensor.name} has ${values.length} values but its shape [${tensor.shape.join(", ")}] needs ${expected}.`,
    );
  }

  const typed = tensor.type === "f16" ? toFloat16Array(values) : values;
  return toLittleEndianBytes(typed);
}

function writeTensorInfo(writer: ByteWriter, tensor: GgufTensor, dataOffset: number): void {
  writer.writeString(tensor.name);
  writer.writeUint32(tensor.shape.length);
  for (const dimension of tensor.shape) {
    writer.writeUint64Number(dimension);
  }
  writer.writeUint32(GGML_TENSOR_TYPE[tensor.type]);
  writer.writeUint64Number(dataOffset);
}

function writeMetadataValue(writer: ByteWriter, value: GgufMetadataValue): void {
  writer.writeUint32(GGUF_VALUE_TYPE[value.type]);
  if (value.type !== "array") {
    writeScalar(writer, value.type, value.value);
    return;
  }

  writer.writeUint32(GGUF_VALUE_TYPE[value.itemType]);
  writer.writeUint64Number(value.value.length);
  for (const item of value.value) {
    writeScalar(writer, value.itemType, item);
  }
}

function writeScalar<T extends GgufScalarType>(
  writer: ByteWriter,
  type: T,
  value: GgufScalarValue<T>,
): void {
  // The conditional type GgufScalarValue does not narrow inside a switch, so each case
  // casts to the JavaScript type that the GGUF type code implies.
  switch (type) {
    case "uint8":
      return writer.writeUint8(value as number);
    case "int8":
      return writer.writeInt8(value as number);
    case "uint16":
      return writer.writeUint16(value as number);
    case "int16":
      return writer.writeInt16(value as number);
    case "uint32":
      return writer.writeUint32(value as number);
    case "int32":
      return writer.writeInt32(value as number);
    case "float32":
      return writer.writeFloat32(value as number);
    case "float64":
      return writer.writeFloat64(value as number);
    case "uint64":
      return writer.writeUint64(value as bigint);
    case "int64":
      return writer.writeInt64(value as bigint);
    case "bool":
      return writer.writeUint8(value ? 1 : 0);
    case "string":
      return writer.writeString(value as string);
    default:
      throw new TypeError(`Unsupported GGUF metadata type ${String(type)}.`);
  }
}

/** Returns `general.alignment` when the metadata sets it, otherwise the GGUF default of 32. */
function readAlignment(metadata: readonly GgufMetadataEntry[]): number {
  const entry = metadata.find((candidate) => candidate.key === "general.alignment");
  if (entry === undefined) {
    return GGUF_DEFAULT_ALIGNMENT;
  }

  const { value } = entry;
  if (value.type !== "uint32" || value.value <= 0 || value.value % 8 !== 0) {
    throw new RangeError(
      `Invalid general.alignment ${JSON.stringify(value.value, bigintReplacer)}: expected a uint32 that is a positive multiple of 8.`,
    );
  }
  return value.value;
}

function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

function elementCount(tensor: GgufTensor): number {
  return tensor.shape.reduce((product, dimension) => product * dimension, 1);
}

function tensorByteLength(tensor: GgufTensor): number {
  return elementCount(tensor) * GGML_TENSOR_ELEMENT_BYTES[tensor.type];
}

/** Returns the array's bytes in little-endian order, whatever the host byte order. */
function toLittleEndianBytes(values: Float32Array | Uint16Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (HOST_IS_LITTLE_ENDIAN) {
    return bytes;
  }

  const swapped = new Uint8Array(bytes.length);
  const width = values.BYTES_PER_ELEMENT;
  for (let start = 0; start < bytes.length; start += width) {
    for (let offset = 0; offset < width; offset += 1) {
      swapped[start + offset] = bytes[start + width - 1 - offset]!;
    }
  }
  return swapped;
}
