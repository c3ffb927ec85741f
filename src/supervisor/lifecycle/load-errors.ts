import { ERRORS, HttpError } from "../../http/errors.js";
import type { RunningOperation } from "./backend-types.js";

/** Raised when a load fails; `restored` is true when the previous model serves again. */
export class LoadFailedError extends Error {
  readonly code = "CODEC_ERR_BACKEND_LOAD_FAILED";

  constructor(
    readonly model: string,
    cause: unknown,
    readonly previousModel: string | undefined,
    readonly restored: boolean,
    readonly cancelled: boolean,
    readonly reason: string,
  ) {
    super(loadFailureMessage(model, cause, previousModel, restored, cancelled), { cause });
    this.name = "LoadFailedError";
  }
}

function loadFailureMessage(
  model: string,
  cause: unknown,
  previousModel: string | undefined,
  restored: boolean,
  cancelled: boolean,
): string {
  const detail = cause instanceof Error ? cause.message : String(cause);
  if (cancelled) return `loading ${model} was cancelled by a stop request`;
  if (previousModel === undefined) return `loading ${model} failed: ${detail}`;
  const after = restored
    ? `${previousModel} serves again`
    : `restoring ${previousModel} failed too; no model serves`;
  return `loading ${model} failed, and ${after}: ${detail}`;
}

/** Builds the 409 that names the operation under way. */
export function operationConflict(running: RunningOperation): HttpError {
  const descriptions = {
    restart: "a restart after a crash",
    stop: "a stop",
    load: "a load",
  } as const;
  const what = descriptions[running.kind];
  const of = running.model === undefined ? "" : ` of ${running.model}`;
  return new HttpError(
    ERRORS.backendOperationConflict,
    `${what}${of} is under way since ${running.startedAt.toISOString()}; wait for it, or cancel it with POST /admin/stop`,
  );
}
