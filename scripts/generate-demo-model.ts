/**
 * Writes a demo model GGUF (llama architecture, seeded random weights, the real Qwen3 tokenizer)
 * and prints its path, size in bytes and sha256. The same options always give the same bytes.
 *
 * @example
 *   node dist/scripts/generate-demo-model.js --out models/demo.gguf
 *   node dist/scripts/generate-demo-model.js --out models/e512.gguf --embd 512 --layers 8 --heads 8 --ff 1536
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";

import { Command, InvalidArgumentError, Option } from "commander";

import { DEFAULT_DEMO_MODEL_OPTIONS, writeDemoModel } from "../src/demo-model/demo-model.js";
import type { DemoModelOptions } from "../src/demo-model/demo-model.js";

interface CommandLineOptions {
  out: string;
  embd: number;
  layers: number;
  heads: number;
  kvHeads?: number;
  ff: number;
  ctx: number;
  seed: number;
  dtype: DemoModelOptions["dtype"];
  transitions?: Array<[number, number]>;
}

function parseInteger(value: string): number {
  if (!/^\d+$/.test(value)) {
    throw new InvalidArgumentError("Expected a non-negative integer.");
  }
  return Number(value);
}

/** Parses `FROM:TO,FROM:TO`: token ID pairs that steer a greedy decode. */
function parseTransitions(value: string): Array<[number, number]> {
  return value.split(",").map((pair) => {
    const match = /^\s*(\d+):(\d+)\s*$/.exec(pair);
    if (match === null) {
      throw new InvalidArgumentError(
        `'${pair}' is not a pair FROM:TO of token IDs; write e.g. 9707:11,11:9707`,
      );
    }
    return [Number(match[1]), Number(match[2])];
  });
}

function createCommand(): Command {
  const defaults = DEFAULT_DEMO_MODEL_OPTIONS;
  return new Command("generate-demo-model")
    .description(
      "Write a demo model GGUF: llama architecture, seeded random weights, the Qwen3 tokenizer.",
    )
    .requiredOption(
      "--out <file>",
      "path of the GGUF file to write; missing directories are created",
    )
    .option("--embd <n>", "embedding length (hidden width)", parseInteger, defaults.embeddingLength)
    .option("--layers <n>", "number of transformer blocks", parseInteger, defaults.blockCount)
    .option(
      "--heads <n>",
      "number of attention heads; must divide --embd",
      parseInteger,
      defaults.headCount,
    )
    .option(
      "--kv-heads <n>",
      "number of key/value heads; must divide --heads (default: --heads)",
      parseInteger,
    )
    .option("--ff <n>", "feed-forward hidden width", parseInteger, defaults.feedForwardLength)
    .option(
      "--ctx <n>",
      "training context length written to the file, in tokens",
      parseInteger,
      defaults.contextLength,
    )
    .option(
      "--seed <n>",
      "seed of the random weights, 0 to 4294967295",
      parseInteger,
      defaults.seed,
    )
    .addOption(
      new Option("--dtype <type>", "element type of the weight matrices")
        .choices(["f16", "f32"])
        .default(defaults.dtype),
    )
    .option(
      "--transitions <pairs>",
      "token ID pairs FROM:TO,… that greedy decoding follows, for deterministic test output",
      parseTransitions,
    );
}

async function main(): Promise<void> {
  const command = createCommand();
  command.parse();
  const options = command.opts<CommandLineOptions>();

  const path = resolve(options.out);
  const startedAt = performance.now();
  try {
    await writeDemoModel(path, {
      embeddingLength: options.embd,
      blockCount: options.layers,
      headCount: options.heads,
      headCountKv: options.kvHeads ?? options.heads,
      feedForwardLength: options.ff,
      contextLength: options.ctx,
      seed: options.seed,
      dtype: options.dtype,
      ...(options.transitions === undefined ? {} : { transitions: options.transitions }),
    });
  } catch (error) {
    if (error instanceof RangeError) {
      command.error(`error: ${error.message}`);
    }
    throw error;
  }
  const durationMs = Math.round(performance.now() - startedAt);

  const bytes = await readFile(path);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  process.stdout.write(
    `path: ${path}\nsize: ${bytes.byteLength} bytes\nsha256: ${sha256}\ntime: ${durationMs} ms\n`,
  );
}

await main();
