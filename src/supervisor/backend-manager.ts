import { setTimeout as sleep } from "node:timers/promises";

import { ERRORS, HttpError } from "../http/errors.js";
import type { EventLogger } from "../http/logger.js";
import type { ProcessExit } from "./backend-process.js";
import { BackendStateMachine, type BackendState, type BackendTransition } from "./backend-state.js";
import { BackendStartError } from "./health-check.js";
import { BackendInstance, type LoadTarget } from "./lifecycle/backend-instance.js";
import type {
  BackendStatus,
  LifecycleEventType,
  LoadedModel,
  RouteLease,
  RunningOperation,
} from "./lifecycle/backend-types.js";
import { LoadFailedError, operationConflict } from "./lifecycle/load-errors.js";
import { HoldGate, type HoldLimits } from "./lifecycle/hold-gate.js";
import { InstanceLauncher, type LauncherOptions } from "./lifecycle/instance-launcher.js";
import { decideRestart, type RestartPolicy } from "./lifecycle/restart-policy.js";
import { executeSwap, planSwap, type SwapEffects, type SwapMode } from "./lifecycle/swap-plan.js";
import {
  backendExited,
  backendStateChanged,
  backendStopped,
  restartScheduled,
} from "./log-events.js";

/** Everything the backend manager needs; see `LauncherOptions` for how processes start. */
export interface BackendManagerOptions extends LauncherOptions {
  /** How long in-flight requests may run on an engine that is being replaced or stopped. */
  drainTimeoutMs: number;
  hold: HoldLimits;
  restartPolicy: RestartPolicy;
  /** The swap mode when a load does not name one. */
  swapMode: SwapMode;
  /** Receives lifecycle events for `/admin/events`. */
  onEvent?: (type: LifecycleEventType, data: Record<string, unknown>) => void;
  /** Called after a model starts serving (with it) and after an explicit stop (with `undefined`). */
  onServingChange?: (serving: LoadTarget | undefined) => void | Promise<void>;
}

interface Operation extends RunningOperation {
  controller: AbortController;
  done: Promise<unknown>;
}

/**
 * The single owner of the backend processes and of the lifecycle state.
 *
 * Every state change goes through the state machine. Loads, crash restarts and stops run one
 * at a time: a load while another operation runs is rejected with 409, and a stop cancels a
 * load or restart in progress. The proxy requests a route with `route()` and never reads the
 * state and then acts, so a swap cannot slip between the check and the request.
 */
export class BackendManager {
  readonly machine = new BackendStateMachine();
  readonly gate: HoldGate;
  readonly #options: BackendManagerOptions;
  readonly #launcher: InstanceLauncher;
  /** The instance that serves (or, on a first load, is starting). */
  #current: BackendInstance | undefined;
  /** An instance starting beside the current one, or on its port after it stopped. */
  #candidate: BackendInstance | undefined;
  /** An old instance finishing its in-flight requests. */
  #retiring: BackendInstance | undefined;
  /** Instances that are being stopped on purpose; their exit is expected. */
  readonly #stopping = new Set<BackendInstance>();
  #operation: Operation | undefined;
  #lastError: string | undefined;
  #restartAttempts = 0;

  constructor(options: BackendManagerOptions) {
    this.#options = options;
    this.#launcher = new InstanceLauncher(options);
    this.gate = new HoldGate(options.hold);
    this.machine.onTransition((transition) => this.#onTransition(transition));
  }

  get state(): BackendState {
    return this.machine.state;
  }

  /** Base URL of the serving backend, or `undefined` when none serves. */
  get origin(): string | undefined {
    return this.#current?.origin;
  }

  /** The model being served or loaded first, if any. */
  get current(): LoadedModel | undefined {
    return this.#current === undefined ? undefined : describe(this.#current);
  }

  /** Reason for the backend's last failure, if it failed. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Records why nothing serves when the failure happened before any process started. */
  noteFailure(reason: string): void {
    this.#lastError = reason;
  }

  get operation(): RunningOperation | undefined {
    const operation = this.#operation;
    return operation === undefined
      ? undefined
      : { kind: operation.kind, model: operation.model, startedAt: operation.startedAt };
  }

  /** Models that run or start in any process, so the registry can refuse to delete them. */
  modelsInUse(): string[] {
    return [this.#current, this.#candidate, this.#retiring]
      .filter((instance): instance is BackendInstance => instance !== undefined)
      .map((instance) => instance.model);
  }

  status(): BackendStatus {
    const current = isAlive(this.#current) ? this.#current : undefined;
    const candidate = isAlive(this.#candidate) ? this.#candidate : undefined;
    // While a restart-mode load runs, the loading engine is the only process: report it.
    const reported = current ?? candidate;
    const operation = this.#operation;
    return {
      backend: this.#launcher.kind.name,
      state: this.state,
      running: reported !== undefined,
      current_model: reported?.model ?? null,
      started_at: reported?.startedAt.toISOString() ?? null,
      backend_url: (reported ?? this.#current)?.origin ?? null,
      pid: reported?.process.pid ?? null,
      loading:
        current !== undefined && candidate !== undefined
          ? { model: candidate.model, pid: candidate.process.pid }
          : null,
      last_error: this.#lastError ?? null,
      operation:
        operation === undefined
          ? null
          : {
              kind: operation.kind,
              model: operation.model ?? null,
              started_at: operation.startedAt.toISOString(),
            },
      hold: { waiting: this.gate.waiting, ...this.gate.statistics },
      draining:
        this.#retiring === undefined
          ? []
          : [
              {
                model: this.#retiring.model,
                pid: this.#retiring.process.pid,
                in_flight: this.#retiring.inFlight,
              },
            ],
      restarts: this.#restartAttempts,
    };
  }

  /**
   * Waits until a backend can take a request (requests are held during swaps and restarts)
   * and returns its origin. Rejects with 503 when none serves or the hold limits are hit.
   */
  async route(signal: AbortSignal): Promise<RouteLease> {
    await this.gate.pass(signal);

    const current = this.#current;
    if ((this.state === "ready" || this.state === "draining") && current !== undefined) {
      return { origin: current.origin, release: current.track() };
    }
    throw this.#unavailable();
  }

  /**
   * Called by the proxy when it could not connect to `origin`. A process that died closes its
   * port before its exit is noticed. This waits up to `timeoutMs` for that exit, so that the
   * crash handling has started (requests are held) before the proxy routes the request again.
   * Resolves true when the process behind `origin` has exited.
   */
  async confirmUnreachable(origin: string, timeoutMs: number): Promise<boolean> {
    const instance = [this.#current, this.#retiring].find(
      (candidate) => candidate?.origin === origin,
    );
    if (instance === undefined) return true;
    const exited = await Promise.race([
      instance.process.exited.then(() => true),
      sleep(timeoutMs, false),
    ]);
    // Let the exit handler, which runs on the same promise, update the state first.
    await new Promise((resolve) => setImmediate(resolve));
    return exited;
  }

  /**
   * Loads `model` with `args` and resolves when it serves. With a model already serving,
   * `mode` decides how the swap runs (see `SwapMode`). When the new model fails to start, the
   * previous one is restored and the returned promise rejects with a LoadFailedError that
   * states the reason. Rejects with 409 when another operation is under way.
   */
  load(
    model: string,
    args: readonly string[],
    options: { mode?: SwapMode | undefined; servedName?: string | undefined } = {},
  ): Promise<LoadedModel> {
    const running = this.#operation;
    if (running !== undefined) return Promise.reject(operationConflict(running));

    const mode = options.mode ?? this.#options.swapMode;
    const target: LoadTarget = { model, args, servedName: options.servedName };
    return this.#run("load", model, async (signal) => {
      this.#publish("backend.load_started", { model, mode });
      const previous = this.#current;
      const hasCurrent = previous !== undefined && this.state === "ready";
      const outcome = await executeSwap(
        planSwap(mode, hasCurrent),
        this.#swapEffects(target, signal),
      );

      if (outcome.kind === "swapped") {
        this.#restartAttempts = 0;
        this.#publish("backend.load_succeeded", {
          model,
          mode,
          pid: this.#current?.process.pid ?? null,
        });
        await this.#options.onServingChange?.(target);
        return describe(this.#current!);
      }

      const reason = errorReason(outcome.error);
      this.#publish("backend.load_failed", {
        model,
        reason,
        restored: outcome.kind === "rolled_back" ? (previous?.model ?? null) : null,
      });
      throw new LoadFailedError(
        model,
        outcome.error,
        hasCurrent ? previous?.model : undefined,
        outcome.kind === "rolled_back",
        signal.aborted,
        reason,
      );
    });
  }

  /**
   * Stops every backend process; cancels a load or restart under way. Idempotent.
   * `remember: false` (used at supervisor shutdown) keeps the saved model, so the next start
   * loads it again; an explicit stop clears it. With `drainMs`, requests in flight get that
   * long to finish before the engine is signalled.
   */
  async stop(
    options: { remember?: boolean; drainMs?: number } = {},
  ): Promise<{ cancelled: string | undefined }> {
    const running = this.#operation;
    let cancelled: string | undefined;
    if (running !== undefined && running.kind !== "stop") {
      cancelled = running.model;
      running.controller.abort(new Error("stopped by request"));
      await running.done.catch(() => undefined);
    } else if (running?.kind === "stop") {
      await running.done.catch(() => undefined);
      return { cancelled };
    }

    await this.#run("stop", undefined, async () => {
      this.gate.close("the backend is stopping");
      if (options.drainMs !== undefined) await this.#current?.drain(options.drainMs);
      const instances = [this.#candidate, this.#current, this.#retiring].filter(
        (value) => value !== undefined,
      );
      if (instances.length > 0 && this.state !== "stopped" && this.state !== "stopping")
        this.machine.transition("stopping", "stop requested");
      await Promise.all(instances.map((instance) => this.#stopInstance(instance)));
      this.#current = this.#candidate = this.#retiring = undefined;
      if (this.state !== "stopped") this.machine.transition("stopped", "stop requested");
      this.gate.rejectAll(new HttpError(ERRORS.proxyNoBackend, "the backend was stopped"));
      this.gate.open();
      if (options.remember !== false) await this.#options.onServingChange?.(undefined);
    });
    return { cancelled };
  }

  /** Runs `body` as the one operation under way, with a signal that `stop` can abort. */
  #run<T>(
    kind: Operation["kind"],
    model: string | undefined,
    body: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const controller = new AbortController();
    const operation: Operation = {
      kind,
      model,
      startedAt: new Date(),
      controller,
      done: Promise.resolve(),
    };
    const done = (async () => {
      try {
        return await body(controller.signal);
      } finally {
        if (this.#operation === operation) this.#operation = undefined;
      }
    })();
    operation.done = done;
    this.#operation = operation;
    return done;
  }

  /** The real effects of each swap step; see `planSwap` for their order. */
  #swapEffects(target: LoadTarget, signal: AbortSignal): SwapEffects {
    const model = target.model;
    let previous: LoadTarget | undefined;
    return {
      hold_requests: async () => this.gate.close(`the backend is switching to ${model}`),
      release_requests: async () => this.gate.open(),
      reject_held_requests: async () =>
        this.gate.rejectAll(
          new HttpError(
            ERRORS.proxyNoBackend,
            `loading ${model} failed: ${this.#lastError ?? "unknown reason"}`,
          ),
        ),
      drain_current: async () => {
        const restartMode = this.#retiring === undefined;
        if (restartMode) {
          this.#retiring = this.#current;
          this.machine.transition("draining", `switching to ${model}`);
        }
        await this.#retiring?.drain(this.#options.drainTimeoutMs);
      },
      stop_current: async () => {
        const retiring = this.#retiring;
        if (retiring === undefined) return;
        previous = retiring.target;
        const restartMode = retiring === this.#current;
        if (restartMode) this.machine.transition("stopping", `switching to ${model}`);
        await this.#stopInstance(retiring);
        this.#retiring = undefined;
        if (restartMode) {
          this.#current = undefined;
          this.machine.transition("stopped", `switching to ${model}`);
        }
      },
      start_candidate_same_port: async () => this.#startCandidate(target, false, signal),
      start_candidate_spare_port: async () => this.#startCandidate(target, true, signal),
      promote_candidate: async () => {
        const candidate = this.#candidate!;
        // A current instance that already exited (it crashed) has nothing left to drain.
        if (this.#current !== undefined && this.#current.process.exit === undefined)
          this.#retiring = this.#current;
        this.#current = candidate;
        this.#candidate = undefined;
        // The old model may have crashed while the candidate loaded beside it.
        if (this.state === "failed") this.machine.transition("starting", `switching to ${model}`);
        if (this.state !== "ready") this.machine.transition("ready", "health check passed");
        this.#publish("backend.switched", { model, pid: candidate.process.pid });
      },
      stop_candidate: async () => {
        if (this.#candidate !== undefined) await this.#stopInstance(this.#candidate);
        this.#candidate = undefined;
      },
      restart_previous: async () => {
        if (previous === undefined || signal.aborted) return;
        await this.#startCandidate(previous, false, signal);
        this.#current = this.#candidate;
        this.#candidate = undefined;
        this.machine.transition("ready", `restored ${previous.model}`);
      },
    };
  }

  async #startCandidate(target: LoadTarget, spare: boolean, signal: AbortSignal): Promise<void> {
    if (!spare) this.machine.transition("starting", `loading ${target.model}`);
    try {
      await this.#launcher.launch(target, {
        spare,
        signal,
        onSpawned: (instance) => {
          this.#candidate = instance;
          void instance.process.exited.then((exit) => this.#onExit(instance, exit));
        },
      });
    } catch (error) {
      this.#candidate = undefined;
      this.#lastError = errorReason(error);
      if (!spare && this.state === "starting") this.machine.transition("failed", this.#lastError);
      throw error;
    }
  }

  async #stopInstance(instance: BackendInstance): Promise<void> {
    // A process that already exited (it crashed) has nothing left to stop.
    if (instance.process.exit !== undefined) return;
    this.#stopping.add(instance);
    const startedAt = Date.now();
    // The engine finishes its in-flight requests on SIGTERM; SIGKILL follows after the grace period.
    const exit = await instance.process.stop(this.#launcher.shutdownGraceMs);
    this.#stopping.delete(instance);
    backendStopped(this.#options.log, {
      pid: instance.process.pid,
      durationMs: Date.now() - startedAt,
      killed: exit.signal === "SIGKILL",
    });
  }

  /** Handles unrequested exits: the backend fails at once and restarts with backoff. */
  #onExit(instance: BackendInstance, exit: ProcessExit): void {
    const expected = this.#stopping.has(instance);
    backendExited(this.#options.log, {
      pid: instance.process.pid,
      code: exit.code,
      signal: exit.signal,
      expected,
    });
    if (expected || instance !== this.#current || instance.readyAt === undefined) return;

    const how = exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
    this.#lastError = `the backend exited unexpectedly with ${how}`;
    this.#publish("backend.crashed", {
      model: instance.model,
      pid: instance.process.pid,
      code: exit.code,
      signal: exit.signal,
    });
    if (this.state === "ready" || this.state === "draining")
      this.machine.transition("failed", this.#lastError);
    if (this.#operation === undefined) this.#scheduleRestart(instance);
  }

  #scheduleRestart(crashed: BackendInstance): void {
    const readyForMs = crashed.readyAt === undefined ? 0 : Date.now() - crashed.readyAt.getTime();
    const decision = decideRestart(this.#restartAttempts, readyForMs, this.#options.restartPolicy);
    if (decision.action === "give_up") {
      this.#lastError = `${this.#lastError}; gave up after ${decision.attempts} restarts`;
      this.gate.rejectAll(this.#unavailable());
      this.gate.open();
      return;
    }

    this.#restartAttempts = decision.attempt;
    restartScheduled(this.#options.log, {
      model: crashed.model,
      attempt: decision.attempt,
      delayMs: decision.delayMs,
    });
    this.#publish("backend.restart_scheduled", {
      model: crashed.model,
      attempt: decision.attempt,
      delay_ms: decision.delayMs,
    });
    this.gate.close(`the backend crashed and is restarting ${crashed.model}`);
    void this.#run("restart", crashed.model, async (signal) => {
      await sleepUnlessAborted(decision.delayMs, signal);
      if (signal.aborted) return;
      try {
        await this.#startCandidate(crashed.target, false, signal);
        this.#current = this.#candidate;
        this.#candidate = undefined;
        this.machine.transition("ready", "restarted after a crash");
        this.gate.open();
      } catch {
        if (!signal.aborted) queueMicrotask(() => this.#scheduleRestart(crashed));
      }
    }).catch(() => undefined);
  }

  #unavailable(): HttpError {
    switch (this.state) {
      case "starting":
        return new HttpError(
          ERRORS.proxyBackendStarting,
          `the backend is loading ${this.#operation?.model ?? "a model"}; retry shortly`,
          {
            headers: { "Retry-After": "2" },
          },
        );
      case "failed":
        return new HttpError(
          ERRORS.proxyNoBackend,
          `the backend failed (${this.#lastError ?? "unknown reason"}); see GET /admin/status and load a model with POST /admin/load`,
        );
      default:
        return new HttpError(
          ERRORS.proxyNoBackend,
          "no backend is running; load a model with POST /admin/load",
        );
    }
  }

  #onTransition(transition: BackendTransition): void {
    backendStateChanged(this.#options.log, transition);
    this.#publish("backend.state_changed", {
      from: transition.from,
      to: transition.to,
      reason: transition.reason,
    });
  }

  #publish(type: LifecycleEventType, data: Record<string, unknown>): void {
    this.#options.onEvent?.(type, data);
  }
}

function describe(instance: BackendInstance): LoadedModel {
  return {
    model: instance.model,
    args: instance.args,
    startedAt: instance.startedAt,
    pid: instance.process.pid,
  };
}

function errorReason(error: unknown): string {
  if (error instanceof BackendStartError) return error.reason;
  return error instanceof Error ? error.message : String(error);
}

async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Returns whether an instance exists and its process has not exited. */
function isAlive(instance: BackendInstance | undefined): instance is BackendInstance {
  return instance !== undefined && instance.process.exit === undefined;
}
