/**
 * Constants and value types of the GGUF v3 file format, as llama.cpp reads it.
 * All integers in the file are little-endian.
 */

/** The magic number "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;

export const GGUF_VERSION = 3;

/**
 * Alignment of the tensor data section and of each tensor, used when `general.alignment` is absent.
 */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Type codes of metadata values. Arrays carry one of the scalar codes for their elements. */
export const GGUF_VALUE_TYPE = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

export type GgufScalarType = Exclude<keyof typeof GGUF_VALUE_TYPE, "array">;

/** The JavaScript type of a value of the given GGUF scalar type. */
export type GgufScalarValue<T extends GgufScalarType> = T extends "bool"
  ? boolean
  : T extends "string"
    ? string
    : T extends "uint64" | "int64"
      ? bigint
      : number;

type ScalarEntryValue<T extends GgufScalarType> = { type: T; value: GgufScalarValue<T> };

type ArrayEntryValue<T extends GgufScalarType> = {
  type: "array";
  itemType: T;
  value: readonly GgufScalarValue<T>[];
};

/**
 * A typed metadata value: a scalar or an array of one scalar type.
 * Arrays of arrays, which the format also allows, are not supported.
 */
export type GgufMetadataValue =
  | { [T in GgufScalarType]: ScalarEntryValue<T> }[GgufScalarType]
  | { [T in GgufScalarType]: ArrayEntryValue<T> }[GgufScalarType];

export interface GgufMetadataEntry {
  key: string;
  value: GgufMetadataValue;
}

/** ggml tensor type codes for the two element types the writer supports. */
export const GGML_TENSOR_TYPE = {
  f32: 0,
  f16: 1,
} as const;

export type GgufTensorType = keyof typeof GGML_TENSOR_TYPE;

export const GGML_TENSOR_ELEMENT_BYTES: Record<GgufTensorType, number> = {
  f32: 4,
  f16: 2,
};

/** A tensor to write: its layout plus a callback that produces its values. */
export interface GgufTensor {
  name: string;
  /**
   * Dimensions in ggml order: `shape[0]` is the contiguous row length (ggml's `ne[0]`),
   * so a PyTorch weight of shape `[rows, columns]` is written as `[columns, rows]`.
   */
  shape: readonly number[];
  type: GgufTensorType;
  /**
   * Returns the values in row-major ggml order as float32. The writer calls it once, when it
   * reaches this tensor, so only one tensor's values are in memory at a time.
   */
  values: () => Float32Array;
}

export interface GgufFileContents {
  metadata: readonly GgufMetadataEntry[];
  tensors: readonly GgufTensor[];
}
