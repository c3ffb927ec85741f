import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

import type { FastifyReply, FastifyRequest } from "fastify";
import { Agent, errors as undiciErrors, type Dispatcher } from "undici";

import { ERRORS, HttpError } from "../http/errors.js";
import type { EventLogger } from "../http/logger.js";
import { REQUEST_ID_HEADER } from "../http/request-id.js";
import { proxyUpstreamFailed } from "./log-events.js";

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) apply to one connection only and are never
 * forwarded. `host` is set by the client library for the upstream connection.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "trailers",
  "transfer-encoding",
  "upgrade",
  "host",
]);

const METHODS_WITHOUT_BODY = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Streams requests to the backend and responses back, byte for byte. Request bodies are
 * not buffered, and SSE and Codec frames are neither buffered nor decompressed. Long streams
 * have no read timeout, and a client that disconnects aborts the upstream request.
 */
export class BackendProxy {
  readonly #agent = new Agent({ headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 10_000 });
  readonly #log: EventLogger;

  constructor(log: EventLogger) {
    this.#log = log;
  }

  /** Forwards one request to `origin`. Errors before the response starts are thrown as HttpError. */
  async forward(request: FastifyRequest, reply: FastifyReply, origin: string): Promise<void> {
    const aborted = new AbortController();
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) aborted.abort();
    });

    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await this.#agent.request({
        origin,
        path: request.url,
        method: request.method as Dispatcher.HttpMethod,
        headers: forwardedRequestHeaders(request),
        body: METHODS_WITHOUT_BODY.has(request.method) ? null : ((request.body as Readable | undefined) ?? null),
        signal: aborted.signal,
      });
    } catch (error) {
      if (aborted.signal.aborted) return;
      proxyUpstreamFailed(this.#log, { reqId: request.id, url: request.url, afterHeaders: false }, error);
      throw unreachable(error, origin);
    }

    reply.hijack();
    reply.raw.writeHead(upstream.statusCode, responseHeaders(upstream.headers, request.id));
    reply.raw.flushHeaders();
    try {
      await pipeline(upstream.body, reply.raw);
    } catch (error) {
      if (aborted.signal.aborted) return;
      proxyUpstreamFailed(this.#log, { reqId: request.id, url: request.url, afterHeaders: true }, error);
      reply.raw.destroy();
    }
  }

  /** Closes pooled connections to the backend. */
  async close(): Promise<void> {
    await this.#agent.close();
  }
}

function forwardedRequestHeaders(request: FastifyRequest): IncomingHttpHeaders {
  const headers = withoutHopByHop(request.headers);
  headers[REQUEST_ID_HEADER] = request.id;
  headers["x-forwarded-for"] = appendForwarded(request.headers["x-forwarded-for"], request.ip);
  headers["x-forwarded-proto"] = request.protocol;
  if (request.headers.host !== undefined) headers["x-forwarded-host"] = request.headers.host;
  return headers;
}

function responseHeaders(headers: IncomingHttpHeaders, requestId: string): OutgoingHttpHeaders {
  const filtered: OutgoingHttpHeaders = withoutHopByHop(headers);
  filtered[REQUEST_ID_HEADER] = requestId;
  return filtered;
}

/** Drops hop-by-hop headers, including any the `Connection` header names. */
function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const connectionTokens = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ""),
  );
  const result: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || connectionTokens.has(lower)) continue;
    result[lower] = value;
  }
  return result;
}

function appendForwarded(existing: string | string[] | undefined, ip: string): string {
  const previous = Array.isArray(existing) ? existing.join(", ") : existing;
  return previous === undefined || previous === "" ? ip : `${previous}, ${ip}`;
}

function unreachable(error: unknown, origin: string): HttpError {
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof undiciErrors.RequestContentLengthMismatchError) {
    return new HttpError(ERRORS.requestInvalidBody, "request body length does not match Content-Length", {
      cause: error,
    });
  }
  return new HttpError(ERRORS.proxyBackendUnreachable, `the backend at ${origin} is unreachable: ${reason}`, {
    cause: error,
  });
}
