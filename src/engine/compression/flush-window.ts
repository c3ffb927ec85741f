import type { BodyCompressor } from "./body-compressor.js";

/**
 * Feeds Codec frames to a compressor and decides when to flush. A frame that arrives when no
 * flush happened for `intervalMs` is compressed and flushed at once, so the first frame (and any
 * frame after a pause) is never delayed. Frames that follow closely are collected and flushed
 * together when the interval ends, because every flush adds block framing: at one token per
 * frame, flushing each frame made gzip, br and zstd output larger than identity
 * (docs/benchmarks.md). With `intervalMs` 0 every frame is flushed on its own.
 */
export class FlushWindow {
  readonly #compressor: BodyCompressor;
  readonly #write: (bytes: Uint8Array) => Promise<void>;
  readonly #intervalMs: number;
  #pending: Uint8Array[] = [];
  #lastFlushAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  /** Flushes run one after another; writes keep their order and backpressure. */
  #chain: Promise<void> = Promise.resolve();

  constructor(
    compressor: BodyCompressor,
    write: (bytes: Uint8Array) => Promise<void>,
    intervalMs: number,
  ) {
    this.#compressor = compressor;
    this.#write = write;
    this.#intervalMs = intervalMs;
  }

  /** Adds one frame; resolves once earlier flushes have been written. */
  send(frame: Uint8Array): Promise<void> {
    this.#pending.push(frame);
    const due = this.#lastFlushAt + this.#intervalMs;
    const now = performance.now();
    if (now >= due) return this.#flushNow();

    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      // A failed timed flush surfaces on the next send or at finish, which await the chain.
      this.#flushNow().catch(() => undefined);
    }, due - now);
    return this.#chain;
  }

  /** Flushes what is pending and ends the compressed stream. */
  async finish(): Promise<void> {
    await this.#flushNow();
    await this.#write(await this.#compressor.finish());
  }

  /** Stops a scheduled flush, for an abandoned response. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flushNow(): Promise<void> {
    this.cancel();
    this.#chain = this.#chain.then(() => this.#flush());
    return this.#chain;
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const frames = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#lastFlushAt = performance.now();
    await this.#write(await this.#compressor.push(frames));
  }
}
