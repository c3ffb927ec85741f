import type { ServerResponse } from "node:http";

import type { FastifyInstance, FastifyRequest } from "fastify";

import type { EventLogger } from "../../http/logger.js";
import { REQUEST_ID_HEADER } from "../../http/request-id.js";
import type { AnyBusEvent } from "./event-bus.js";
import { eventStreamDropped } from "./log-events.js";
import type { SupervisorEventBus, SupervisorEventMap } from "./supervisor-events.js";

/** Default time between SSE comment lines that keep idle proxies from closing the stream. */
export const DEFAULT_KEEPALIVE_MS = 15_000;
/**
 * Unsent bytes a subscriber may fall behind by before its stream is closed, so one stalled
 * client cannot make the supervisor buffer events without bound.
 */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface EventRouteOptions {
  keepaliveMs?: number;
  log: EventLogger;
}

type SupervisorEvent = AnyBusEvent<SupervisorEventMap>;

/**
 * Registers `GET /admin/events`, a server-sent event stream of everything published on `bus`.
 *
 * Each event is sent as `id: <n>`, `event: <type>` and one `data:` line holding
 * `{"type", "at", "data"}`. Query `types` (comma-separated, `job.*` matches a prefix) and
 * `job_id` narrow the stream. A client that reconnects with `Last-Event-ID` first gets the
 * kept events it missed. The streams end when the app closes.
 */
export function registerEventRoutes(
  app: FastifyInstance,
  bus: SupervisorEventBus,
  options: EventRouteOptions,
): void {
  const keepaliveMs = options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
  const open = new Set<ServerResponse>();
  app.addHook("preClose", async () => {
    for (const response of open) response.end();
  });

  // No automatic HEAD route: a HEAD request would hold an endless stream open.
  app.get("/admin/events", { exposeHeadRoute: false }, async (request, reply) => {
    const matches = eventFilter(request);
    const lastEventId = parseLastEventId(request);

    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      [REQUEST_ID_HEADER]: request.id,
    });
    response.write(": connected\n\n");
    open.add(response);

    const send = (event: SupervisorEvent) => {
      if (!matches(event) || response.writableEnded) return;
      if (response.writableLength > MAX_BUFFERED_BYTES) {
        eventStreamDropped(options.log, {
          reqId: request.id,
          bufferedBytes: response.writableLength,
        });
        response.destroy();
        return;
      }
      response.write(formatEvent(event));
    };

    if (lastEventId !== undefined) for (const event of bus.eventsAfter(lastEventId)) send(event);
    const unsubscribe = bus.subscribe(send);
    const keepalive = setInterval(() => response.write(": keepalive\n\n"), keepaliveMs);
    response.once("close", () => {
      clearInterval(keepalive);
      unsubscribe();
      open.delete(response);
    });
  });
}

/** Formats one event as an SSE message. */
export function formatEvent(event: SupervisorEvent): string {
  const payload = JSON.stringify({ type: event.type, at: event.at, data: event.data });
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${payload}\n\n`;
}

function eventFilter(request: FastifyRequest): (event: SupervisorEvent) => boolean {
  const query = request.query as Record<string, unknown>;
  const patterns =
    typeof query.types === "string"
      ? query.types
          .split(",")
          .map((value) => value.trim())
          .filter(Boolean)
      : [];
  const jobId = typeof query.job_id === "string" && query.job_id !== "" ? query.job_id : undefined;

  return (event) => {
    if (patterns.length > 0 && !patterns.some((pattern) => typeMatches(pattern, event.type)))
      return false;
    if (jobId !== undefined) return event.type.startsWith("job.") && event.data.id === jobId;
    return true;
  };
}

function typeMatches(pattern: string, type: string): boolean {
  return pattern.endsWith(".*") ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

/** Parses the `Last-Event-ID` header (or `last_event_id` query) as a number, when it is one. */
function parseLastEventId(request: FastifyRequest): number | undefined {
  const query = request.query as Record<string, unknown>;
  const raw = request.headers["last-event-id"] ?? query.last_event_id;
  if (typeof raw !== "string" || !/^\d{1,15}$/.test(raw)) return undefined;
  return Number(raw);
}
