import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";

import type { CommandLine } from "./backend-kinds.js";
import type { LogLine } from "./log-ring.js";

/** Exit status of a backend process. `error` is set when it could not be started at all. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

/** Time allowed for stdout and stderr to drain after the process exited. */
const PIPE_DRAIN_BACKSTOP_MS = 2_000;

/**
 * One running backend process in its own process group, with its output split into
 * lines. Create it with `BackendProcess.spawn`.
 */
export class BackendProcess {
  readonly pid: number;
  /** Resolves once when the process exits or fails to start; never rejects. */
  readonly exited: Promise<ProcessExit>;
  readonly commandLine: CommandLine;
  #exit: ProcessExit | undefined;
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess, commandLine: CommandLine, exited: Promise<ProcessExit>) {
    this.#child = child;
    this.pid = child.pid ?? -1;
    this.commandLine = commandLine;
    this.exited = exited.then((exit) => {
      this.#exit = exit;
      return exit;
    });
  }

  /**
   * Starts `commandLine` as the leader of a new process group, so stopping it also stops
   * any processes it forks. Each output line goes to `onLine`.
   */
  static spawn(
    commandLine: CommandLine,
    env: NodeJS.ProcessEnv,
    onLine: (line: LogLine) => void,
  ): BackendProcess {
    const child = spawn(commandLine.command, commandLine.args, {
      detached: true,
      env,
      // The stdin pipe stays open for the child's lifetime and closes when this process dies,
      // which tells an engine started with --exit-with-stdin that its supervisor is gone.
      stdio: ["pipe", "pipe", "pipe"],
    });

    const exited = new Promise<ProcessExit>((resolve) => {
      child.once("error", (error) => resolve({ code: null, signal: null, error }));
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    // Nothing is written to stdin; a write error after the child exited must not crash us.
    child.stdin?.on("error", () => undefined);
    const backend = new BackendProcess(child, commandLine, exited);
    forwardLines(child, "stdout", backend.pid, onLine);
    forwardLines(child, "stderr", backend.pid, onLine);
    return backend;
  }

  /** The exit status once the process has ended, otherwise `undefined`. */
  get exit(): ProcessExit | undefined {
    return this.#exit;
  }

  /**
   * Stops the process group. Idempotent; resolves with how the process ended.
   *
   * 1. SIGTERM to the whole group, so the engine can finish in-flight work and exit.
   * 2. Wait up to `graceMs` for it to exit.
   * 3. SIGKILL to the whole group, for an engine that ignores SIGTERM or hangs.
   * 4. Wait for the exit, then give the pipes a short backstop to drain the last lines.
   */
  async stop(graceMs: number): Promise<ProcessExit> {
    if (this.#exit !== undefined) return this.#exit;

    this.#signalGroup("SIGTERM");
    const exitedInTime = await Promise.race([
      this.exited.then(() => true),
      sleep(graceMs).then(() => false),
    ]);
    if (!exitedInTime) this.#signalGroup("SIGKILL");

    const exit = await this.exited;
    await Promise.race([drained(this.#child), sleep(PIPE_DRAIN_BACKSTOP_MS)]);
    return exit;
  }

  #signalGroup(signal: NodeJS.Signals): void {
    if (this.pid <= 0) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // The group is already gone (ESRCH): nothing left to signal.
    }
  }
}

function forwardLines(
  child: ChildProcess,
  stream: "stdout" | "stderr",
  pid: number,
  onLine: (line: LogLine) => void,
): void {
  const source = child[stream];
  if (source === null) return;
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  lines.on("line", (line) => onLine({ pid, stream, line, at: new Date() }));
}

async function drained(child: ChildProcess): Promise<void> {
  const streams = [child.stdout, child.stderr].filter(
    (stream) => stream !== null && !stream.readableEnded,
  );
  await Promise.all(streams.map((stream) => once(stream!, "end").catch(() => undefined)));
}
