import { setTimeout as sleep } from "node:timers/promises";

import { request } from "undici";

import type { ProcessExit } from "./backend-process.js";

/** Time between health probes while a backend starts. */
const PROBE_INTERVAL_MS = 250;
/** Time one probe may take before it counts as failed. */
const PROBE_TIMEOUT_MS = 2_000;

/** Kind of failure when a backend did not become healthy. */
export type StartFailureKind = "exited" | "spawn_failed" | "timed_out" | "cancelled";

/** Raised when a backend does not become healthy. */
export class BackendStartError extends Error {
  readonly code = "CODEC_ERR_BACKEND_START_FAILED";
  /** The one-line reason, without the process output that `message` may carry. */
  readonly reason: string;

  constructor(
    readonly kind: StartFailureKind,
    message: string,
    readonly exit?: ProcessExit,
    reason?: string,
  ) {
    super(message);
    this.name = "BackendStartError";
    this.reason = reason ?? message;
  }
}

/**
 * Polls `url` until it returns 200. Fails as soon as the process exits, when
 * `timeoutMs` passes, or when `signal` aborts. Any other status (503 while the model
 * loads) or a connection error means "not yet".
 */
export async function waitForHealthy(
  url: string,
  options: {
    timeoutMs: number;
    exited: Promise<ProcessExit>;
    signal?: AbortSignal;
    instanceId?: string;
  },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let exit: ProcessExit | undefined;
  void options.exited.then((value) => {
    exit = value;
  });

  for (;;) {
    if (exit !== undefined) throw exitError(exit);
    if (options.signal?.aborted)
      throw new BackendStartError("cancelled", "the start was cancelled");
    if (Date.now() >= deadline) {
      throw new BackendStartError(
        "timed_out",
        `the backend did not become healthy within ${Math.round(options.timeoutMs / 1000)} s`,
      );
    }

    if (await probe(url, options.instanceId)) return;
    await Promise.race([sleep(PROBE_INTERVAL_MS), options.exited]);
  }
}

/**
 * Returns true when `url` returns 200 and, if `instanceId` is given, echoes it, so an engine
 * left on the same port by another supervisor is not mistaken for the one just started.
 */
async function probe(url: string, instanceId: string | undefined): Promise<boolean> {
  try {
    const response = await request(url, {
      headersTimeout: PROBE_TIMEOUT_MS,
      bodyTimeout: PROBE_TIMEOUT_MS,
    });
    if (instanceId === undefined) {
      await response.body.dump();
      return response.statusCode === 200;
    }
    const body = (await response.body.json().catch(() => undefined)) as
      { instance_id?: unknown } | undefined;
    return response.statusCode === 200 && body?.instance_id === instanceId;
  } catch {
    return false;
  }
}

function exitError(exit: ProcessExit): BackendStartError {
  if (exit.error !== undefined) {
    const missing = (exit.error as NodeJS.ErrnoException).code === "ENOENT";
    const command = (exit.error as NodeJS.ErrnoException).path ?? "the backend command";
    const message = missing
      ? `the command '${command}' was not found; install it or choose another backend with CODEC_BACKEND`
      : `the backend could not be started: ${exit.error.message}`;
    return new BackendStartError("spawn_failed", message, exit);
  }
  const how = exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
  return new BackendStartError("exited", `the backend exited during start-up with ${how}`, exit);
}
