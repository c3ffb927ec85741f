/**
 * Resident memory of the supervisor and its engine, read from Linux's /proc: at rest after the
 * model loaded, and the peak after streaming under load.
 */
import { readFile, stat } from "node:fs/promises";

import { measureStream } from "./measure-stream.js";
import { startSupervisor, STREAM_TOKENS, streamRequest } from "./supervisor-bench.js";

/** Concurrent streams of the load phase, as many as the bench engine has sequences. */
const CONCURRENCY = 16;
const ROUNDS = 3;

/** `VmRSS` (current) and `VmHWM` (peak since start) of a process, in MiB. */
async function residentMemory(pid: number): Promise<{ currentMiB: number; peakMiB: number }> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, "utf8");
  } catch (error) {
    throw new Error(
      `cannot read /proc/${pid}/status (${(error as Error).message}); the memory benchmark runs on Linux only`,
    );
  }
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
    if (match === null) throw new Error(`/proc/${pid}/status has no ${field} line`);
    return Number(match[1]) / 1024;
  };
  return { currentMiB: kib("VmRSS"), peakMiB: kib("VmHWM") };
}

/** Measures both processes at rest and after `ROUNDS` rounds of 16 concurrent streams. */
export async function measureMemory(modelPath: string): Promise<string> {
  const supervisor = await startSupervisor(modelPath, modelPath, "restart");
  try {
    const status = (await (await fetch(`${supervisor.baseUrl}/admin/status`)).json()) as {
      pid: number;
    };
    const pids = { supervisor: supervisor.child.pid!, engine: status.pid };
    const atRest = {
      supervisor: await residentMemory(pids.supervisor),
      engine: await residentMemory(pids.engine),
    };

    const url = `${supervisor.baseUrl}/v1/completions`;
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, () => measureStream(url, streamRequest())),
      );
    }
    const afterLoad = {
      supervisor: await residentMemory(pids.supervisor),
      engine: await residentMemory(pids.engine),
    };

    const modelMiB = (await stat(modelPath)).size / 2 ** 20;
    const row = (name: "supervisor" | "engine") =>
      `| ${name} | ${atRest[name].currentMiB.toFixed(0)} | ${afterLoad[name].peakMiB.toFixed(0)} | ${afterLoad[name].currentMiB.toFixed(0)} |`;
    return [
      `Model file: ${modelMiB.toFixed(1)} MiB. Load: ${ROUNDS} rounds of ${CONCURRENCY} concurrent msgpack streams of ${STREAM_TOKENS} tokens.`,
      "",
      "| process | RSS at rest (MiB) | peak RSS under load (MiB) | RSS after load (MiB) |",
      "|---|---|---|---|",
      row("supervisor"),
      row("engine"),
    ].join("\n");
  } finally {
    await supervisor.stop();
  }
}
