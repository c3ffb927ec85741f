import type { EventLogger } from "./logger.js";

/**
 * Named log events for the HTTP layer that both processes share. Events about one request
 * take the request's logger, which already carries its `reqId`. Each function fixes
 * the event name and level: a 5xx is logged at error, a 4xx and a client abort at info.
 */

/**
 * Logs a finished request: the response was fully written, or the client went away. Health
 * probes are logged at debug, because supervisors poll them and a 503 there only means "loading".
 */
export function requestCompleted(
  log: EventLogger,
  fields: {
    reqId: string;
    method: string;
    url: string;
    statusCode: number;
    durationMs: number;
    aborted: boolean;
  },
): void {
  const event = { event: "http.request_completed", ...fields };
  if (fields.url === "/health") log.debug(event, "health probe answered");
  else if (fields.statusCode >= 500) log.error(event, "request failed");
  else if (fields.aborted) log.info(event, "request aborted by the client");
  else log.info(event, "request completed");
}

/** Logs an error response. 5xx errors carry the cause for debugging. */
export function errorResponseSent(
  log: EventLogger,
  fields: { statusCode: number; code: string; param: string | null; message: string },
  cause?: unknown,
): void {
  const event = { event: "http.error_response", ...fields };
  if (fields.statusCode >= 500) log.error({ ...event, err: cause }, fields.message);
  else log.info(event, fields.message);
}

/** Logs a stream that failed after its headers were sent, so the client got a terminal error frame. */
export function streamFailed(log: EventLogger, fields: { format: string }, error: unknown): void {
  log.warn(
    { event: "http.stream_failed", ...fields, err: error },
    "stream failed after headers were sent",
  );
}

/** Logs that the HTTP server started listening. */
export function serverListening(
  log: EventLogger,
  fields: { host: string; port: number; role: string },
): void {
  log.info(
    { event: "http.listening", ...fields },
    `${fields.role} listening on http://${fields.host}:${fields.port}`,
  );
}
