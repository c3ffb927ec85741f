/**
 * A one-line progress display for transfers. On a terminal the line is rewritten in place
 * with `\r`. Otherwise (a pipe or a log file) a new line is printed at most every
 * `logIntervalMs`. It is written here rather than taken from a progress-bar package, because
 * one line of bytes, rate and time left is all the pull and upload commands show.
 */

/** Values shown on one progress line. */
export interface ProgressView {
  done: number;
  /** 0 when the total is not known yet. */
  total: number;
  rateBytesPerS: number;
  /** Seconds left; null while unknown. */
  etaS: number | null;
  /** Name of the item being transferred, e.g. the current file. */
  label?: string;
}

const BAR_WIDTH = 24;
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** Formats a byte count with binary units, e.g. `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Formats seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

/** Renders e.g. `[#########---------------]  37%  1.2 GiB / 3.3 GiB  45.0 MiB/s  ETA 0:47  model.gguf`. */
export function renderProgressLine(view: ProgressView): string {
  const fraction = view.total > 0 ? Math.min(1, view.done / view.total) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const amount =
    view.total > 0
      ? `${formatBytes(view.done)} / ${formatBytes(view.total)}`
      : formatBytes(view.done);
  const eta = view.etaS === null ? "ETA --:--" : `ETA ${formatDuration(view.etaS)}`;
  const parts = [bar, percent, amount, `${formatBytes(Math.round(view.rateBytesPerS))}/s`, eta];
  if (view.label !== undefined) parts.push(view.label);
  return parts.join("  ");
}

/**
 * Writes progress lines to a stream, in place on a terminal. After `finish` or `abort` it
 * writes nothing more, so no progress line can follow the command's result or error.
 */
export class ProgressReporter {
  readonly #stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly #logIntervalMs: number;
  #lastLogAt = 0;
  #lastLine = "";
  /** The last line written without a terminal, so `finish` does not print it twice. */
  #lastPrinted = "";
  /** True while a terminal line is on screen without its newline. */
  #lineOpen = false;
  #stopped = false;

  constructor(
    stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    options: { logIntervalMs?: number } = {},
  ) {
    this.#stream = stream;
    this.#logIntervalMs = options.logIntervalMs ?? 5_000;
  }

  update(view: ProgressView): void {
    if (this.#stopped) return;
    const line = renderProgressLine(view);
    if (this.#stream.isTTY === true) {
      const width = this.#stream.columns ?? 120;
      this.#stream.write(`\r\u001b[2K${line.slice(0, Math.max(20, width - 1))}`);
      this.#lineOpen = true;
    } else if (Date.now() - this.#lastLogAt >= this.#logIntervalMs) {
      this.#print(line);
      this.#lastLogAt = Date.now();
    }
    this.#lastLine = line;
  }

  /** Ends the progress display, printing the last state on its own line unless it is already the last line printed. */
  finish(view?: ProgressView): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const line = view === undefined ? this.#lastLine : renderProgressLine(view);
    if (line === "") return;
    if (this.#stream.isTTY === true) {
      this.#stream.write(`\r\u001b[2K${line}\n`);
      this.#lineOpen = false;
    } else if (line !== this.#lastPrinted) {
      this.#print(line);
    }
  }

  /** Ends the progress display without a final line, e.g. before an error message; on a terminal the open line is cleared. */
  abort(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#lineOpen) this.#stream.write("\r\u001b[2K");
    this.#lineOpen = false;
  }

  #print(line: string): void {
    this.#stream.write(`${line}\n`);
    this.#lastPrinted = line;
  }
}
