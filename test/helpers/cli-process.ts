import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

import { CLI_ENTRY } from "./paths.js";

/** Output of a finished CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `codec-serve ARGS` to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], { env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

/** A `codec-serve serve` process and the URL it listens on. */
export interface ServeProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Every JSON log line seen on stdout so far. */
  events: Array<Record<string, any>>;
  stop(): Promise<number | null>;
}

/** Starts `codec-serve serve ARGS` and resolves once the supervisor listens. */
export async function startServeProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI_ENTRY, "serve", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const events: Array<Record<string, any>> = [];
  const listening = new Promise<number>((resolve, reject) => {
    child.once("exit", (code) =>
      reject(new Error(`codec-serve serve exited with code ${code} before listening`)),
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let event: Record<string, any>;
      try {
        event = JSON.parse(line) as Record<string, any>;
      } catch {
        return;
      }
      events.push(event);
      if (event.event === "http.listening" && event.role === "supervisor")
        resolve(event.port as number);
    });
  });
  const port = await listening;
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    events,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      return code;
    },
  };
}
