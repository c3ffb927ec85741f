import type { EventLogger } from "../http/logger.js";
import type { BackendKind } from "./backend-kinds.js";
import { findFreePort } from "./free-port.js";
import { BackendProcess, type ProcessExit } from "./backend-process.js";
import { BackendStateMachine, type BackendState } from "./backend-state.js";
import { BackendStartError, waitForHealthy } from "./health-check.js";
import type { LogLine, LogRing } from "./log-ring.js";
import {
  backendExited,
  backendReady,
  backendStartFailed,
  backendStarting,
  backendStateChanged,
  backendStopped,
} from "./log-events.js";

/** Lines of backend output attached to a start failure. */
const FAILURE_TAIL_LINES = 20;

export interface BackendManagerOptions {
  kind: BackendKind;
  host: string;
  /** Port the backend listens on; 0 picks a free port for each start. */
  port: number;
  startupTimeoutMs: number;
  shutdownGraceMs: number;
  env: NodeJS.ProcessEnv;
  log: EventLogger;
  logRing: LogRing;
  /** Receives every backend output line, e.g. to copy it to the supervisor's stdout. */
  onOutputLine?: (line: LogLine) => void;
}

/** The model a backend process serves. */
export interface LoadedModel {
  model: string;
  args: readonly string[];
  startedAt: Date;
  pid: number;
}

/** The `/admin/status` view of the backend. */
export interface BackendStatus {
  backend: string;
  state: BackendState;
  /** True while a backend process exists, including while it loads. */
  running: boolean;
  current_model: string | null;
  started_at: string | null;
  backend_url: string;
  pid: number | null;
  last_error: string | null;
}

/**
 * The single owner of the backend process and its lifecycle state. Every transition goes
 * through the state machine; `start` and `stop` run one at a time, in call order.
 */
export class BackendManager {
  readonly machine = new BackendStateMachine();
  readonly #options: BackendManagerOptions;
  #process: BackendProcess | undefined;
  #current: LoadedModel | undefined;
  #lastError: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #port: number;

  constructor(options: BackendManagerOptions) {
    this.#options = options;
    this.#port = options.port;
    this.machine.onTransition((transition) => backendStateChanged(options.log, transition));
  }

  /** Base URL of the backend, e.g. `http://127.0.0.1:30000`. */
  get origin(): string {
    return `http://${this.#options.host}:${this.#port}`;
  }

  get state(): BackendState {
    return this.machine.state;
  }

  /** The model being served or loaded, if any. */
  get current(): LoadedModel | undefined {
    return this.#current;
  }

  /** Reason for the backend's last failure, if it failed. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  status(): BackendStatus {
    const running = this.#process !== undefined && this.#process.exit === undefined;
    return {
      backend: this.#options.kind.name,
      state: this.state,
      running,
      current_model: running ? (this.#current?.model ?? null) : null,
      started_at: running && this.#current !== undefined ? this.#current.startedAt.toISOString() : null,
      backend_url: this.origin,
      pid: running ? (this.#process?.pid ?? null) : null,
      last_error: this.#lastError ?? null,
    };
  }

  /**
   * Stops any running backend, then starts `model` and waits until it is healthy.
   * Rejects with BackendStartError (the backend is then `failed`) when it exits, cannot
   * be spawned or times out. Waits behind any start or stop already under way.
   */
  start(model: string, args: readonly string[]): Promise<LoadedModel> {
    return this.#serialize(async () => {
      await this.#stopProcess("replaced by a new start");
      return this.#startProcess(model, args);
    });
  }

  /** Stops the backend. Idempotent: resolves at once when nothing runs. */
  stop(): Promise<void> {
    return this.#serialize(() => this.#stopProcess("stop requested"));
  }

  #serialize<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #startProcess(model: string, args: readonly string[]): Promise<LoadedModel> {
    const { kind, host, log } = this.#options;
    if (this.#options.port === 0) this.#port = await findFreePort(host);
    const commandLine = kind.commandLine(model, host, this.#port, args);
    const startedAt = new Date();

    this.machine.transition("starting", `loading ${model}`);
    const backend = BackendProcess.spawn(commandLine, this.#options.env, (line) => this.#onLine(line));
    this.#process = backend;
    this.#current = { model, args, startedAt, pid: backend.pid };
    this.#lastError = undefined;
    backendStarting(log, { backend: kind.name, model, command: commandLine.command, args: commandLine.args, pid: backend.pid });
    void backend.exited.then((exit) => this.#onExit(backend, exit));

    try {
      await waitForHealthy(`${this.origin}${kind.healthPath}`, {
        timeoutMs: this.#options.startupTimeoutMs,
        exited: backend.exited,
      });
    } catch (error) {
      await this.#failStart(backend, model, error, startedAt);
    }

    this.machine.transition("ready", "health check passed");
    backendReady(log, { backend: kind.name, model, pid: backend.pid, durationMs: Date.now() - startedAt.getTime() });
    return this.#current;
  }

  async #failStart(backend: BackendProcess, model: string, error: unknown, startedAt: Date): Promise<never> {
    const reason = error instanceof Error ? error.message : String(error);
    await backend.stop(this.#options.shutdownGraceMs);

    const tail = this.#options.logRing.tail(FAILURE_TAIL_LINES, backend.pid).map((line) => line.line);
    this.#lastError = reason;
    if (this.state !== "failed") this.machine.transition("failed", reason);
    backendStartFailed(this.#options.log, {
      backend: this.#options.kind.name,
      model,
      pid: backend.pid,
      reason,
      durationMs: Date.now() - startedAt.getTime(),
    });

    const kind = error instanceof BackendStartError ? error.kind : "exited";
    const detail = tail.length > 0 ? `${reason}; last output:\n${tail.join("\n")}` : reason;
    throw new BackendStartError(kind, detail, backend.exit);
  }

  async #stopProcess(reason: string): Promise<void> {
    const backend = this.#process;
    if (backend === undefined) return;

    const stoppedAt = Date.now();
    if (this.state !== "stopping" && this.state !== "stopped") this.machine.transition("stopping", reason);
    const exit = await backend.stop(this.#options.shutdownGraceMs);
    this.#process = undefined;
    this.#current = undefined;
    if (this.state !== "stopped") this.machine.transition("stopped", reason);
    backendStopped(this.#options.log, {
      pid: backend.pid,
      durationMs: Date.now() - stoppedAt,
      killed: exit.signal === "SIGKILL",
    });
  }

  /** Notices exits we did not ask for: the backend becomes `failed` at once. */
  #onExit(backend: BackendProcess, exit: ProcessExit): void {
    const expected = this.#process !== backend || this.state === "stopping";
    backendExited(this.#options.log, { pid: backend.pid, code: exit.code, signal: exit.signal, expected });
    if (expected || this.state === "starting") return;

    const how = exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
    this.#lastError = `the backend exited unexpectedly with ${how}`;
    this.machine.transition("failed", this.#lastError);
  }

  #onLine(line: LogLine): void {
    this.#options.logRing.push(line);
    this.#options.onOutputLine?.(line);
  }
}
