import { randomUUID } from "node:crypto";

import type { EventLogger } from "../../http/logger.js";
import type { BackendKind } from "../backend-kinds.js";
import { BackendProcess, type ProcessExit } from "../backend-process.js";
import { findFreePort } from "../free-port.js";
import { BackendStartError, waitForHealthy } from "../health-check.js";
import { backendReady, backendStartFailed, backendStarting } from "../log-events.js";
import type { LogLine, LogRing } from "../log-ring.js";
import { BackendInstance, type LoadTarget } from "./backend-instance.js";

/** Lines of backend output attached to a start failure. */
const FAILURE_TAIL_LINES = 10;

/** Settings the launcher needs to start backend processes. */
export interface LauncherOptions {
  kind: BackendKind;
  host: string;
  /** Port for the backend; 0 picks a free port for each start. */
  port: number;
  startupTimeoutMs: number;
  shutdownGraceMs: number;
  env: NodeJS.ProcessEnv;
  log: EventLogger;
  logRing: LogRing;
  onOutputLine?: (line: LogLine) => void;
}

/**
 * Starts backend processes and waits until they are healthy. A start that fails stops the
 * process and raises a BackendStartError whose message carries the reason and the last lines
 * the process printed.
 */
export class InstanceLauncher {
  readonly #options: LauncherOptions;
  /** The port used by the last start on the configured port. */
  #port: number;

  constructor(options: LauncherOptions) {
    this.#options = options;
    this.#port = options.port;
  }

  get kind(): BackendKind {
    return this.#options.kind;
  }

  get shutdownGraceMs(): number {
    return this.#options.shutdownGraceMs;
  }

  /**
   * Starts `model` and resolves when its health check passes. `spare` starts it on a free
   * port beside a running backend (overlap swaps); otherwise it uses the configured port.
   * `onSpawned` receives the instance as soon as the process exists, so exits can be watched.
   */
  async launch(
    target: LoadTarget,
    options: {
      spare: boolean;
      signal: AbortSignal;
      onSpawned: (instance: BackendInstance) => void;
    },
  ): Promise<BackendInstance> {
    const { kind, host, log } = this.#options;
    const { model, args } = target;
    const port = await this.#choosePort(options.spare);
    const instanceId = randomUUID();
    const commandLine = kind.commandLine({
      model,
      host,
      port,
      extraArgs: args,
      servedName: target.servedName,
      instanceId,
    });
    const startedAt = new Date();

    const process = BackendProcess.spawn(commandLine, this.#options.env, (line) =>
      this.#onLine(line),
    );
    const instance = new BackendInstance({
      process,
      origin: `http://${host}:${port}`,
      target,
      startedAt,
    });
    backendStarting(log, {
      backend: kind.name,
      model,
      command: commandLine.command,
      args: commandLine.args,
      pid: process.pid,
    });
    options.onSpawned(instance);

    try {
      await waitForHealthy(`${instance.origin}${kind.healthPath}`, {
        timeoutMs: this.#options.startupTimeoutMs,
        exited: process.exited,
        signal: options.signal,
        ...(kind.echoesInstanceId ? { instanceId } : {}),
      });
    } catch (error) {
      throw await this.#failed(instance, error);
    }

    instance.readyAt = new Date();
    backendReady(log, {
      backend: kind.name,
      model,
      pid: process.pid,
      durationMs: Date.now() - startedAt.getTime(),
    });
    return instance;
  }

  async #choosePort(spare: boolean): Promise<number> {
    if (spare) return findFreePort(this.#options.host);
    if (this.#options.port === 0) this.#port = await findFreePort(this.#options.host);
    return this.#port;
  }

  async #failed(instance: BackendInstance, error: unknown): Promise<BackendStartError> {
    const reason = error instanceof Error ? error.message : String(error);
    await instance.process.stop(this.#options.shutdownGraceMs);

    backendStartFailed(this.#options.log, {
      backend: this.#options.kind.name,
      model: instance.model,
      pid: instance.process.pid,
      reason,
      durationMs: Date.now() - instance.startedAt.getTime(),
    });
    // JSON log lines are reduced to their message; /admin/logs keeps the full lines.
    const tail = this.#options.logRing
      .tail(FAILURE_TAIL_LINES, instance.process.pid)
      .map((line) => summarizeLine(line.line))
      .filter((line) => line.trim() !== "");
    const kind = error instanceof BackendStartError ? error.kind : "exited";
    const detail = tail.length > 0 ? `${reason}; last output:\n${tail.join("\n")}` : reason;
    // The status view gets the reason and the last line the engine printed, usually its own error.
    const lastLine = tail.at(-1);
    const summary = lastLine === undefined ? reason : `${reason}; last output: ${lastLine}`;
    return new BackendStartError(
      kind,
      detail,
      instance.process.exit as ProcessExit | undefined,
      summary,
    );
  }

  #onLine(line: LogLine): void {
    this.#options.logRing.push(line);
    this.#options.onOutputLine?.(line);
  }
}

/** Shortens an output line for status views; a JSON log line is reduced to its message. */
function summarizeLine(line: string): string {
  try {
    const parsed = JSON.parse(line) as { msg?: unknown; err?: { message?: unknown } };
    const message = typeof parsed.msg === "string" ? parsed.msg : undefined;
    const cause = typeof parsed.err?.message === "string" ? parsed.err.message : undefined;
    if (message !== undefined) return cause === undefined ? message : `${message}: ${cause}`;
  } catch {
    // Not JSON: keep the line as it is.
  }
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
