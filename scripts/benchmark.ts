import { readFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

import { Command } from "commander";

import { ensureDemoModel } from "../src/demo-model/demo-model.js";
import { SHIPPED_DICTIONARY_DIR } from "../src/engine/zstd-dictionaries.js";
import { defaultDataDir } from "../src/supervisor/supervisor-options.js";
import { measureCompression } from "./bench/compression-bench.js";
import { measureThroughput, measureWireBytes } from "./bench/engine-bench.js";
import { measureMemory } from "./bench/memory-bench.js";
import { measureProxyOverhead, measureSwapModes } from "./bench/supervisor-bench.js";

const BENCHMARKS_DOC = fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url));

interface Flags {
  model?: string;
  threads: string;
  only: string;
  write: boolean;
}

/** A group of measurements that fills one generated section of docs/benchmarks.md. */
interface Section {
  /** Sampling settings of the section's requests, printed after the model name. */
  decoding: string;
  run: (models: { primary: string; secondary: string }, flags: Flags) => Promise<string[]>;
}

const GREEDY = "greedy decoding, `ignore_eos` so every request generates the full length";

const SECTIONS: Record<string, Section> = {
  engine: {
    decoding: GREEDY,
    run: async ({ primary }, flags) => [
      "### Response bytes per token (one 256-token completion, `--threads 1`)",
      await measureWireBytes(primary),
      "### Engine decoding speed (median of 3 runs, 256 tokens each)",
      await measureThroughput(
        primary,
        flags.threads.split(",").map((value) => Number(value)),
      ),
    ],
  },
  compression: {
    decoding:
      "sampled at temperature 1, top-k 50 and a fixed seed (greedy output on random weights repeats one token and compresses unrealistically well), `ignore_eos`",
    run: async ({ primary }) => [
      "### Compressed Codec streams (one sampled 256-token completion)",
      await measureCompression(primary, {
        msgpack: `${SHIPPED_DICTIONARY_DIR}qwen-msgpack-v1.zstd`,
        protobuf: `${SHIPPED_DICTIONARY_DIR}qwen-protobuf-v1.zstd`,
      }),
    ],
  },
  supervisor: {
    decoding: GREEDY,
    run: async ({ primary, secondary }) => [
      "### Proxy overhead (msgpack streams of 128 tokens, engine `--threads 1 --parallel 16`, median of 3 runs)",
      await measureProxyOverhead(primary),
      "### Model swaps under load (8 clients streaming 32-token completions without pause, 3 swaps between two demo models)",
      await measureSwapModes(primary, secondary),
    ],
  },
  memory: {
    decoding: GREEDY,
    run: async ({ primary }) => [
      "### Resident memory (engine `--threads 1 --ctx-size 512 --parallel 16`)",
      await measureMemory(primary),
    ],
  },
};

/**
 * Measures the engine and the supervisor on this machine and prints Markdown; with `--write`
 * it also replaces the generated sections of docs/benchmarks.md.
 */
async function main(flags: Flags): Promise<void> {
  const demoDir = `${defaultDataDir()}/demo-models`;
  const primary = flags.model ?? (await ensureDemoModel(demoDir));
  // A second model with other weights, so a swap really changes which model responds.
  const secondary = await ensureDemoModel(demoDir, { seed: 43 });

  for (const name of flags.only.split(",")) {
    const section = SECTIONS[name];
    if (section === undefined)
      throw new Error(`unknown section '${name}'; choose from ${Object.keys(SECTIONS).join(", ")}`);

    const markdown = [
      `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench -- --only ${name}\` on ${machineDescription()}.`,
      `Model: \`${primary.split("/").at(-1)}\`, ${section.decoding}.`,
      ...(await section.run({ primary, secondary }, flags)),
    ].join("\n\n");
    process.stdout.write(`${markdown}\n\n`);
    if (flags.write) await replaceGeneratedSection(name, markdown);
  }
}

function machineDescription(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const memoryGiB = Math.round(totalmem() / 2 ** 30);
  return `${cpus().length} × ${cpu}, ${memoryGiB} GiB RAM, Node.js ${process.version}, ${process.platform}`;
}

async function replaceGeneratedSection(name: string, markdown: string): Promise<void> {
  const start = `<!-- generated:${name}:start -->`;
  const end = `<!-- generated:${name}:end -->`;
  const document = await readFile(BENCHMARKS_DOC, "utf8");
  const startAt = document.indexOf(start);
  const endAt = document.indexOf(end);
  if (startAt < 0 || endAt < startAt)
    throw new Error(`${BENCHMARKS_DOC} has no ${start} … ${end} section`);
  const updated = `${document.slice(0, startAt + start.length)}\n${markdown}\n${document.slice(endAt)}`;
  await writeFile(BENCHMARKS_DOC, updated);
}

await new Command("benchmark")
  .description("Measure wire bytes, decoding speed, proxy overhead and model swaps on this machine")
  .option("--model <file>", "GGUF model to measure (default: the demo model)")
  .option("--threads <list>", "comma-separated thread counts to compare", "1,2")
  .option(
    "--only <sections>",
    `comma-separated sections to run: ${Object.keys(SECTIONS).join(", ")}`,
    Object.keys(SECTIONS).join(","),
  )
  .option("--write", "replace the generated sections of docs/benchmarks.md", false)
  .action(main)
  .parseAsync(process.argv);
