/** Time `stop` may take after a signal before the process exits anyway. */
const FORCED_EXIT_MS = 60_000;

/**
 * Calls `stop` once on the first SIGTERM or SIGINT, then exits with code 0 when it resolves.
 * `onSignal` runs first, for the process's own "stopping" log event. A second signal, or a
 * `stop` that takes longer than a minute (say, a model load stuck in native code), makes the
 * process exit at once with code 1.
 */
export function stopOnSignals(
  stop: () => Promise<void>,
  onSignal: (signal: NodeJS.Signals) => void,
): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    onSignal(signal);
    setTimeout(() => process.exit(1), FORCED_EXIT_MS).unref();
    void stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", handle);
  process.on("SIGINT", handle);
}
