/**
 * Lifecycle states of the backend engine process.
 *
 * - `stopped`: no process.
 * - `starting`: the process runs but its health check has not passed yet.
 * - `ready`: healthy; requests are proxied to it.
 * - `draining`: no new requests are sent to it; in-flight ones finish.
 * - `stopping`: it has been sent SIGTERM (and SIGKILL after the grace period).
 * - `failed`: it exited unexpectedly or never became healthy.
 */
export type BackendState = "stopped" | "starting" | "ready" | "draining" | "stopping" | "failed";

/** The allowed transitions; every other one is a bug and is rejected. */
export const BACKEND_TRANSITIONS: Readonly<Record<BackendState, readonly BackendState[]>> = {
  stopped: ["starting"],
  starting: ["ready", "stopping", "failed"],
  ready: ["draining", "stopping", "failed"],
  draining: ["stopping", "failed"],
  stopping: ["stopped", "failed"],
  failed: ["starting", "stopping", "stopped"],
};

/** Returns true when `from → to` is in the transition table. */
export function canTransition(from: BackendState, to: BackendState): boolean {
  return BACKEND_TRANSITIONS[from].includes(to);
}

/** One state change, as emitted to listeners. */
export interface BackendTransition {
  from: BackendState;
  to: BackendState;
  /** Why the change happened, e.g. "health check passed" or "exited with code 1". */
  reason: string;
  at: Date;
}

/** Raised on a transition the table does not allow. */
export class IllegalTransitionError extends Error {
  readonly code = "CODEC_ERR_BACKEND_ILLEGAL_TRANSITION";

  constructor(
    readonly from: BackendState,
    readonly to: BackendState,
  ) {
    super(`illegal backend state transition from ${from} to ${to}`);
    this.name = "IllegalTransitionError";
  }
}

/**
 * Holds the current state and applies transitions from the table. It does no I/O: the
 * lifecycle owner performs the effects and records each state change here.
 */
export class BackendStateMachine {
  #state: BackendState = "stopped";
  readonly #listeners = new Set<(transition: BackendTransition) => void>();

  get state(): BackendState {
    return this.#state;
  }

  /** Moves to `to`, or throws IllegalTransitionError and stays put. */
  transition(to: BackendState, reason: string): BackendTransition {
    if (!canTransition(this.#state, to)) throw new IllegalTransitionError(this.#state, to);

    const transition: BackendTransition = { from: this.#state, to, reason, at: new Date() };
    this.#state = to;
    for (const listener of this.#listeners) listener(transition);
    return transition;
  }

  /** Calls `listener` on every transition; returns a function that unsubscribes it. */
  onTransition(listener: (transition: BackendTransition) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
