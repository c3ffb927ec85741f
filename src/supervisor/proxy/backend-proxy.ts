import { once } from "node:events";
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Readable } from "node:stream";

import type { FastifyReply, FastifyRequest } from "fastify";
import { errors as undiciErrors, Pool, type Dispatcher } from "undici";

import { toErrorEnvelope } from "../../http/envelope.js";
import { ERRORS, HttpError } from "../../http/errors.js";
import type { EventLogger } from "../../http/logger.js";
import { REQUEST_ID_HEADER } from "../../http/request-id.js";
import { proxyUpstreamFailed } from "../log-events.js";
import { frameBoundariesFor } from "./frame-boundaries.js";

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
  // Node's server already sent the client `100 Continue`, and undici rejects the header.
  "expect",
]);

/** Connection pools kept for engine origins, the newest ones. */
const MAX_POOLS = 4;

const METHODS_WITHOUT_BODY = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Streams requests to the backend and responses back, byte for byte. Request bodies are
 * not buffered, and SSE and Codec frames are neither buffered nor decompressed. Long streams
 * have no read timeout, and a client that disconnects aborts the upstream request.
 */
export class BackendProxy {
  /** One connection pool per engine origin; engines change origin when overlap swaps use spare ports. */
  readonly #pools = new Map<string, Pool>();
  readonly #log: EventLogger;

  constructor(log: EventLogger) {
    this.#log = log;
  }

  /**
   * Forwards one request to `origin` with `body` (the request's body stream, or a copy of it
   * when the request is sent again). Errors before the response starts are thrown as HttpError.
   */
  async forward(
    request: FastifyRequest,
    reply: FastifyReply,
    origin: string,
    body: Readable | Buffer | null,
  ): Promise<void> {
    const aborted = new AbortController();
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) aborted.abort();
    });

    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await this.#pool(origin).request({
        path: request.url,
        method: request.method as Dispatcher.HttpMethod,
        headers: forwardedRequestHeaders(request),
        body: METHODS_WITHOUT_BODY.has(request.method) ? null : body,
        signal: aborted.signal,
      });
    } catch (error) {
      if (aborted.signal.aborted) return;
      proxyUpstreamFailed(
        this.#log,
        { reqId: request.id, url: request.url, afterHeaders: false },
        error,
      );
      throw unreachable(error, origin);
    }

    reply.hijack();
    reply.raw.writeHead(upstream.statusCode, responseHeaders(upstream.headers, request.id));
    reply.raw.flushHeaders();
    await this.#relayBody(request, reply.raw, upstream, aborted.signal);
  }

  /**
   * Copies the response body to the client with backpressure. SSE and Codec bodies are cut at
   * message boundaries. So when the backend dies mid-stream, the client gets whole messages and
   * then one terminal error message. Other bodies can only be cut off.
   */
  async #relayBody(
    request: FastifyRequest,
    response: ServerResponse,
    upstream: Dispatcher.ResponseData,
    aborted: AbortSignal,
  ): Promise<void> {
    let boundaries = frameBoundariesFor(upstream.headers);
    try {
      for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
        let whole = chunk;
        if (boundaries !== undefined) {
          try {
            whole = boundaries.push(chunk);
          } catch {
            // Not the framing its Content-Type claims: relay the rest unchanged.
            whole = Buffer.concat([boundaries.rest(), chunk]);
            boundaries = undefined;
          }
        }
        if (whole.length > 0 && !response.write(whole))
          await once(response, "drain", { signal: aborted });
      }
      response.end(boundaries?.rest());
    } catch (error) {
      if (aborted.aborted) return;
      proxyUpstreamFailed(
        this.#log,
        { reqId: request.id, url: request.url, afterHeaders: true },
        error,
      );
      if (boundaries === undefined) {
        response.destroy();
        return;
      }
      const failure = new HttpError(
        ERRORS.proxyBackendFailed,
        "the backend failed while streaming the response",
      );
      response.end(boundaries.terminalError(toErrorEnvelope(failure, "proxy")));
    }
  }

  /** Drops pooled connections to an engine that died, so no request reuses them. */
  forgetConnections(origin: string): void {
    const pool = this.#pools.get(origin);
    this.#pools.delete(origin);
    pool?.destroy().catch(() => undefined);
  }

  /** Closes pooled connections to the backend. */
  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
    this.#pools.clear();
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (pool !== undefined) return pool;

    // No header or body timeout: generations and long streams may take as long as they take.
    pool = new Pool(origin, { headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 10_000 });
    this.#pools.set(origin, pool);
    // Origins of engines that were replaced are closed once a few newer ones exist.
    for (const [oldOrigin, oldPool] of this.#pools) {
      if (this.#pools.size <= MAX_POOLS) break;
      this.#pools.delete(oldOrigin);
      oldPool.close().catch(() => undefined);
    }
    return pool;
  }
}

function forwardedRequestHeaders(request: FastifyRequest): IncomingHttpHeaders {
  const headers = withoutHopByHop(request.headers);
  headers[REQUEST_ID_HEADER] = request.id;
  headers["x-forwarded-for"] = appendForwarded(request.headers["x-forwarded-for"], request.ip);
  // A proxy in front of this one (TLS termination) has the original scheme and host; keep them.
  headers["x-forwarded-proto"] ??= request.protocol;
  if (request.headers.host !== undefined) headers["x-forwarded-host"] ??= request.headers.host;
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
    return new HttpError(
      ERRORS.requestInvalidBody,
      "request body length does not match Content-Length",
      {
        cause: error,
      },
    );
  }
  return new HttpError(
    ERRORS.proxyBackendUnreachable,
    `the backend at ${origin} is unreachable: ${reason}`,
    {
      cause: error,
    },
  );
}
