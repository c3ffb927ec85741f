import type { EventLogger } from "../../http/logger.js";

/** Named log events of the supervisor's event bus and its SSE route. */

/** Logs a subscriber that fell too far behind, so its event stream was closed. */
export function eventStreamDropped(
  log: EventLogger,
  fields: { reqId: string; bufferedBytes: number },
): void {
  log.warn(
    { event: "events.stream_dropped", ...fields },
    "closed an event stream whose client stopped reading",
  );
}

/** Logs a bus subscriber that threw; the other subscribers still got the event. */
export function eventListenerFailed(
  log: EventLogger,
  fields: { type: string; id: number },
  error: unknown,
): void {
  log.error(
    { event: "events.listener_failed", ...fields, err: error },
    `an event listener failed on ${fields.type}`,
  );
}
