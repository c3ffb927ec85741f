/** Sizes, seed and weight type of a generated demo model (llama architecture). */
export interface DemoModelOptions {
  /** Width of the hidden state (`llama.embedding_length`). */
  embeddingLength: number;
  /** Number of transformer blocks. */
  blockCount: number;
  /** Number of attention (query) heads. */
  headCount: number;
  /** Number of key/value heads. Fewer than `headCount` gives grouped-query attention. */
  headCountKv: number;
  /** Hidden width of each block's SwiGLU feed-forward network. */
  feedForwardLength: number;
  /** Training context length written to the file (`llama.context_length`), in tokens. */
  contextLength: number;
  /** Seed of the random weights, an unsigned 32-bit integer. */
  seed: number;
  /** Element type of the weight matrices. Norm weights are always f32. */
  dtype: "f16" | "f32";
  /**
   * Token transitions `[from, to]` that make the model deterministic, for tests: the transformer
   * blocks are zeroed so the hidden state is the current token's embedding, and an untied
   * output projection scores `to` after `from` far above every other token. Greedy decoding then
   * walks the transitions. Tokens without a transition score every token 0.
   */
  transitions?: ReadonlyArray<readonly [number, number]>;
}

/**
 * The demo model the server generates when no model is configured. Defaults: embedding 64,
 * 2 blocks, 4 heads (4 KV heads), feed-forward 128, context 4096, seed 42, f16 weights.
 */
export const DEFAULT_DEMO_MODEL_OPTIONS: DemoModelOptions = Object.freeze({
  embeddingLength: 64,
  blockCount: 2,
  headCount: 4,
  headCountKv: 4,
  feedForwardLength: 128,
  contextLength: 4096,
  seed: 42,
  dtype: "f16",
});

const SIZE_OPTION_NAMES = [
  "embeddingLength",
  "blockCount",
  "headCount",
  "headCountKv",
  "feedForwardLength",
  "contextLength",
] as const;

const MAX_UINT32 = 0xffffffff;

/**
 * Fills unset options from the defaults and validates the result. Options set to `undefined`
 * count as unset. Throws a RangeError naming the first invalid option and its value.
 */
export function resolveDemoModelOptions(options: Partial<DemoModelOptions> = {}): DemoModelOptions {
  const resolved: DemoModelOptions = { ...DEFAULT_DEMO_MODEL_OPTIONS };
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined) {
      (resolved as unknown as Record<string, unknown>)[name] = value;
    }
  }

  validateDemoModelOptions(resolved);
  return resolved;
}

/** Throws a RangeError naming the first invalid option and its value. */
export function validateDemoModelOptions(options: DemoModelOptions): void {
  for (const name of SIZE_OPTION_NAMES) {
    const value = options[name];
    if (!Number.isInteger(value) || value < 1 || value > MAX_UINT32) {
      throw new RangeError(
        `Invalid demo model option ${name}: ${formatValue(value)}. Expected a positive integer up to ${MAX_UINT32}.`,
      );
    }
  }

  if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > MAX_UINT32) {
    throw new RangeError(
      `Invalid demo model option seed: ${formatValue(options.seed)}. Expected an integer from 0 to ${MAX_UINT32}.`,
    );
  }
  if (options.dtype !== "f16" && options.dtype !== "f32") {
    throw new RangeError(
      `Invalid demo model option dtype: ${formatValue(options.dtype)}. Expected "f16" or "f32".`,
    );
  }

  validateHeadLayout(options);
  for (const pair of options.transitions ?? []) {
    if (!pair.every((id) => Number.isInteger(id) && id >= 0)) {
      throw new RangeError(
        `Invalid demo model option transitions: [${pair.join(", ")}] is not a pair of token IDs.`,
      );
    }
  }
}

function validateHeadLayout(options: DemoModelOptions): void {
  const { embeddingLength, headCount, headCountKv } = options;
  if (embeddingLength % headCount !== 0) {
    throw new RangeError(
      `Invalid demo model option embeddingLength: ${embeddingLength} is not divisible by headCount ${headCount}.`,
    );
  }
  if (headCount % headCountKv !== 0) {
    throw new RangeError(
      `Invalid demo model option headCountKv: headCount ${headCount} is not divisible by headCountKv ${headCountKv}.`,
    );
  }

  // llama.cpp's RoPE rotates pairs of dimensions and asserts an even rotation width,
  // which here is the whole head.
  const headDimension = embeddingLength / headCount;
  if (headDimension % 2 !== 0) {
    throw new RangeError(
      `Invalid demo model option headCount: embeddingLength ${embeddingLength} / headCount ${headCount} gives head dimension ${headDimension}, which must be even.`,
    );
  }
}

/**
 * Returns the cache file name that encodes every option, for example
 * `codec-serve-demo-qwen3-e64-l2-h4-ff128-c4096-s42-f16.gguf`. A `-kvN` part follows `hN` only
 * when `headCountKv` differs from `headCount`.
 *
 * NOTE: ensureDemoModel reuses any existing file with this name, so change the name (for example
 * its prefix) whenever the generator starts writing different bytes for the same options.
 * Throws like validateDemoModelOptions on invalid options.
 */
export function demoModelFileName(options: DemoModelOptions): string {
  validateDemoModelOptions(options);
  const heads =
    options.headCountKv === options.headCount
      ? `h${options.headCount}`
      : `h${options.headCount}-kv${options.headCountKv}`;
  const parts = [
    "codec-serve-demo-qwen3",
    `e${options.embeddingLength}`,
    `l${options.blockCount}`,
    heads,
    `ff${options.feedForwardLength}`,
    `c${options.contextLength}`,
    `s${options.seed}`,
    options.dtype,
  ];
  if (options.transitions !== undefined && options.transitions.length > 0) {
    parts.push(`tr${transitionsDigest(options.transitions)}`);
  }
  return `${parts.join("-")}.gguf`;
}

/** Returns an 8-hex-digit FNV-1a digest of the transition pairs, for the file name. */
function transitionsDigest(transitions: ReadonlyArray<readonly [number, number]>): string {
  let hash = 0x811c9dc5;
  for (const character of transitions.map((pair) => pair.join(">")).join(",")) {
    hash = Math.imul(hash ^ character.charCodeAt(0), 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

function formatValue(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
