import { startBenchEngine } from "./engine-process.js";
import { measureStream, median } from "./measure-stream.js";

/** Tokens generated per measured request. */
export const COMPLETION_TOKENS = 256;
const RUNS = 3;

/** Builds a request that always generates exactly COMPLETION_TOKENS tokens. */
function completionRequest(format: string, extra: Record<string, unknown> = {}) {
  return {
    prompt: "The history of the printing press",
    max_tokens: COMPLETION_TOKENS,
    temperature: 0,
    ignore_eos: true,
    stream: true,
    stream_format: format,
    ...extra,
  };
}

/** Bytes per token on the wire for each response format. */
export async function measureWireBytes(modelPath: string): Promise<string> {
  const engine = await startBenchEngine(modelPath, ["--threads", "1"]);
  try {
    const rows: string[] = [];
    const url = `${engine.baseUrl}/v1/completions`;
    const jsonBody = await measureStream(url, { ...completionRequest("json"), stream: false });
    const sse = await measureStream(url, completionRequest("json"));
    rows.push(row("JSON (not streamed)", jsonBody.bodyBytes, sse.bodyBytes));
    rows.push(row("SSE (`stream: true`)", sse.bodyBytes, sse.bodyBytes));
    for (const format of ["msgpack", "protobuf"]) {
      const measured = await measureStream(url, completionRequest(format));
      rows.push(row(format, measured.bodyBytes, sse.bodyBytes));
    }
    return [
      `| format | bytes for ${COMPLETION_TOKENS} tokens | bytes per token | SSE bytes / these bytes |`,
      "|---|---|---|---|",
      ...rows,
    ].join("\n");
  } finally {
    await engine.stop();
  }
}

function row(name: string, bytes: number, sseBytes: number): string {
  const perToken = (bytes / COMPLETION_TOKENS).toFixed(1);
  return `| ${name} | ${bytes} | ${perToken} | ${(sseBytes / bytes).toFixed(1)} |`;
}

/** Decoding speed of one stream and of four concurrent streams, per thread count. */
export async function measureThroughput(
  modelPath: string,
  threadCounts: readonly number[],
): Promise<string> {
  const rows: string[] = [];
  for (const threads of threadCounts) {
    const engine = await startBenchEngine(modelPath, [
      "--threads",
      String(threads),
      "--parallel",
      "4",
    ]);
    try {
      const url = `${engine.baseUrl}/v1/completions`;
      await measureStream(url, completionRequest("msgpack", { max_tokens: 16 }));

      const single: number[] = [];
      const firstToken: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const measured = await measureStream(url, completionRequest("msgpack"));
        single.push(COMPLETION_TOKENS / (measured.streamMs / 1000));
        firstToken.push(measured.firstByteMs);
      }

      const concurrent: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const startedAt = performance.now();
        await Promise.all(
          Array.from({ length: 4 }, () => measureStream(url, completionRequest("msgpack"))),
        );
        concurrent.push((4 * COMPLETION_TOKENS) / ((performance.now() - startedAt) / 1000));
      }
      rows.push(
        `| ${threads} | ${median(single).toFixed(0)} | ${median(firstToken).toFixed(1)} | ${median(concurrent).toFixed(0)} |`,
      );
    } finally {
      await engine.stop();
    }
  }
  return [
    "| threads | tokens/s, 1 stream | time to first token (ms) | tokens/s, 4 concurrent streams |",
    "|---|---|---|---|",
    ...rows,
  ].join("\n");
}
