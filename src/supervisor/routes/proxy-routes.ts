import type { FastifyInstance } from "fastify";

import { ERRORS, HttpError } from "../../http/errors.js";
import type { BackendManager } from "../backend-manager.js";
import type { BackendState } from "../backend-state.js";
import type { BackendProxy } from "../proxy.js";

/** Backend facts the proxy needs. */
export type ProxyTarget = Pick<BackendManager, "origin" | "current" | "lastError"> & { readonly state: BackendState };

/**
 * Forwards every path the supervisor does not serve itself to the backend. This runs in
 * its own plugin scope whose only body parser passes the raw request stream through, so
 * request bodies are streamed to the backend instead of being parsed or buffered.
 */
export async function registerProxyRoutes(app: FastifyInstance, backend: ProxyTarget, proxy: BackendProxy): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

    scope.all("/*", async (request, reply) => {
      requireServingBackend(backend);
      await proxy.forward(request, reply, backend.origin);
    });
  });
}

/** Throws the 503 that explains why no backend can take the request. */
function requireServingBackend(backend: ProxyTarget): void {
  switch (backend.state) {
    case "ready":
    case "draining":
      return;
    case "starting":
      throw new HttpError(ERRORS.proxyBackendStarting, `the backend is loading ${backend.current?.model ?? "a model"}; retry shortly`, {
        headers: { "Retry-After": "2" },
      });
    case "failed":
      throw new HttpError(
        ERRORS.proxyNoBackend,
        `the backend failed (${backend.lastError ?? "unknown reason"}); see GET /admin/status and load a model with POST /admin/load`,
      );
    default:
      throw new HttpError(ERRORS.proxyNoBackend, "no backend is running; load a model with POST /admin/load");
  }
}
