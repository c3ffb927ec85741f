import { ERRORS, HttpError } from "../../http/errors.js";

/** Limits of the hold queue. */
export interface HoldLimits {
  /** Requests that may wait at once; further ones get 503 at once. */
  maxHeld: number;
  /** Maximum wait of one request before it gets 503. */
  maxWaitMs: number;
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal;
  onAbort: () => void;
  heldSince: number;
}

/** Counters for `/admin/status` and the benchmarks. */
export interface HoldStatistics {
  held: number;
  released: number;
  rejected: number;
  /** Longest time a released request waited, in milliseconds. */
  longestWaitMs: number;
}

/**
 * Holds requests while the backend cannot take them (during a swap or a restart) and lets
 * them through, in arrival order, when it can. A request that cannot be held (the queue is
 * full) or waits too long gets a 503 with `Retry-After`, never a reset connection.
 */
export class HoldGate {
  readonly #limits: HoldLimits;
  readonly #waiters: Waiter[] = [];
  #open = true;
  #reason = "";
  readonly #statistics: HoldStatistics = { held: 0, released: 0, rejected: 0, longestWaitMs: 0 };

  constructor(limits: HoldLimits) {
    this.#limits = limits;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** Requests waiting now. */
  get waiting(): number {
    return this.#waiters.length;
  }

  get statistics(): Readonly<HoldStatistics> {
    return { ...this.#statistics };
  }

  /** Starts holding new requests; `reason` goes into the 503 message of rejected ones. */
  close(reason: string): void {
    this.#open = false;
    this.#reason = reason;
  }

  /** Lets every held request through and stops holding. */
  open(): void {
    this.#open = true;
    const now = Date.now();
    for (const waiter of this.#waiters.splice(0)) {
      this.#statistics.released++;
      this.#statistics.longestWaitMs = Math.max(
        this.#statistics.longestWaitMs,
        now - waiter.heldSince,
      );
      this.#settle(waiter);
      waiter.resolve();
    }
  }

  /** Fails every held request with `error` (the gate stays closed). */
  rejectAll(error: HttpError): void {
    for (const waiter of this.#waiters.splice(0)) {
      this.#statistics.rejected++;
      this.#settle(waiter);
      waiter.reject(error);
    }
  }

  /**
   * Resolves at once when the gate is open; otherwise waits until it opens. Rejects with a
   * 503 when the queue is full or the wait exceeds the limit, and with the signal's reason
   * when the client goes away.
   */
  pass(signal: AbortSignal): Promise<void> {
    if (this.#open) return Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#waiters.length >= this.#limits.maxHeld) {
      this.#statistics.rejected++;
      return Promise.reject(
        this.#unavailable(`the hold queue is full (${this.#limits.maxHeld} requests)`),
      );
    }

    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        heldSince: Date.now(),
        timer: setTimeout(() => {
          this.#remove(waiter);
          this.#statistics.rejected++;
          reject(
            this.#unavailable(`the request waited ${Math.round(this.#limits.maxWaitMs / 1000)} s`),
          );
        }, this.#limits.maxWaitMs),
        onAbort: () => {
          this.#remove(waiter);
          reject(signal.reason);
        },
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
      this.#statistics.held++;
      this.#waiters.push(waiter);
    });
  }

  #unavailable(detail: string): HttpError {
    return new HttpError(ERRORS.proxyBackendStarting, `${this.#reason}; ${detail}, retry shortly`, {
      headers: { "Retry-After": "2" },
    });
  }

  #remove(waiter: Waiter): void {
    const index = this.#waiters.indexOf(waiter);
    if (index >= 0) this.#waiters.splice(index, 1);
    this.#settle(waiter);
  }

  #settle(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    waiter.signal.removeEventListener("abort", waiter.onAbort);
  }
}
