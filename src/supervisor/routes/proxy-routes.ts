import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";

import type { FastifyInstance, FastifyRequest, HTTPMethods } from "fastify";

import { DEFAULT_BODY_LIMIT } from "../../http/create-app.js";
import { ERRORS, HttpError } from "../../http/errors.js";

import type { BackendManager } from "../backend-manager.js";
import type { BackendProxy } from "../proxy/backend-proxy.js";
import { ReplayableBody } from "../proxy/replayable-body.js";

/** The part of the backend manager the proxy uses. */
export type ProxyTarget = Pick<BackendManager, "route" | "confirmUnreachable">;

/** Methods forwarded to the backend; OPTIONS belongs to the CORS plugin. */
const PROXIED_METHODS: HTTPMethods[] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"];

/** How long the proxy waits to learn whether an engine that refused a connection has died. */
const EXIT_CONFIRMATION_MS = 2_000;

/**
 * Forwards every path the supervisor does not serve itself to the backend. This runs in
 * its own plugin scope whose only body parser passes the raw request stream through, so
 * request bodies are streamed to the backend instead of being parsed or buffered. While a
 * swap or restart is under way, `route` keeps the request waiting until a backend can take it.
 */
export async function registerProxyRoutes(
  app: FastifyInstance,
  backend: ProxyTarget,
  proxy: BackendProxy,
): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

    // The CORS plugin handles OPTIONS (preflights), so it is not forwarded.
    scope.route({
      method: PROXIED_METHODS,
      url: "/*",
      handler: async (request, reply) => {
        rejectOversizedBody(request);
        const disconnected = abortOnClose(reply.raw);
        const source = request.body as Readable | undefined;
        const replayable = source === undefined ? undefined : new ReplayableBody(source);
        let body: Readable | Buffer | null = replayable?.stream ?? null;

        for (let attempt = 1; ; attempt++) {
          const lease = await backend.route(disconnected);
          try {
            await proxy.forward(request, reply, lease.origin, body);
            return;
          } catch (error) {
            // An engine that just died resets or refuses connections before its exit is noticed.
            // It sent no response, so the request goes once more to the engine that replaces it.
            if (
              attempt > 1 ||
              !isConnectionFailure(error) ||
              !(await backend.confirmUnreachable(lease.origin, EXIT_CONFIRMATION_MS))
            ) {
              throw error;
            }
            proxy.forgetConnections(lease.origin);
            if (replayable !== undefined) {
              const copy = await replayable.replay();
              if (copy === undefined) throw error;
              body = copy;
            }
          } finally {
            lease.release();
          }
        }
      },
    });
  });
}

/**
 * Rejects with 413 a declared body larger than the engine accepts. The engine would return
 * 413 too, but it closes the connection while the proxy is still sending, so the proxy would
 * see a broken pipe instead of the engine's response.
 */
function rejectOversizedBody(request: FastifyRequest): void {
  const declared = Number(request.headers["content-length"] ?? 0);
  if (declared > DEFAULT_BODY_LIMIT) {
    throw new HttpError(
      ERRORS.requestBodyTooLarge,
      `request body is ${declared} bytes, larger than the limit of ${DEFAULT_BODY_LIMIT} bytes (16 MiB) for inference requests`,
    );
  }
}

/** Errors raised before the backend sent any response: refused or reset connections. */
function isConnectionFailure(error: unknown): boolean {
  const cause =
    error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  return (
    cause?.code === "ECONNREFUSED" ||
    cause?.code === "ECONNRESET" ||
    cause?.code === "UND_ERR_SOCKET"
  );
}

/** Returns a signal that aborts when the client goes away before the response is finished. */
function abortOnClose(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.once("close", () => {
    if (!response.writableFinished) controller.abort(new Error("client disconnected"));
  });
  return controller.signal;
}
