import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";

import { ERRORS, HttpError } from "../http/errors.js";

/** Seconds a client should wait before retrying when every sequence is busy and the queue is full. */
const RETRY_AFTER_SECONDS = 1;

interface Waiter {
  resolve: (sequence: LlamaContextSequence) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

/**
 * Hands out the context's sequences, one per running request, first come first served.
 *
 * Requests beyond the number of sequences wait in a FIFO queue of at most `maxQueue`
 * entries. When the queue is full, `acquire` fails at once with a 503 and `Retry-After`.
 * A waiter whose signal aborts leaves the queue. A released sequence has its history cleared before the
 * next request gets it.
 */
export class SequencePool {
  readonly #free: LlamaContextSequence[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #maxQueue: number;

  constructor(context: LlamaContext, maxQueue: number) {
    for (let i = 0; i < context.totalSequences; i++) this.#free.push(context.getSequence());
    this.#maxQueue = maxQueue;
  }

  /** Requests waiting for a sequence. */
  get queued(): number {
    return this.#waiters.length;
  }

  /** Sequences not in use. */
  get idle(): number {
    return this.#free.length;
  }

  /** Waits for a free sequence. Rejects with the signal's reason when it aborts first. */
  acquire(signal: AbortSignal): Promise<LlamaContextSequence> {
    if (signal.aborted) return Promise.reject(signal.reason);

    const sequence = this.#free.pop();
    if (sequence !== undefined) return Promise.resolve(sequence);

    if (this.#waiters.length >= this.#maxQueue) {
      return Promise.reject(
        new HttpError(
          ERRORS.engineBusy,
          "every sequence is busy and the request queue is full; retry shortly",
          {
            headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
          },
        ),
      );
    }

    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.#removeWaiter(waiter);
          reject(signal.reason);
        },
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Clears the sequence's history and hands it to the next waiter, if any. */
  async release(sequence: LlamaContextSequence): Promise<void> {
    await sequence.clearHistory();

    const waiter = this.#waiters.shift();
    if (waiter === undefined) {
      this.#free.push(sequence);
      return;
    }
    waiter.signal.removeEventListener("abort", waiter.onAbort);
    waiter.resolve(sequence);
  }

  #removeWaiter(waiter: Waiter): void {
    const index = this.#waiters.indexOf(waiter);
    if (index >= 0) this.#waiters.splice(index, 1);
  }
}
