import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { CLI_ENTRY } from "./engine-process.js";
import { measureStream, median } from "./measure-stream.js";

/** Engine arguments for supervisor measurements: one thread, room for 16 streams. */
const ENGINE_ARGS = "--threads 1 --ctx-size 512 --parallel 16 --gpu cpu --log-level warn";
export const STREAM_TOKENS = 128;

interface BenchSupervisor {
  baseUrl: string;
  dataDir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `codec-serve serve` with models `a` and `b` in its registry and waits until it serves `a`. */
export async function startSupervisor(
  modelA: string,
  modelB: string,
  swapMode: string,
): Promise<BenchSupervisor> {
  const dataDir = await mkdtemp(join(tmpdir(), "codec-serve-bench-"));
  for (const [name, file] of [
    ["a", modelA],
    ["b", modelB],
  ] as const) {
    await mkdir(join(dataDir, "models", name), { recursive: true });
    await symlink(file, join(dataDir, "models", name, `${name}.gguf`));
  }
  const child = spawn(
    process.execPath,
    [
      CLI_ENTRY,
      "serve",
      "--port",
      "0",
      "--backend-port",
      "0",
      "--data-dir",
      dataDir,
      "--initial-model",
      "a",
      "--swap-mode",
      swapMode,
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, CODEC_BACKEND_ARGS: ENGINE_ARGS },
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let listening: number | undefined;
    child.once("exit", (code) => reject(new Error(`the supervisor exited with code ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const event = parseJson(line);
      if (event?.event === "http.listening" && event.role === "supervisor")
        listening = event.port as number;
      if (event?.event === "backend.ready" && listening !== undefined) resolve(listening);
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    dataDir,
    child,
    stop: async () => {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Returns the body of one benchmark stream: greedy msgpack, the full `STREAM_TOKENS` tokens. */
export function streamRequest() {
  return {
    prompt: "The history of the printing press",
    max_tokens: STREAM_TOKENS,
    temperature: 0,
    ignore_eos: true,
    stream_format: "msgpack",
  };
}

/** Aggregate tokens/s and median time to first byte for `concurrency` streams against `baseUrl`. */
async function measureConcurrent(
  baseUrl: string,
  concurrency: number,
): Promise<{ tokensPerSecond: number; firstByteMs: number }> {
  const url = `${baseUrl}/v1/completions`;
  const startedAt = performance.now();
  const results = await Promise.all(
    Array.from({ length: concurrency }, () => measureStream(url, streamRequest())),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  return {
    tokensPerSecond: (concurrency * STREAM_TOKENS) / seconds,
    firstByteMs: median(results.map((result) => result.firstByteMs)),
  };
}

/** Throughput and time to first byte through the supervisor and straight to its engine. */
export async function measureProxyOverhead(modelPath: string): Promise<string> {
  const supervisor = await startSupervisor(modelPath, modelPath, "restart");
  try {
    const status = (await (await fetch(`${supervisor.baseUrl}/admin/status`)).json()) as {
      backend_url: string;
    };
    await measureConcurrent(supervisor.baseUrl, 2);
    const rows: string[] = [];
    for (const concurrency of [1, 16]) {
      const runs = {
        proxied: [] as number[],
        direct: [] as number[],
        proxiedTtfb: [] as number[],
        directTtfb: [] as number[],
      };
      for (let run = 0; run < 3; run++) {
        const proxied = await measureConcurrent(supervisor.baseUrl, concurrency);
        const direct = await measureConcurrent(status.backend_url, concurrency);
        runs.proxied.push(proxied.tokensPerSecond);
        runs.direct.push(direct.tokensPerSecond);
        runs.proxiedTtfb.push(proxied.firstByteMs);
        runs.directTtfb.push(direct.firstByteMs);
      }
      rows.push(
        `| ${concurrency} | ${median(runs.direct).toFixed(0)} | ${median(runs.proxied).toFixed(0)} | ` +
          `${median(runs.directTtfb).toFixed(1)} | ${median(runs.proxiedTtfb).toFixed(1)} |`,
      );
    }
    return [
      `| concurrent streams | tokens/s direct | tokens/s through supervisor | time to first byte direct (ms) | through supervisor (ms) |`,
      "|---|---|---|---|---|",
      ...rows,
    ].join("\n");
  } finally {
    await supervisor.stop();
  }
}

interface SwapFigures {
  completed: number;
  failed: number;
  turnedAway: number;
  held: number;
  longestHoldMs: number;
  swapMs: number[];
}

/** Eight clients stream without pause while the model is swapped a → b → a → b. */
async function measureSwaps(modelA: string, modelB: string, mode: string): Promise<SwapFigures> {
  const supervisor = await startSupervisor(modelA, modelB, mode);
  try {
    const figures: SwapFigures = {
      completed: 0,
      failed: 0,
      turnedAway: 0,
      held: 0,
      longestHoldMs: 0,
      swapMs: [],
    };
    let running = true;
    const clients = Array.from({ length: 8 }, async () => {
      while (running) {
        try {
          await measureStream(`${supervisor.baseUrl}/v1/completions`, {
            ...streamRequest(),
            max_tokens: 32,
          });
          figures.completed++;
        } catch (error) {
          if (String(error).includes("HTTP 503")) figures.turnedAway++;
          else figures.failed++;
        }
      }
    });
    for (const name of ["b", "a", "b"]) {
      const startedAt = performance.now();
      const response = await fetch(`${supervisor.baseUrl}/admin/load`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name }),
      });
      if (!response.ok) throw new Error(`loading ${name} failed: ${await response.text()}`);
      figures.swapMs.push(performance.now() - startedAt);
    }
    running = false;
    await Promise.all(clients);
    const status = (await (await fetch(`${supervisor.baseUrl}/admin/status`)).json()) as {
      hold: { held: number; longestWaitMs: number };
    };
    figures.held = status.hold.held;
    figures.longestHoldMs = status.hold.longestWaitMs;
    return figures;
  } finally {
    await supervisor.stop();
  }
}

/** Swap figures for both swap modes. */
export async function measureSwapModes(modelA: string, modelB: string): Promise<string> {
  const rows: string[] = [];
  for (const mode of ["restart", "overlap"]) {
    const figures = await measureSwaps(modelA, modelB, mode);
    rows.push(
      `| ${mode} | ${figures.completed} | ${figures.held} | ${figures.longestHoldMs.toFixed(0)} | ${figures.turnedAway} | ` +
        `${figures.failed} | ${figures.swapMs.map((ms) => ms.toFixed(0)).join(", ")} |`,
    );
  }
  return [
    "| mode | requests completed | requests held | longest hold (ms) | turned away (503) | failed | /admin/load durations (ms) |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
