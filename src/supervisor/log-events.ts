import type { EventLogger } from "../http/logger.js";
import type { BackendTransition } from "./backend-state.js";

/** Named log events of the supervisor process. Unexpected backend exits are warnings. */

const SECRET_FLAG = /key|token|secret|password/i;

/** Replaces the value after any flag that looks like it carries a secret (`--api-key X`). */
export function redactArgs(args: readonly string[]): string[] {
  return args.map((arg, index) => {
    const [flag, inlineValue] = arg.split("=", 2);
    if (inlineValue !== undefined && flag !== undefined && SECRET_FLAG.test(flag))
      return `${flag}=[redacted]`;
    const previous = args[index - 1];
    if (
      previous !== undefined &&
      previous.startsWith("-") &&
      !previous.includes("=") &&
      SECRET_FLAG.test(previous)
    ) {
      return "[redacted]";
    }
    return arg;
  });
}

export function backendStarting(
  log: EventLogger,
  fields: { backend: string; model: string; command: string; args: readonly string[]; pid: number },
): void {
  log.info(
    { event: "backend.starting", ...fields, args: redactArgs(fields.args) },
    "starting the backend",
  );
}

export function backendReady(
  log: EventLogger,
  fields: { backend: string; model: string; pid: number; durationMs: number },
): void {
  log.info({ event: "backend.ready", ...fields }, "the backend is ready");
}

export function backendStartFailed(
  log: EventLogger,
  fields: { backend: string; model: string; pid: number; reason: string; durationMs: number },
): void {
  log.error(
    { event: "backend.start_failed", ...fields },
    `the backend failed to start: ${fields.reason}`,
  );
}

export function backendExited(
  log: EventLogger,
  fields: { pid: number; code: number | null; signal: string | null; expected: boolean },
): void {
  const event = { event: "backend.exited", ...fields };
  if (fields.expected) log.info(event, "the backend exited");
  else log.warn(event, "the backend exited unexpectedly");
}

export function restartScheduled(
  log: EventLogger,
  fields: { model: string; attempt: number; delayMs: number },
): void {
  log.warn(
    { event: "backend.restart_scheduled", ...fields },
    `restarting the backend in ${fields.delayMs} ms (attempt ${fields.attempt})`,
  );
}

export function backendStopped(
  log: EventLogger,
  fields: { pid: number; durationMs: number; killed: boolean },
): void {
  log.info({ event: "backend.stopped", ...fields }, "the backend stopped");
}

export function backendStateChanged(log: EventLogger, transition: BackendTransition): void {
  log.debug(
    {
      event: "backend.state_changed",
      from: transition.from,
      to: transition.to,
      reason: transition.reason,
    },
    `backend ${transition.from} -> ${transition.to}`,
  );
}

export function initialModelSkipped(log: EventLogger, fields: { reason: string }): void {
  log.info({ event: "supervisor.no_initial_model", ...fields }, "starting without a backend");
}

export function initialModelFailed(
  log: EventLogger,
  fields: { model: string },
  error: unknown,
): void {
  const reason = error instanceof Error ? error.message : String(error);
  log.error(
    { event: "supervisor.initial_model_failed", ...fields, err: error },
    `the initial model did not load: ${reason}`,
  );
}

export function supervisorStopping(log: EventLogger, fields: { signal: string }): void {
  log.info({ event: "supervisor.stopping", ...fields }, "stopping the supervisor and its backend");
}

export function adminOpenToLoopbackOnly(log: EventLogger, fields: { host: string }): void {
  log.warn(
    { event: "supervisor.admin_loopback_only", ...fields },
    "listening beyond loopback without CODEC_ADMIN_TOKEN: admin routes answer loopback clients only",
  );
}

export function servingStateNotSaved(
  log: EventLogger,
  fields: { path: string },
  error: unknown,
): void {
  log.error(
    { event: "supervisor.serving_state_not_saved", ...fields, err: error },
    "failed to save the served model",
  );
}

export function demoModelReady(
  log: EventLogger,
  fields: { path: string; durationMs: number },
): void {
  log.info({ event: "supervisor.demo_model_ready", ...fields }, "demo model ready");
}

export function proxyUpstreamFailed(
  log: EventLogger,
  fields: { reqId: string; url: string; afterHeaders: boolean },
  error: unknown,
): void {
  log.warn(
    { event: "proxy.upstream_failed", ...fields, err: error },
    "request to the backend failed",
  );
}
