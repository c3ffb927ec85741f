/**
 * A small deterministic random source for demo weights: mulberry32 for uniform numbers and the
 * Box–Muller transform for normal ones. It is not suitable for anything security-related.
 *
 * NOTE: V8 computes Math.log, Math.sin and Math.cos with its own fdlibm port rather than the C
 * library, so the output does not depend on the operating system. A future V8 change to those
 * functions could still change individual values and therefore the demo model's bytes.
 */
export class SeededRandom {
  #state: number;
  #spareNormal: number | undefined;

  /** `seed` is reduced to an unsigned 32-bit integer. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Returns a uniform number in [0, 1) with 32 bits of randomness (one mulberry32 step). */
  nextUniform(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let mixed = this.#state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  }

  /** Returns a sample from the standard normal distribution. */
  nextNormal(): number {
    if (this.#spareNormal !== undefined) {
      const spare = this.#spareNormal;
      this.#spareNormal = undefined;
      return spare;
    }

    // 1 - u lies in (0, 1], so the logarithm stays finite.
    const radius = Math.sqrt(-2 * Math.log(1 - this.nextUniform()));
    const angle = 2 * Math.PI * this.nextUniform();
    this.#spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /**
   * Returns `count` samples from a normal distribution with mean 0 and the given standard
   * deviation.
   */
  normalArray(count: number, standardDeviation: number): Float32Array {
    const values = new Float32Array(count);
    for (let index = 0; index < count; index += 1) {
      values[index] = this.nextNormal() * standardDeviation;
    }
    return values;
  }
}

/**
 * Derives an independent 32-bit seed for one named stream (for example one tensor) from a base
 * seed, using FNV-1a over the name's UTF-16 code units. Each tensor's values then depend only
 * on the base seed and the tensor name, not on the order in which tensors are generated.
 */
export function deriveSeed(baseSeed: number, name: string): number {
  let hash = (0x811c9dc5 ^ baseSeed) >>> 0;
  for (let index = 0; index < name.length; index += 1) {
    hash ^= name.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
