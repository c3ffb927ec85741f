import type { FastifyInstance } from "fastify";

import { ERRORS, HttpError } from "../../http/errors.js";
import type { BackendManager } from "../backend-manager.js";

/** Registers the supervisor's own routes: `/health` and `/admin/*`. */
export function registerAdminRoutes(
  app: FastifyInstance,
  backend: BackendManager,
  info: { version: string; modelsDir: string },
): void {
  // Responds at once, whatever the backend does, so container health checks never wait on a model load.
  app.get("/health", async () => {
    const status = backend.status();
    return {
      status: "ok",
      supervisor: "ok",
      version: info.version,
      backend_running: status.running,
      backend_state: status.state,
    };
  });

  app.get("/admin/status", async () => ({ ...backend.status(), models_dir: info.modelsDir }));

  // Unknown admin paths are the supervisor's 404, never forwarded to the backend.
  app.all("/admin/*", async (request) => {
    throw new HttpError(
      ERRORS.routeNotFound,
      `no admin route for ${request.method} ${request.url}`,
    );
  });
}
