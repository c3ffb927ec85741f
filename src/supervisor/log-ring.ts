/** One line of backend output. */
export interface LogLine {
  pid: number;
  stream: "stdout" | "stderr";
  line: string;
  at: Date;
}

/** Keeps the last `capacity` lines of backend output, oldest first. */
export class LogRing {
  readonly #capacity: number;
  readonly #lines: LogLine[] = [];
  readonly #listeners = new Set<(line: LogLine) => void>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  push(line: LogLine): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#capacity) this.#lines.shift();
    for (const listener of this.#listeners) listener(line);
  }

  /** Calls `listener` for every line pushed from now on; returns the unsubscribe function. */
  subscribe(listener: (line: LogLine) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The last `count` lines, optionally only those of one process. */
  tail(count: number, pid?: number): LogLine[] {
    const lines = pid === undefined ? this.#lines : this.#lines.filter((line) => line.pid === pid);
    return lines.slice(-count);
  }
}
