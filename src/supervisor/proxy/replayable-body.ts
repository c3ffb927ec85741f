import { once } from "node:events";
import { PassThrough, type Readable } from "node:stream";

/** Request bodies up to this size are kept, so a request can be sent again after an engine crash. */
export const REPLAY_LIMIT_BYTES = 1024 * 1024;

/**
 * A request body that streams to the backend as it arrives and also keeps a copy of its
 * first `limit` bytes. When the backend died before answering, a body that was no longer than
 * the limit can be sent again to the engine that replaces it.
 */
export class ReplayableBody {
  /** The stream to send on the first attempt. */
  readonly stream: PassThrough;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #tooLarge = false;
  readonly #ended: Promise<boolean>;

  constructor(source: Readable, limit = REPLAY_LIMIT_BYTES) {
    this.#ended = once(source, "end").then(
      () => true,
      () => false,
    );
    source.on("data", (chunk: Buffer) => {
      if (this.#tooLarge) return;
      this.#size += chunk.length;
      if (this.#size > limit) {
        this.#tooLarge = true;
        this.#chunks.length = 0;
        return;
      }
      this.#chunks.push(chunk);
    });
    this.stream = new PassThrough();
    source.pipe(this.stream);
  }

  /** Waits for the whole body and returns it, or `undefined` when it was too large or broken. */
  async replay(): Promise<Buffer | undefined> {
    if (this.#tooLarge) return undefined;
    const ended = await this.#ended;
    return ended && !this.#tooLarge ? Buffer.concat(this.#chunks) : undefined;
  }
}
