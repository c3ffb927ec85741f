import { readFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

import { Command } from "commander";

import { ensureDemoModel } from "../src/demo-model/demo-model.js";
import { defaultDataDir } from "../src/supervisor/supervisor-options.js";
import { measureThroughput, measureWireBytes } from "./bench/engine-bench.js";

const BENCHMARKS_DOC = fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url));

interface Flags {
  model?: string;
  threads: string;
  write: boolean;
}

/**
 * Measures the engine on this machine and prints Markdown; with `--write` it also replaces
 * the generated section of docs/benchmarks.md.
 */
async function main(flags: Flags): Promise<void> {
  const modelPath = flags.model ?? (await ensureDemoModel(`${defaultDataDir()}/demo-models`));
  const threadCounts = flags.threads.split(",").map((value) => Number(value));

  const sections = [
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` on ${machineDescription()}.`,
    `Model: \`${modelPath.split("/").at(-1)}\`, greedy decoding, \`ignore_eos\` so every request generates the full length.`,
    "### Response bytes per token (one 256-token completion, `--threads 1`)",
    await measureWireBytes(modelPath),
    "### Engine decoding speed (median of 3 runs, 256 tokens each)",
    await measureThroughput(modelPath, threadCounts),
  ];
  const markdown = sections.join("\n\n");
  process.stdout.write(`${markdown}\n`);
  if (flags.write) await replaceGeneratedSection(markdown);
}

function machineDescription(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const memoryGiB = Math.round(totalmem() / 2 ** 30);
  return `${cpus().length} × ${cpu}, ${memoryGiB} GiB RAM, Node.js ${process.version}, ${process.platform}`;
}

const START = "<!-- generated:engine:start -->";
const END = "<!-- generated:engine:end -->";

async function replaceGeneratedSection(markdown: string): Promise<void> {
  const document = await readFile(BENCHMARKS_DOC, "utf8");
  const start = document.indexOf(START);
  const end = document.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${BENCHMARKS_DOC} has no ${START} … ${END} section`);
  const updated = `${document.slice(0, start + START.length)}\n${markdown}\n${document.slice(end)}`;
  await writeFile(BENCHMARKS_DOC, updated);
}

await new Command("benchmark")
  .description("Measure wire bytes per token and decoding speed of the engine on this machine")
  .option("--model <file>", "GGUF model to measure (default: the demo model)")
  .option("--threads <list>", "comma-separated thread counts to compare", "1,2")
  .option("--write", "replace the generated section of docs/benchmarks.md", false)
  .action(main)
  .parseAsync(process.argv);
