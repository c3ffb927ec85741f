import { setTimeout as sleep } from "node:timers/promises";

import type { BackendProcess } from "../backend-process.js";

/** Load request: the model spec, its engine arguments and the id it is served under. */
export interface LoadTarget {
  model: string;
  args: readonly string[];
  /** The model id the backend reports, e.g. the registry name; the backend's default when absent. */
  servedName?: string | undefined;
}

/** A backend process and what the proxy needs to send it requests and to drain it. */
export class BackendInstance {
  readonly process: BackendProcess;
  readonly origin: string;
  readonly target: LoadTarget;
  readonly startedAt: Date;
  /** When the health check passed, or `undefined` while it has not. */
  readyAt: Date | undefined;
  #inFlight = 0;
  readonly #idleWaiters = new Set<() => void>();

  constructor(init: {
    process: BackendProcess;
    origin: string;
    target: LoadTarget;
    startedAt: Date;
  }) {
    this.process = init.process;
    this.origin = init.origin;
    this.target = init.target;
    this.startedAt = init.startedAt;
  }

  get model(): string {
    return this.target.model;
  }

  get args(): readonly string[] {
    return this.target.args;
  }

  /** Requests the proxy is forwarding to this instance now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Counts one forwarded request; the returned function ends it and may be called more than once. */
  track(): () => void {
    this.#inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#inFlight--;
      if (this.#inFlight === 0) for (const wake of this.#idleWaiters) wake();
    };
  }

  /** Waits until no request is in flight, for at most `timeoutMs`; returns true if it drained. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return true;

    let wake!: () => void;
    const idle = new Promise<boolean>((resolve) => {
      wake = () => resolve(true);
      this.#idleWaiters.add(wake);
    });
    const controller = new AbortController();
    try {
      return await Promise.race([idle, sleep(timeoutMs, false, { signal: controller.signal })]);
    } finally {
      controller.abort();
      this.#idleWaiters.delete(wake);
    }
  }
}
