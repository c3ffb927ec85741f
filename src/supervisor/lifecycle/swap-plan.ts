/**
 * How a model swap proceeds.
 *
 * - `restart`: the old engine drains and stops, then the new one starts on the same port.
 *   Requests that arrive meanwhile are held and go to the new engine. Needs room for one
 *   model.
 * - `overlap`: the new engine starts on a spare port while the old one keeps serving;
 *   traffic switches at once when the new one is healthy, then the old one drains and
 *   stops. Nothing is held, but both models must fit in memory at the same time.
 */
export type SwapMode = "restart" | "overlap";

export const SWAP_MODES: readonly SwapMode[] = ["restart", "overlap"];

/** One step of a swap. The lifecycle owner performs each through `SwapEffects`. */
export type SwapStep =
  | "hold_requests"
  | "drain_current"
  | "stop_current"
  | "start_candidate_same_port"
  | "start_candidate_spare_port"
  | "promote_candidate"
  | "release_requests"
  | "stop_candidate"
  | "restart_previous"
  | "reject_held_requests";

/** The steps of a swap, and the steps to take when the candidate fails to start. */
export interface SwapPlan {
  steps: readonly SwapStep[];
  /** Run when a `start_candidate_*` step fails; they restore the previous model if there was one. */
  onCandidateFailure: readonly SwapStep[];
}

/**
 * Plans a swap. With no current model (first load, or after a failure) there is nothing to
 * drain or roll back to, so requests are held until the candidate is ready or fails.
 */
export function planSwap(mode: SwapMode, hasCurrent: boolean): SwapPlan {
  if (!hasCurrent) {
    return {
      steps: [
        "hold_requests",
        "start_candidate_same_port",
        "promote_candidate",
        "release_requests",
      ],
      onCandidateFailure: ["reject_held_requests", "release_requests"],
    };
  }

  if (mode === "overlap") {
    return {
      steps: ["start_candidate_spare_port", "promote_candidate", "drain_current", "stop_current"],
      // The current model never stopped serving, so only the candidate is cleaned up.
      onCandidateFailure: ["stop_candidate"],
    };
  }

  return {
    steps: [
      "hold_requests",
      "drain_current",
      "stop_current",
      "start_candidate_same_port",
      "promote_candidate",
      "release_requests",
    ],
    onCandidateFailure: ["stop_candidate", "restart_previous", "release_requests"],
  };
}

/** The effects a swap needs; the lifecycle owner implements them with real processes. */
export type SwapEffects = Record<SwapStep, () => Promise<void>>;

/** Outcome of a swap. */
export type SwapOutcome =
  | { kind: "swapped" }
  | { kind: "rolled_back"; error: unknown }
  | { kind: "rollback_failed"; error: unknown; rollbackError: unknown };

/**
 * Runs `plan` step by step. When a candidate start fails, runs the failure steps instead of
 * the rest of the plan. A failing failure step is reported but does not stop the others, so
 * held requests are always released or rejected.
 */
export async function executeSwap(plan: SwapPlan, effects: SwapEffects): Promise<SwapOutcome> {
  for (const step of plan.steps) {
    try {
      await effects[step]();
    } catch (error) {
      if (step !== "start_candidate_same_port" && step !== "start_candidate_spare_port")
        throw error;
      return recover(plan.onCandidateFailure, effects, error);
    }
  }
  return { kind: "swapped" };
}

async function recover(
  steps: readonly SwapStep[],
  effects: SwapEffects,
  error: unknown,
): Promise<SwapOutcome> {
  let rollbackError: unknown;
  let rollbackFailed = false;
  for (const step of steps) {
    try {
      await effects[step]();
    } catch (stepError) {
      if (!rollbackFailed) rollbackError = stepError;
      rollbackFailed = true;
    }
  }
  return rollbackFailed
    ? { kind: "rollback_failed", error, rollbackError }
    : { kind: "rolled_back", error };
}
