import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";

import type { FastifyInstance } from "fastify";

import { ensureDemoModel } from "../demo-model/demo-model.js";
import { closeApp, createApp } from "../http/create-app.js";
import { listeningPort } from "../http/listen-address.js";
import { serverListening } from "../http/log-events.js";
import { createLogger, type Logger } from "../http/logger.js";
import { VERSION } from "../http/version.js";
import { getBackendKind } from "./backend-kinds.js";
import { BackendManager } from "./backend-manager.js";
import { demoModelReady, initialModelFailed, initialModelSkipped } from "./log-events.js";
import { LogRing } from "./log-ring.js";
import { resolveGgufModel } from "./model-resolver.js";
import { BackendProxy } from "./proxy.js";
import { registerAdminRoutes } from "./routes/admin-routes.js";
import { registerProxyRoutes } from "./routes/proxy-routes.js";
import { isNoModel, type SupervisorOptions } from "./supervisor-options.js";


/** How long in-flight requests may run on after a stop is requested. */
const CLOSE_GRACE_MS = 30_000;
/** Lines of backend output kept for start-failure reports and `/admin/logs`. */
const LOG_RING_CAPACITY = 2_000;

/** A running supervisor. */
export interface RunningSupervisor {
  app: FastifyInstance;
  backend: BackendManager;
  /** Settles when the initial model has loaded, failed, or was skipped. */
  initialLoad: Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the supervisor: listens at once (so `/health` responds while a model loads),
 * then loads the initial model in the background.
 */
export async function startSupervisor(
  options: SupervisorOptions,
  log: Logger = createLogger("supervisor", options.logLevel),
): Promise<RunningSupervisor> {
  await mkdir(options.modelsDir, { recursive: true });

  const backend = new BackendManager({
    kind: getBackendKind(options.backend),
    host: options.backendHost,
    port: options.backendPort,
    startupTimeoutMs: options.startupTimeoutMs,
    shutdownGraceMs: options.shutdownGraceMs,
    env: process.env,
    log,
    logRing: new LogRing(LOG_RING_CAPACITY),
    onOutputLine: (line) => process.stdout.write(`${line.line}\n`),
  });
  const proxy = new BackendProxy(log);

  const app = createApp({ logger: log, source: "supervisor" });
  registerAdminRoutes(app, backend, { version: VERSION, modelsDir: options.modelsDir });
  await registerProxyRoutes(app, backend, proxy);
  await app.listen({ host: options.host, port: options.port });
  serverListening(log, { host: options.host, port: listeningPort(app), role: "supervisor" });

  // A failure is logged and shown by /admin/status; the supervisor keeps serving either way.
  const initialLoad = loadInitialModel(options, backend, log).catch((error: unknown) =>
    initialModelFailed(log, { model: options.initialModel ?? "the demo model" }, error),
  );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await closeApp(app, CLOSE_GRACE_MS);
      await backend.stop();
      await proxy.close();
    })();
    return closing;
  };
  return { app, backend, initialLoad, close };
}

async function loadInitialModel(options: SupervisorOptions, backend: BackendManager, log: Logger): Promise<void> {
  const spec = options.initialModel;
  if (isNoModel(spec)) {
    initialModelSkipped(log, { reason: "the initial model is set to none" });
    return;
  }

  const kind = getBackendKind(options.backend);
  if (spec === undefined && !kind.needsLocalModel) {
    initialModelSkipped(log, { reason: `no initial model is configured for the ${kind.name} backend` });
    return;
  }

  const model = await resolveInitialModel(spec, options, log);
  await backend.start(model, options.backendArgs);
}

/** Picks the model file or spec to start with; the demo model when none is configured. */
async function resolveInitialModel(spec: string | undefined, options: SupervisorOptions, log: Logger): Promise<string> {
  if (spec === undefined) {
    const startedAt = performance.now();
    const path = await ensureDemoModel(join(options.dataDir, "demo-models"));
    demoModelReady(log, { path, durationMs: Math.round(performance.now() - startedAt) });
    return path;
  }

  if (getBackendKind(options.backend).needsLocalModel) return resolveGgufModel(spec, options.modelsDir);

  // External engines resolve hub ids themselves; a registry name becomes its directory.
  const registryDir = join(options.modelsDir, spec);
  const isRegistryModel = !spec.includes("/") && (await stat(registryDir).catch(() => undefined))?.isDirectory();
  return isRegistryModel === true ? registryDir : spec;
}

/** Runs the supervisor as the main program and stops it cleanly on SIGTERM or SIGINT. */
export async function runSupervisorProcess(options: SupervisorOptions): Promise<void> {
  const supervisor = await startSupervisor(options);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      void supervisor.close().then(() => process.exit(0));
    });
  }
}
