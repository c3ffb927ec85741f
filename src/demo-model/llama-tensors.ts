import { constants as bufferConstants } from "node:buffer";

import { GGML_TENSOR_ELEMENT_BYTES } from "./gguf-format.js";
import type { GgufMetadataEntry, GgufTensor, GgufTensorType } from "./gguf-format.js";
import { SeededRandom, deriveSeed } from "./seeded-random.js";
import type { DemoModelOptions } from "./demo-model-options.js";

/**
 * Standard deviation of the random weight matrices: the `initializer_range` in the Hugging Face
 * configs of GPT-2, Llama and Qwen.
 */
const WEIGHT_STANDARD_DEVIATION = 0.02;

/** Qwen3 uses an RMSNorm epsilon of 1e-6. */
const RMS_NORM_EPSILON = 1e-6;

/** Qwen2 and Qwen3 use a RoPE base frequency of 1,000,000. */
const ROPE_FREQUENCY_BASE = 1_000_000;

/** Returns the `llama.*` hyperparameter entries that llama.cpp needs to build the graph. */
export function llamaArchitectureMetadata(
  options: DemoModelOptions,
  vocabularySize: number,
): GgufMetadataEntry[] {
  const headDimension = options.embeddingLength / options.headCount;
  return [
    { key: "llama.vocab_size", value: { type: "uint32", value: vocabularySize } },
    { key: "llama.context_length", value: { type: "uint32", value: options.contextLength } },
    { key: "llama.embedding_length", value: { type: "uint32", value: options.embeddingLength } },
    { key: "llama.block_count", value: { type: "uint32", value: options.blockCount } },
    {
      key: "llama.feed_forward_length",
      value: { type: "uint32", value: options.feedForwardLength },
    },
    { key: "llama.attention.head_count", value: { type: "uint32", value: options.headCount } },
    { key: "llama.attention.head_count_kv", value: { type: "uint32", value: options.headCountKv } },
    {
      key: "llama.attention.layer_norm_rms_epsilon",
      value: { type: "float32", value: RMS_NORM_EPSILON },
    },
    // llama.cpp rejects a llama model whose rotation width differs from the head dimension.
    { key: "llama.rope.dimension_count", value: { type: "uint32", value: headDimension } },
    { key: "llama.rope.freq_base", value: { type: "float32", value: ROPE_FREQUENCY_BASE } },
  ];
}

/**
 * Returns the tensors of a llama model with tied embeddings: no `output.weight`, so llama.cpp
 * reuses `token_embd.weight` as the output projection. Matrices use `options.dtype` and contain
 * normal noise (std 0.02). Norm weights are f32 ones. Each tensor's values come from its own
 * stream seeded by `options.seed` and the tensor name.
 */
export function llamaTensors(options: DemoModelOptions, vocabularySize: number): GgufTensor[] {
  const embedding = options.embeddingLength;
  const keyValueWidth = (embedding / options.headCount) * options.headCountKv;
  const feedForward = options.feedForwardLength;
  const transitions = options.transitions ?? [];
  const steered = transitions.length > 0;
  // With transitions, the blocks add nothing to the residual stream.
  const blockOutput = (name: string, shape: [number, number]) =>
    steered ? zeroMatrix(name, shape, options) : randomMatrix(name, shape, options);

  const tensors: GgufTensor[] = [
    randomMatrix("token_embd.weight", [embedding, vocabularySize], options),
  ];
  for (let block = 0; block < options.blockCount; block += 1) {
    const prefix = `blk.${block}`;
    tensors.push(
      onesVector(`${prefix}.attn_norm.weight`, embedding),
      randomMatrix(`${prefix}.attn_q.weight`, [embedding, embedding], options),
      randomMatrix(`${prefix}.attn_k.weight`, [embedding, keyValueWidth], options),
      randomMatrix(`${prefix}.attn_v.weight`, [embedding, keyValueWidth], options),
      blockOutput(`${prefix}.attn_output.weight`, [embedding, embedding]),
      onesVector(`${prefix}.ffn_norm.weight`, embedding),
      randomMatrix(`${prefix}.ffn_gate.weight`, [embedding, feedForward], options),
      randomMatrix(`${prefix}.ffn_up.weight`, [embedding, feedForward], options),
      blockOutput(`${prefix}.ffn_down.weight`, [feedForward, embedding]),
    );
  }
  tensors.push(onesVector("output_norm.weight", embedding));
  if (steered) tensors.push(transitionOutput(options, vocabularySize, transitions));

  for (const tensor of tensors) {
    checkTensorFitsInBuffer(tensor);
  }
  return tensors;
}

function randomMatrix(
  name: string,
  shape: [number, number],
  options: DemoModelOptions,
): GgufTensor {
  return {
    name,
    shape,
    type: options.dtype,
    values: () =>
      new SeededRandom(deriveSeed(options.seed, name)).normalArray(
        shape[0] * shape[1],
        WEIGHT_STANDARD_DEVIATION,
      ),
  };
}

function zeroMatrix(name: string, shape: [number, number], options: DemoModelOptions): GgufTensor {
  return { name, shape, type: options.dtype, values: () => new Float32Array(shape[0] * shape[1]) };
}

/**
 * Scale of a transition's output row. The target's logit is about scale × |e| × sqrt(width)
 * (about 64 at width 64 with std 0.02 embeddings), several times any other target's logit.
 */
const TRANSITION_SCALE = 50;

/** Builds an untied output projection whose row for `to` is a scaled copy of the embedding of `from`. */
function transitionOutput(
  options: DemoModelOptions,
  vocabularySize: number,
  transitions: ReadonlyArray<readonly [number, number]>,
): GgufTensor {
  const width = options.embeddingLength;
  for (const [from, to] of transitions) {
    if (from >= vocabularySize || to >= vocabularySize) {
      throw new RangeError(
        `Demo model transition [${from}, ${to}] names a token outside the ${vocabularySize}-token vocabulary.`,
      );
    }
  }
  return {
    name: "output.weight",
    shape: [width, vocabularySize],
    type: options.dtype,
    values: () => {
      const embeddings = randomMatrix(
        "token_embd.weight",
        [width, vocabularySize],
        options,
      ).values();
      const output = new Float32Array(width * vocabularySize);
      for (const [from, to] of transitions) {
        for (let i = 0; i < width; i++) {
          output[to * width + i]! += TRANSITION_SCALE * embeddings[from * width + i]!;
        }
      }
      return output;
    },
  };
}

function onesVector(name: string, length: number): GgufTensor {
  return { name, shape: [length], type: "f32", values: () => new Float32Array(length).fill(1) };
}

/**
 * Rejects sizes whose float32 values would not fit in one Node buffer, before any
 * generation starts, with a message naming the tensor.
 */
function checkTensorFitsInBuffer(tensor: GgufTensor): void {
  const elements = tensor.shape.reduce((product, dimension) => product * dimension, 1);
  const float32Bytes = elements * GGML_TENSOR_ELEMENT_BYTES.f32;
  if (float32Bytes > bufferConstants.MAX_LENGTH) {
    throw new RangeError(
      `Demo model tensor ${tensor.name} [${tensor.shape.join(", ")}] needs ${float32Bytes} bytes as float32, above the maximum Node buffer size of ${bufferConstants.MAX_LENGTH} bytes. Reduce embeddingLength or feedForwardLength.`,
    );
  }
}

export function fileTypeFor(dtype: GgufTensorType): number {
  // general.file_type: 0 is ALL_F32 and 1 is MOSTLY_F16 (norm weights stay f32).
  return dtype === "f16" ? 1 : 0;
}
