/*
 * float32 to IEEE 754 binary16 conversion, written by hand because Node 20 has neither
 * Float16Array nor Math.f16round (both arrived in later V8 releases).
 */

const float32View = new Float32Array(1);
const uint32View = new Uint32Array(float32View.buffer);

/**
 * Converts a float32 to the bits of the nearest float16, rounding half to even.
 * Values beyond the float16 range become infinities, values below half the smallest
 * subnormal become signed zero, and NaN stays a (quiet) NaN.
 */
export function float32ToFloat16Bits(value: number): number {
  float32View[0] = value;
  const bits = uint32View[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;

  if (exponent === 0xff) {
    return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  }

  // Rebias the exponent from float32 (127) to float16 (15).
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) {
    return sign | 0x7c00;
  }
  if (halfExponent <= 0) {
    return sign | toSubnormalHalf(mantissa | 0x800000, halfExponent);
  }

  // Drop 13 mantissa bits and round. A carry out of the mantissa bumps the exponent, and a
  // carry out of the largest exponent gives infinity, both as IEEE 754 rounding requires.
  const truncated = (halfExponent << 10) | (mantissa >>> 13);
  return sign | roundHalfToEven(truncated, mantissa & 0x1fff, 0x1000);
}

/**
 * Returns the float16 subnormal bits (or zero) nearest to a float32 whose rebiased exponent
 * `halfExponent` is at most 0. `significand` is the 24-bit float32 significand including its
 * implicit leading bit. Rounding up from the largest subnormal yields 0x400, the smallest normal.
 */
function toSubnormalHalf(significand: number, halfExponent: number): number {
  const shift = 14 - halfExponent;
  if (shift > 24) {
    return 0;
  }
  const truncated = significand >>> shift;
  const remainder = significand & ((1 << shift) - 1);
  return roundHalfToEven(truncated, remainder, 1 << (shift - 1));
}

function roundHalfToEven(truncated: number, remainder: number, half: number): number {
  if (remainder > half || (remainder === half && (truncated & 1) === 1)) {
    return truncated + 1;
  }
  return truncated;
}

/** Converts every element of `values` to float16 bits. */
export function toFloat16Array(values: Float32Array): Uint16Array {
  const result = new Uint16Array(values.length);
  for (let index = 0; index < values.length; index += 1) {
    result[index] = float32ToFloat16Bits(values[index]!);
  }
  return result;
}
