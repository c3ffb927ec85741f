import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { getLlama, LlamaLogLevel, readGgufFileInfo } from "node-llama-cpp";
import type { GgufFileInfo, Llama, LlamaContext, LlamaModel, Token } from "node-llama-cpp";

import {
  DEFAULT_DEMO_MODEL_OPTIONS,
  demoModelFileName,
  ensureDemoModel,
  writeDemoModel,
} from "../src/demo-model/demo-model.js";
import type { DemoModelOptions } from "../src/demo-model/demo-model.js";
import { float32ToFloat16Bits } from "../src/demo-model/float16.js";
import { QWEN_GOLDEN_TOKENIZATIONS } from "./helpers/qwen-golden.js";

const QWEN_VOCABULARY_SIZE = 151_669;
const GENERATED_TOKEN_COUNT = 16;

let temporaryDirectory: string;
let defaultModelPath: string;
let llama: Llama;
let model: LlamaModel;
let context: LlamaContext;

async function sha256OfFile(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

async function generateGreedily(promptIds: readonly number[]): Promise<number[]> {
  const sequence = context.getSequence();
  try {
    const generated: number[] = [];
    for await (const token of sequence.evaluate(promptIds as Token[], { temperature: 0 })) {
      generated.push(token);
      if (generated.length === GENERATED_TOKEN_COUNT) {
        break;
      }
    }
    return generated;
  } finally {
    sequence.dispose();
  }
}

before(async () => {
  temporaryDirectory = await mkdtemp(join(tmpdir(), "codec-serve-demo-model-"));
  defaultModelPath = await ensureDemoModel(join(temporaryDirectory, "cache"));

  llama = await getLlama({
    gpu: false,
    build: "never",
    maxThreads: 1,
    logLevel: LlamaLogLevel.error,
  });
  model = await llama.loadModel({ modelPath: defaultModelPath });
  context = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 });
});

after(async () => {
  await context?.dispose();
  await model?.dispose();
  await llama?.dispose();
  if (temporaryDirectory !== undefined) {
    await rm(temporaryDirectory, { recursive: true, force: true });
  }
});

describe("demo model file", () => {
  it("names the cache file after the options", () => {
    assert.equal(
      defaultModelPath,
      join(
        temporaryDirectory,
        "cache",
        "codec-serve-demo-qwen3-e64-l2-h4-ff128-c4096-s42-f16.gguf",
      ),
    );
    assert.equal(
      demoModelFileName({ ...DEFAULT_DEMO_MODEL_OPTIONS, headCountKv: 2, dtype: "f32" }),
      "codec-serve-demo-qwen3-e64-l2-h4-kv2-ff128-c4096-s42-f32.gguf",
    );
  });

  it("is byte-identical for the same seed", async () => {
    // Two concurrent calls on an empty directory both generate and rename, as racing processes would.
    const directory = join(temporaryDirectory, "race");
    const [firstPath, secondPath] = await Promise.all([
      ensureDemoModel(directory),
      ensureDemoModel(directory),
    ]);

    assert.equal(firstPath, secondPath);
    assert.equal(await sha256OfFile(firstPath), await sha256OfFile(defaultModelPath));
    assert.deepEqual(await readdir(directory), [demoModelFileName(DEFAULT_DEMO_MODEL_OPTIONS)]);
  });

  it("differs for another seed", async () => {
    const path = join(temporaryDirectory, "seed-43.gguf");
    await writeDemoModel(path, { seed: 43 });

    const [defaultBytes, otherBytes] = await Promise.all([
      readFile(defaultModelPath),
      readFile(path),
    ]);
    assert.equal(otherBytes.byteLength, defaultBytes.byteLength);
    assert.notEqual(
      createHash("sha256").update(otherBytes).digest("hex"),
      createHash("sha256").update(defaultBytes).digest("hex"),
    );
  });

  it("is reused when it already exists", async () => {
    const before = await stat(defaultModelPath);
    const path = await ensureDemoModel(join(temporaryDirectory, "cache"));
    const after = await stat(path);

    assert.equal(path, defaultModelPath);
    assert.equal(after.mtimeMs, before.mtimeMs);
    assert.equal(after.ino, before.ino);
  });

  it("writes llama and tokenizer metadata", async () => {
    const info: GgufFileInfo = await readGgufFileInfo(defaultModelPath);
    const metadata = info.metadata as unknown as Record<string, Record<string, unknown>>;
    const llamaMetadata = metadata["llama"]!;
    const tokenizer = metadata["tokenizer"]! as {
      ggml: Record<string, unknown>;
      chat_template: unknown;
    };

    assert.equal(info.version, 3);
    assert.equal(metadata["general"]!["architecture"], "llama");
    assert.equal(llamaMetadata["context_length"], 4096);
    assert.equal(llamaMetadata["embedding_length"], 64);
    assert.equal(llamaMetadata["block_count"], 2);
    assert.equal(llamaMetadata["feed_forward_length"], 128);
    assert.equal(llamaMetadata["vocab_size"], QWEN_VOCABULARY_SIZE);
    assert.deepEqual(llamaMetadata["rope"], { dimension_count: 16, freq_base: 1_000_000 });
    assert.equal(tokenizer.ggml["model"], "gpt2");
    assert.equal(tokenizer.ggml["pre"], "qwen2");
    assert.equal(tokenizer.ggml["eos_token_id"], 151_645);
    assert.equal(tokenizer.ggml["eot_token_id"], 151_645);
    assert.equal(tokenizer.ggml["bos_token_id"], 151_643);
    assert.equal(tokenizer.ggml["padding_token_id"], 151_643);
    assert.equal(tokenizer.ggml["add_bos_token"], false);
    assert.equal((tokenizer.ggml["tokens"] as string[]).length, QWEN_VOCABULARY_SIZE);
    assert.equal((tokenizer.ggml["merges"] as string[])[0], "Ġ Ġ");
    assert.match(String(tokenizer.chat_template), /<\|im_start\|>/);
  });

  it("ties the output to token_embd", async () => {
    const info = await readGgufFileInfo(defaultModelPath);
    const tensors = info.tensorInfo ?? [];
    const names = tensors.map((tensor) => tensor.name);
    const embedding = tensors.find((tensor) => tensor.name === "token_embd.weight");

    assert.equal(tensors.length, 20);
    assert.ok(!names.includes("output.weight"));
    assert.deepEqual(embedding?.dimensions, [64, QWEN_VOCABULARY_SIZE]);
    assert.equal(embedding?.ggmlType, 1);
    for (const tensor of tensors) {
      assert.equal(
        Number(tensor.offset) % 32,
        0,
        `${tensor.name} offset ${tensor.offset} is not 32-byte aligned`,
      );
    }
  });
});

describe("demo model in node-llama-cpp", () => {
  it("loads with the Qwen vocabulary", () => {
    assert.equal(model.fileInfo.metadata.tokenizer.ggml.tokens.length, QWEN_VOCABULARY_SIZE);
    assert.equal(model.trainContextSize, 4096);
    assert.equal(model.tokens.eos, 151_645);
    assert.equal(model.tokens.shouldPrependBosToken, false);
  });

  it("tokenizes like Qwen", () => {
    for (const { text, ids } of QWEN_GOLDEN_TOKENIZATIONS) {
      assert.deepEqual(
        Array.from(model.tokenize(text)),
        ids,
        `tokenization of ${JSON.stringify(text)}`,
      );
    }
  });

  it("parses special tokens", () => {
    assert.deepEqual(Array.from(model.tokenize("<tool_call>", true)), [151_657]);
    assert.deepEqual(Array.from(model.tokenize("</tool_call>", true)), [151_658]);
    assert.deepEqual(Array.from(model.tokenize("<|im_start|>user", true)), [151_644, 872]);
    assert.deepEqual(Array.from(model.tokenize("<|im_end|>", true)), [151_645]);
  });

  it("ends generation on im_end and endoftext", () => {
    assert.equal(model.isEogToken(151_645 as Token), true);
    assert.equal(model.isEogToken(151_643 as Token), true);
    assert.equal(model.isEogToken(9707 as Token), false);
  });

  it("generates the same IDs greedily", async () => {
    const prompt = Array.from(model.tokenize("Hello, world!"));
    const first = await generateGreedily(prompt);
    const second = await generateGreedily(prompt);

    assert.equal(first.length, GENERATED_TOKEN_COUNT);
    assert.deepEqual(second, first);
  });
});

describe("demo model options", () => {
  const invalidOptions: readonly [
    label: string,
    options: Partial<DemoModelOptions>,
    message: RegExp,
  ][] = [
    ["zero embeddingLength", { embeddingLength: 0 }, /embeddingLength: 0/],
    ["fractional blockCount", { blockCount: 1.5 }, /blockCount: 1\.5/],
    ["negative headCount", { headCount: -4 }, /headCount: -4/],
    ["NaN feedForwardLength", { feedForwardLength: Number.NaN }, /feedForwardLength: NaN/],
    ["contextLength above u32", { contextLength: 2 ** 32 }, /contextLength: 4294967296/],
    ["negative seed", { seed: -1 }, /seed: -1/],
    ["unknown dtype", { dtype: "q8" as DemoModelOptions["dtype"] }, /dtype: "q8"/],
    [
      "indivisible embeddingLength",
      { embeddingLength: 66 },
      /embeddingLength: 66 is not divisible by headCount 4/,
    ],
    [
      "indivisible headCountKv",
      { headCountKv: 3 },
      /headCountKv: headCount 4 is not divisible by headCountKv 3/,
    ],
    ["odd head dimension", { embeddingLength: 12 }, /head dimension 3, which must be even/],
  ];

  for (const [label, options, message] of invalidOptions) {
    it(`rejects ${label}`, async () => {
      const path = join(temporaryDirectory, "invalid.gguf");
      await assert.rejects(writeDemoModel(path, options), (error: unknown) => {
        assert.ok(error instanceof RangeError);
        assert.match(error.message, message);
        return true;
      });
      await assert.rejects(stat(path), { code: "ENOENT" });
    });
  }

  it("treats undefined as unset", async () => {
    const path = await ensureDemoModel(join(temporaryDirectory, "cache"), { seed: undefined });
    assert.equal(path, defaultModelPath);
  });
});

describe("float32ToFloat16Bits", () => {
  const cases: readonly [label: string, value: number, expected: number][] = [
    ["0", 0, 0x0000],
    ["-0", -0, 0x8000],
    ["1", 1, 0x3c00],
    ["-2", -2, 0xc000],
    ["0.1", 0.1, 0x2e66],
    ["65504 (largest half)", 65504, 0x7bff],
    ["65520 (rounds to infinity)", 65520, 0x7c00],
    ["Infinity", Number.POSITIVE_INFINITY, 0x7c00],
    ["-Infinity", Number.NEGATIVE_INFINITY, 0xfc00],
    ["2^-14 (smallest normal)", 2 ** -14, 0x0400],
    ["2^-24 (smallest subnormal)", 2 ** -24, 0x0001],
    ["2^-25 (tie to zero)", 2 ** -25, 0x0000],
    ["3 * 2^-26 (rounds up)", 3 * 2 ** -26, 0x0001],
    ["2^-14 - 2^-25 (subnormal carry)", 2 ** -14 - 2 ** -25, 0x0400],
    ["1 + 2^-11 (tie to even, down)", 1 + 2 ** -11, 0x3c00],
    ["1 + 3 * 2^-11 (tie to even, up)", 1 + 3 * 2 ** -11, 0x3c02],
  ];

  for (const [label, value, expected] of cases) {
    it(`converts ${label}`, () => {
      assert.equal(float32ToFloat16Bits(value), expected);
    });
  }

  it("keeps NaN a NaN", () => {
    const bits = float32ToFloat16Bits(Number.NaN);
    assert.equal(bits & 0x7c00, 0x7c00);
    assert.notEqual(bits & 0x03ff, 0);
  });
});
