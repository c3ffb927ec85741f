/**
 * Calls `stop` once on the first SIGTERM or SIGINT, then exits with code 0 when it resolves.
 * `onSignal` runs first, for the process's own "stopping" log event.
 */
export function stopOnSignals(stop: () => Promise<void>, onSignal: (signal: NodeJS.Signals) => void): void {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      onSignal(signal);
      void stop().then(() => process.exit(0));
    });
  }
}
