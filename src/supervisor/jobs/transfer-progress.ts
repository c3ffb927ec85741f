import type { JobFileProgress, JobFileState, JobProgress } from "./job-types.js";

/** The window over which the transfer rate is averaged. */
const RATE_WINDOW_MS = 5_000;

interface RateSample {
  atMs: number;
  transferred: number;
}

/**
 * Byte progress of a multi-file transfer. `bytes_done` counts bytes on disk, including bytes
 * kept from an earlier, interrupted run. The rate counts only bytes received by this run, so
 * a resumed download does not report a burst of speed.
 */
export class TransferProgress {
  readonly #files = new Map<string, JobFileProgress>();
  readonly #now: () => number;
  #samples: RateSample[] = [];
  #transferred = 0;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Sets the list of files, replacing any earlier one. */
  setFiles(files: ReadonlyArray<{ path: string; bytesTotal: number; bytesDone?: number }>): void {
    this.#files.clear();
    for (const file of files) {
      this.#files.set(file.path, {
        path: file.path,
        bytes_done: file.bytesDone ?? 0,
        bytes_total: file.bytesTotal,
        state:
          file.bytesDone !== undefined && file.bytesDone >= file.bytesTotal ? "done" : "pending",
      });
    }
  }

  setFileState(path: string, state: JobFileState): void {
    const file = this.#files.get(path);
    if (file !== undefined) file.state = state;
  }

  /** Records how many bytes of `path` are on disk now. */
  setFileBytes(path: string, bytesDone: number): void {
    const file = this.#files.get(path);
    if (file !== undefined) file.bytes_done = bytesDone;
  }

  /** Records `bytes` received from the network, for the rate. */
  addTransferred(bytes: number): void {
    this.#transferred += bytes;
    this.#sample();
  }

  /** Returns the current progress, with the rate over the last few seconds and the time left at that rate. */
  snapshot(): JobProgress {
    const files = [...this.#files.values()].map((file) => ({ ...file }));
    const bytesDone = files.reduce((sum, file) => sum + file.bytes_done, 0);
    const bytesTotal = files.reduce((sum, file) => sum + file.bytes_total, 0);
    const rate = this.#rate();
    const remaining = Math.max(0, bytesTotal - bytesDone);
    return {
      bytes_done: bytesDone,
      bytes_total: bytesTotal,
      files_done: files.filter((file) => file.state === "done").length,
      files_total: files.length,
      rate_bytes_per_s: Math.round(rate),
      eta_s: estimateSeconds(files.length, remaining, rate),
      files,
    };
  }

  #sample(): void {
    const atMs = this.#now();
    this.#samples.push({ atMs, transferred: this.#transferred });
    const cutoff = atMs - RATE_WINDOW_MS;
    while (this.#samples.length > 2 && this.#samples[1]!.atMs < cutoff) this.#samples.shift();
  }

  #rate(): number {
    const first = this.#samples[0];
    if (first === undefined) return 0;
    const elapsedMs = this.#now() - first.atMs;
    if (elapsedMs <= 0) return 0;
    return ((this.#transferred - first.transferred) * 1000) / elapsedMs;
  }
}

/** Seconds left: null before the files are known or while nothing moves, 0 when all bytes are there. */
function estimateSeconds(fileCount: number, remainingBytes: number, rate: number): number | null {
  if (fileCount === 0) return null;
  if (remainingBytes === 0) return 0;
  return rate > 0 ? Math.ceil(remainingBytes / rate) : null;
}
