/**
 * Trains the shipped zstd dictionaries, one per binary wire mode, from Codec streams of the
 * demo model, whose tokenizer is Qwen's. Run with `npm run train-dicts`; it needs the `zstd`
 * command (Debian package `zstd`), which only this script uses.
 *
 * Each sample is one whole response body of a completion with a random prompt length, seed and
 * length, streamed at temperature 1 without compression. `zstd --train` builds a 16 KiB
 * dictionary from the samples, and `dicts/zstd/manifest.json` records which tokenizer it was
 * trained for, so the engine offers it only for models with the same tokenizer.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Command } from "commander";

import { ensureDemoModel } from "../src/demo-model/demo-model.js";
import { defaultEngineOptions } from "../src/engine/engine-options.js";
import { startEngine } from "../src/engine/engine-server.js";
import {
  SHIPPED_DICTIONARY_DIR,
  tokenizerFingerprint,
  type DictionaryManifestEntry,
} from "../src/engine/zstd-dictionaries.js";
import { listeningPort } from "../src/http/listen-address.js";
import { createLogger } from "../src/http/logger.js";
import { codecConfigFromEnv } from "../src/engine/codec-config.js";
import { defaultDataDir } from "../src/supervisor/supervisor-options.js";

interface Flags {
  samples: string;
  maxDictBytes: string;
  seed: string;
}

const FORMATS = ["msgpack", "protobuf"] as const;

async function main(flags: Flags): Promise<void> {
  const samplesPerFormat = Number(flags.samples);
  const modelPath = await ensureDemoModel(`${defaultDataDir()}/demo-models`);
  const engine = await startEngine(
    {
      ...defaultEngineOptions(modelPath),
      port: 0,
      threads: 1,
      gpu: "cpu",
      logLevel: "warn",
      // Defaults, but every frame flushed on its own: these streams train the dictionaries.
      codec: { ...codecConfigFromEnv({}), compressionFlushMs: 0 },
    },
    createLogger("engine", "warn"),
  );
  await engine.loaded;
  const baseUrl = `http://127.0.0.1:${listeningPort(engine.app)}`;
  const host = engine.state.requireReady().host;
  const fingerprint = tokenizerFingerprint(host.tokenizerMap.map);
  const work = await mkdtemp(join(tmpdir(), "codec-dict-samples-"));
  const random = seededRandom(Number(flags.seed));

  try {
    const entries: DictionaryManifestEntry[] = [];
    for (const format of FORMATS) {
      let totalBytes = 0;
      const files: string[] = [];
      for (let index = 0; index < samplesPerFormat; index++) {
        const body = await sampleStream(baseUrl, format, random);
        const file = join(work, `${format}-${index}.bin`);
        await writeFile(file, body);
        files.push(file);
        totalBytes += body.length;
      }

      const name = `qwen-${format}-v1.zstd`;
      const output = join(SHIPPED_DICTIONARY_DIR, name);
      const result = spawnSync(
        "zstd",
        ["--train", "-q", "-f", `--maxdict=${flags.maxDictBytes}`, "-o", output, ...files],
        {
          encoding: "utf8",
        },
      );
      if (result.error !== undefined || result.status !== 0) {
        throw new Error(
          `zstd --train failed (install the zstd package): ${result.error?.message ?? result.stderr}`,
        );
      }
      entries.push({
        format,
        file: name,
        tokenizer_sha256: fingerprint,
        trained_at: new Date().toISOString().slice(0, 10),
        corpus_summary:
          `${samplesPerFormat} ${format} streams (${totalBytes} bytes) of the codec-serve demo model ` +
          "(Qwen3 tokenizer), temperature 1, top-k 50, 8 to 256 tokens each",
      });
      process.stdout.write(
        `${output}: ${(await readFile(output)).length} bytes from ${totalBytes} bytes of samples\n`,
      );
    }
    await writeFile(
      join(SHIPPED_DICTIONARY_DIR, "manifest.json"),
      `${JSON.stringify({ dictionaries: entries }, null, 2)}\n`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
    await engine.close();
  }
}

/** Streams one completion without compression and returns its body bytes. */
async function sampleStream(
  baseUrl: string,
  format: string,
  random: () => number,
): Promise<Uint8Array> {
  const promptLength = 1 + Math.floor(random() * 24);
  const prompt = Array.from({ length: promptLength }, () => Math.floor(random() * 150_000));
  const response = await fetch(`${baseUrl}/v1/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Accept-Encoding": "identity" },
    body: JSON.stringify({
      prompt,
      max_tokens: 8 + Math.floor(random() * 249),
      temperature: 1,
      // Sampling from the full 151,669-token vocabulary is slow on a CPU; top-k 50 keeps the
      // streams varied and takes a fraction of the time.
      top_k: 50,
      seed: Math.floor(random() * 2 ** 31),
      stream_format: format,
    }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** A small deterministic generator (mulberry32), so reruns draw the same requests. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

await new Command("train-dicts")
  .description(
    "Train the shipped zstd dictionaries from Codec streams of the demo model (needs the zstd command)",
  )
  .option("--samples <count>", "streams per wire mode", "150")
  .option("--max-dict-bytes <bytes>", "dictionary size limit in bytes", "16384")
  .option("--seed <number>", "seed of the request generator", "1")
  .action(main)
  .parseAsync(process.argv);
