/** Settings of the crash-restart policy. */
export interface RestartPolicy {
  /** Delay before the first restart after a crash. */
  baseDelayMs: number;
  /** Upper bound of the doubling delay. */
  maxDelayMs: number;
  /** Restarts allowed in a row before the supervisor gives up and stays `failed`. */
  maxAttempts: number;
  /** A backend that stayed ready this long before crashing starts a fresh series of attempts. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxAttempts: 5,
  stableAfterMs: 60_000,
};

/** Decision after a crash. `attempt` numbers the restart, counted from 1 in each series. */
export type RestartDecision =
  { action: "restart"; attempt: number; delayMs: number } | { action: "give_up"; attempts: number };

/**
 * Decides whether and when to restart a backend that exited unexpectedly: exponential
 * backoff (base, 2×base, 4×base … up to the maximum) for at most `maxAttempts` restarts in a
 * row. `previousAttempts` is the number of restarts already made in the current series;
 * `readyForMs` is how long the backend had been ready before this crash (0 if it never was).
 */
export function decideRestart(
  previousAttempts: number,
  readyForMs: number,
  policy: RestartPolicy,
): RestartDecision {
  const attemptsSoFar = readyForMs >= policy.stableAfterMs ? 0 : previousAttempts;
  if (attemptsSoFar >= policy.maxAttempts) return { action: "give_up", attempts: attemptsSoFar };

  const delayMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attemptsSoFar);
  return { action: "restart", attempt: attemptsSoFar + 1, delayMs };
}
