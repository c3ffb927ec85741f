import { readFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

import { request } from "undici";

import { parseZstdDictionary } from "../../src/engine/compression/zstd-dictionary.js";
import { ZstdStreamEncoder } from "../../src/engine/compression/zstd-stream-encoder.js";
import { startBenchEngine } from "./engine-process.js";
import { median } from "./measure-stream.js";

/** Tokens per measured completion. */
const TOKENS = 256;
const RUNS = 3;
const FORMATS = ["msgpack", "protobuf"] as const;
const ENCODINGS = ["identity", "gzip", "br", "zstd"] as const;

/** Wire bytes and first-byte time of one raw (still compressed) response. */
interface RawMeasurement {
  bytes: number;
  firstByteMs: number;
  contentEncoding: string;
  dictionary: string | undefined;
  body: Uint8Array;
}

/**
 * Streams one sampled completion (temperature 1, top-k 50, fixed seed, so every run carries the
 * same IDs) and counts the bytes as they arrive on the wire, before any decompression.
 */
async function measureRaw(
  baseUrl: string,
  format: string,
  encoding: string,
): Promise<RawMeasurement> {
  const startedAt = performance.now();
  const response = await request(`${baseUrl}/v1/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Accept-Encoding": encoding },
    body: JSON.stringify({
      prompt: "The history of the printing press",
      max_tokens: TOKENS,
      ignore_eos: true,
      temperature: 1,
      top_k: 50,
      seed: 42,
      stream_format: format,
    }),
  });
  if (response.statusCode !== 200)
    throw new Error(`HTTP ${response.statusCode}: ${await response.body.text()}`);

  const chunks: Buffer[] = [];
  let firstByteAt: number | undefined;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    firstByteAt ??= performance.now();
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const dictionary = response.headers["codec-zstd-dict"];
  return {
    bytes: body.length,
    firstByteMs: (firstByteAt ?? performance.now()) - startedAt,
    contentEncoding: String(response.headers["content-encoding"] ?? "identity"),
    dictionary: typeof dictionary === "string" ? dictionary : undefined,
    body,
  };
}

/** Flush windows compared: every frame on its own, and the default window. */
const FLUSH_WINDOWS_MS = [0, 20];

/**
 * Measures wire bytes per token and time to first byte for each binary format, content
 * coding and flush window (`CODEC_COMPRESSION_FLUSH_MS`). It also reports what the same body
 * costs compressed in one piece, which a buffering compressor approaches by delaying frames.
 */
export async function measureCompression(
  modelPath: string,
  dictionaryPaths: Record<string, string>,
): Promise<string> {
  const rows: string[] = [];
  for (const flushMs of FLUSH_WINDOWS_MS)
    rows.push(...(await measureWindow(modelPath, dictionaryPaths, flushMs)));
  return [
    `| flush window (ms) | format | Content-Encoding | bytes for ${TOKENS} tokens | bytes per token | time to first byte (ms, median of ${RUNS}) | bytes per token, whole body compressed at once |`,
    "|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

async function measureWindow(
  modelPath: string,
  dictionaryPaths: Record<string, string>,
  flushMs: number,
): Promise<string[]> {
  const engine = await startBenchEngine(modelPath, ["--threads", "1"], {
    CODEC_COMPRESSION_FLUSH_MS: String(flushMs),
  });
  try {
    const rows: string[] = [];
    for (const format of FORMATS) {
      await measureRaw(engine.baseUrl, format, "identity");
      let identityBody: Uint8Array | undefined;
      for (const encoding of ENCODINGS) {
        const runs: RawMeasurement[] = [];
        for (let run = 0; run < RUNS; run++)
          runs.push(await measureRaw(engine.baseUrl, format, encoding));
        const measured = runs[0]!;
        if (measured.contentEncoding !== encoding) {
          throw new Error(
            `${format} asked for ${encoding} but got ${measured.contentEncoding}; is a dictionary loaded?`,
          );
        }
        identityBody ??= measured.body;
        const ttfb = median(runs.map((run) => run.firstByteMs));
        const whole = wholeBodyBytes(identityBody, encoding, dictionaryPaths[format]);
        rows.push(
          `| ${flushMs} | ${format} | ${encoding} | ${measured.bytes} | ${(measured.bytes / TOKENS).toFixed(2)} | ${ttfb.toFixed(1)} | ${(whole / TOKENS).toFixed(2)} |`,
        );
      }
    }
    return rows;
  } finally {
    await engine.stop();
  }
}

function wholeBodyBytes(
  body: Uint8Array,
  encoding: string,
  dictionaryPath: string | undefined,
): number {
  switch (encoding) {
    case "gzip":
      return gzipSync(body, { level: 6 }).length;
    case "br":
      return brotliCompressSync(body, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_LGWIN]: 22 },
      }).length;
    case "zstd": {
      if (dictionaryPath === undefined) return Number.NaN;
      const encoder = new ZstdStreamEncoder(parseZstdDictionary(readDictionary(dictionaryPath)));
      return encoder.push(body).length + encoder.finish().length;
    }
    default:
      return body.length;
  }
}

const dictionaryCache = new Map<string, Uint8Array>();

function readDictionary(path: string): Uint8Array {
  let bytes = dictionaryCache.get(path);
  if (bytes === undefined) {
    bytes = new Uint8Array(readFileSync(path));
    dictionaryCache.set(path, bytes);
  }
  return bytes;
}
