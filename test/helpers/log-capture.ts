import type { DestinationStream } from "pino";

/** A pino destination that keeps every log line as a parsed object. */
export interface LogCapture {
  destination: DestinationStream;
  events: Array<Record<string, any>>;
}

export function captureLog(): LogCapture {
  const events: Array<Record<string, any>> = [];
  return {
    events,
    destination: {
      write(line: string) {
        events.push(JSON.parse(line) as Record<string, any>);
      },
    },
  };
}

/** Waits until `predicate` holds, checking every 20 ms, or fails after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
