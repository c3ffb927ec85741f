import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The compiled CLI entry, next to this script in dist/. */
export const CLI_ENTRY = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** A `codec-serve engine` child process for measurements. */
export interface BenchEngine {
  baseUrl: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `codec-serve engine` with `args` on a free port and waits until the model is loaded. */
export async function startBenchEngine(
  modelPath: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<BenchEngine> {
  const child = spawn(
    process.execPath,
    [
      CLI_ENTRY,
      "engine",
      "--model",
      modelPath,
      "--port",
      "0",
      "--log-level",
      "info",
      "--gpu",
      "cpu",
      ...args,
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let listeningPort: number | undefined;
    child.once("exit", (code) =>
      reject(new Error(`the engine exited with code ${code} during start-up`)),
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const event = parseJson(line);
      if (event?.event === "http.listening") listeningPort = event.port as number;
      if (event?.event === "engine.model_loaded" && listeningPort !== undefined)
        resolve(listeningPort);
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    child,
    stop: async () => {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
    },
  };
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
