/**
 * A growable FIFO of bytes: network chunks go in at the back and whole frames come out at
 * the front. Consumed space is reused, so a long stream does not grow the buffer.
 */
export class ByteQueue {
  #buffer = new Uint8Array(4096);
  #start = 0;
  #end = 0;
  /** Bytes consumed since the queue was created, the stream offset of the front byte. */
  #consumed = 0;

  /** Number of buffered bytes. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** Stream offset of the first buffered byte. */
  get offset(): number {
    return this.#consumed;
  }

  /** Appends a copy of `chunk`. */
  push(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#buffer.length) {
      this.#makeRoom(chunk.length);
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Returns the buffered bytes without copying. The view is valid until the next `push`. */
  view(): Uint8Array {
    return this.#buffer.subarray(this.#start, this.#end);
  }

  /** Drops `count` bytes from the front. */
  consume(count: number): void {
    this.#start += count;
    this.#consumed += count;
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
  }

  #makeRoom(extra: number): void {
    const length = this.length;
    const needed = length + extra;
    if (needed <= this.#buffer.length) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
    } else {
      const grown = new Uint8Array(Math.max(needed, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = grown;
    }
    this.#start = 0;
    this.#end = length;
  }
}
