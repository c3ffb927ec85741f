import { mkdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";

import type { FastifyInstance, HTTPMethods } from "fastify";

import { ensureDemoModel } from "../demo-model/demo-model.js";
import { closeApp, createApp } from "../http/create-app.js";
import { ERRORS, HttpError } from "../http/errors.js";
import { rejectOtherMethods } from "../http/method-not-allowed.js";
import { listeningPort } from "../http/listen-address.js";
import { serverListening } from "../http/log-events.js";
import { createLogger, type Logger } from "../http/logger.js";
import { stopOnSignals } from "../http/shutdown-signals.js";
import { VERSION } from "../http/version.js";
import { isLoopback, installAuth } from "./auth.js";
import { installCors } from "./cors.js";
import { getBackendKind } from "./backend-kinds.js";
import { BackendManager } from "./backend-manager.js";
import { registerEventRoutes } from "./events/sse-route.js";
import { createSupervisorEventBus, type SupervisorEventBus } from "./events/supervisor-events.js";
import { DEFAULT_RESTART_POLICY } from "./lifecycle/restart-policy.js";
import type { LoadTarget } from "./lifecycle/backend-instance.js";
import {
  readServingState,
  writeServingState,
  type ServingState,
} from "./lifecycle/serving-state.js";
import {
  adminOpenToLoopbackOnly,
  demoModelReady,
  initialModelFailed,
  initialModelSkipped,
  servingStateNotSaved,
  supervisorStopping,
} from "./log-events.js";
import { LogRing } from "./log-ring.js";
import { ModelNotFoundError, resolveGgufModel } from "./model-resolver.js";
import { isValidModelName } from "./registry/model-name.js";
import { BackendProxy } from "./proxy/backend-proxy.js";
import { ModelRegistry } from "./registry/model-registry.js";
import { registryOptionsFromEnv } from "./registry/registry-options.js";
import { registerAdminRoutes } from "./routes/admin-routes.js";
import { LoadFailedError } from "./lifecycle/load-errors.js";
import { DEMO_MODEL_NAME } from "./load-target.js";
import { registerLifecycleRoutes } from "./routes/lifecycle-routes.js";
import { registerProxyRoutes } from "./routes/proxy-routes.js";
import { registerRegistryRoutes } from "./routes/registry-routes.js";
import { isNoModel, type SupervisorOptions } from "./supervisor-options.js";

/** How long in-flight requests may run on after a stop is requested. */
const CLOSE_GRACE_MS = 30_000;

/** Fixed supervisor paths and their methods; other methods on them get 405. */
const SUPERVISOR_ROUTES: ReadonlyArray<readonly [string, HTTPMethods[]]> = [
  ["/health", ["GET"]],
  ["/admin/status", ["GET"]],
  ["/admin/load", ["POST"]],
  ["/admin/stop", ["POST"]],
  ["/admin/logs", ["GET"]],
  ["/admin/events", ["GET"]],
  ["/admin/models", ["GET"]],
  ["/admin/models/pull", ["POST"]],
  ["/admin/models/upload", ["POST"]],
  ["/admin/jobs", ["GET"]],
];

/** Lines of backend output kept for start-failure reports and `/admin/logs`. */
const LOG_RING_CAPACITY = 2_000;

/** A running supervisor. */
export interface RunningSupervisor {
  app: FastifyInstance;
  backend: BackendManager;
  logRing: LogRing;
  /** The event bus behind `GET /admin/events`; components publish their events here. */
  events: SupervisorEventBus;
  /** The model registry and its pull jobs. */
  registry: ModelRegistry;
  /** Settles when the initial model has loaded, failed, or was skipped. */
  initialLoad: Promise<void>;
  close(): Promise<void>;
}

/**
 * Parses admin request bodies as JSON when they arrive as `text/plain` or form-encoded, as
 * `curl -d` sends them. Multipart uploads keep their own parser.
 */
function acceptJsonWithAnyContentType(app: FastifyInstance): void {
  app.addContentTypeParser(
    ["text/plain", "application/x-www-form-urlencoded"],
    { parseAs: "string" },
    (_request, body, done) => {
      const text = String(body).trim();
      if (text === "") {
        done(null, undefined);
        return;
      }
      try {
        done(null, JSON.parse(text));
      } catch (error) {
        // JSON.parse quotes the start of the body, which is unreadable when the body is binary.
        const reason = /[^\P{Cc}\t\n\r]|\uFFFD/u.test(text)
          ? "it contains binary data"
          : (error as Error).message;
        done(
          new HttpError(ERRORS.requestInvalidJson, `request body is not valid JSON: ${reason}`),
          undefined,
        );
      }
    },
  );
}

/** Variables that only the supervisor needs; engines never see them. */
const SUPERVISOR_SECRETS = ["CODEC_ADMIN_TOKEN", "CODEC_API_KEY"];

/** The engine's environment: the supervisor's own, without its credentials. */
function backendEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of SUPERVISOR_SECRETS) delete copy[name];
  return copy;
}

/** File that remembers the served model across restarts. */
export function servingStatePath(options: SupervisorOptions): string {
  return join(options.dataDir, "serving.json");
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

  const kind = getBackendKind(options.backend);
  const logRing = new LogRing(LOG_RING_CAPACITY);
  const events = createSupervisorEventBus(log);
  const backend = new BackendManager({
    kind,
    host: options.backendHost,
    port: options.backendPort,
    startupTimeoutMs: options.startupTimeoutMs,
    shutdownGraceMs: options.shutdownGraceMs,
    env: backendEnvironment(process.env),
    log,
    logRing,
    onOutputLine: (line) => process.stdout.write(`${line.line}\n`),
    drainTimeoutMs: options.drainTimeoutMs,
    hold: { maxHeld: options.holdMaxRequests, maxWaitMs: options.holdMaxWaitMs },
    restartPolicy: DEFAULT_RESTART_POLICY,
    swapMode: options.swapMode,
    onServingChange: (serving) => saveServingState(options, serving, log),
    onEvent: (type, data) => events.publish(type, data),
  });
  const proxy = new BackendProxy(log);
  const registry = new ModelRegistry(registryOptionsFromEnv(options.modelsDir), {
    backend,
    events,
    log,
  });
  await registry.init();

  const app = createApp({ logger: log, source: "supervisor" });
  acceptJsonWithAnyContentType(app);
  await installCors(app, options.corsOrigins);
  installAuth(app, { adminToken: options.adminToken, apiKeys: options.apiKeys });
  if (
    options.adminToken === undefined &&
    !isLoopback(options.host) &&
    options.host !== "localhost"
  ) {
    adminOpenToLoopbackOnly(log, { host: options.host });
  }
  registerLifecycleRoutes(app, {
    backend,
    logRing,
    kind,
    modelsDir: options.modelsDir,
    allowRemoteLoad: options.allowRemoteLoad,
    demoModelsDir: options.demoModelsDir,
    defaultArgs: options.backendArgs,
    jobs: registry.jobs,
  });
  registerAdminRoutes(app, backend, { version: VERSION, modelsDir: options.modelsDir });
  registerEventRoutes(app, events, { log });
  await registerRegistryRoutes(app, registry);
  for (const [url, methods] of SUPERVISOR_ROUTES) rejectOtherMethods(app, url, methods);
  await registerProxyRoutes(app, backend, proxy);
  await app.listen({ host: options.host, port: options.port });
  serverListening(log, { host: options.host, port: listeningPort(app), role: "supervisor" });

  // A failure is logged and shown by /admin/status; the supervisor keeps serving either way.
  const initialLoad = loadInitialModel(options, backend, log).catch((error: unknown) => {
    const model =
      options.initialModel ??
      (error instanceof LoadFailedError ? error.model : "the saved model or the demo model");
    initialModelFailed(log, { model }, error);
    backend.noteFailure(
      `the initial model did not load: ${error instanceof Error ? error.message : String(error)}`,
    );
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Running pulls stop first and keep their partial files, so blocking pull requests finish.
      await registry.close();
      // In-flight requests get the drain timeout; the engine then ends what still runs cleanly.
      await closeApp(app, CLOSE_GRACE_MS, () =>
        backend.stop({ remember: false, drainMs: options.drainTimeoutMs }),
      );
      await proxy.close();
    })();
    return closing;
  };
  return { app, backend, logRing, events, registry, initialLoad, close };
}

/**
 * Picks the model to start with: `CODEC_INITIAL_MODEL` when set, else the model that served
 * before the last shutdown, else the demo model (embedded engine only).
 */
async function loadInitialModel(
  options: SupervisorOptions,
  backend: BackendManager,
  log: Logger,
): Promise<void> {
  const kind = getBackendKind(options.backend);
  const spec = options.initialModel;

  if (spec === undefined) {
    const saved = await readServingState(servingStatePath(options));
    if (saved !== undefined && saved.backend === kind.name) {
      if (saved.model === null) {
        initialModelSkipped(log, { reason: "the backend was stopped before the last shutdown" });
        return;
      }
      await backend.load(saved.model, saved.args, { servedName: saved.served_name });
      return;
    }
  }

  if (isNoModel(spec)) {
    initialModelSkipped(log, { reason: "the initial model is set to none" });
    return;
  }
  if (spec === undefined && !kind.needsLocalModel) {
    initialModelSkipped(log, {
      reason: `no initial model is configured for the ${kind.name} backend`,
    });
    return;
  }

  const target = await resolveInitialModel(spec, options, log);
  await backend.load(target.model, options.backendArgs, { servedName: target.servedName });
}

/**
 * Resolves the initial model spec to what the backend loads: the demo model when none is
 * set, a registry name (served under that name), or a path (relative to the working
 * directory). External engines also take hub ids as they are.
 */
async function resolveInitialModel(
  spec: string | undefined,
  options: SupervisorOptions,
  log: Logger,
): Promise<{ model: string; servedName: string | undefined }> {
  if (spec === undefined) {
    const startedAt = performance.now();
    const path = await ensureDemoModel(options.demoModelsDir);
    demoModelReady(log, { path, durationMs: Math.round(performance.now() - startedAt) });
    return { model: path, servedName: undefined };
  }

  const registryDir = join(options.modelsDir, spec);
  const isRegistryModel =
    isValidModelName(spec) &&
    ((await stat(registryDir).catch(() => undefined))?.isDirectory() ?? false);
  const kind = getBackendKind(options.backend);
  const needsLocalModel = kind.needsLocalModel;
  if (isRegistryModel) {
    return {
      model: kind.loadsGgufFile ? await resolveGgufModel(spec, options.modelsDir) : registryDir,
      servedName: spec,
    };
  }
  if (spec === DEMO_MODEL_NAME && kind.loadsGgufFile) {
    return resolveInitialModel(undefined, options, log);
  }
  if (!needsLocalModel) return { model: spec, servedName: undefined };

  if (!isPathLike(spec)) {
    throw new ModelNotFoundError(
      spec,
      `model '${spec}' not found: ${registryDir} does not exist, and it is not a path to a GGUF file`,
    );
  }
  return { model: await resolveGgufModel(resolve(spec), options.modelsDir), servedName: undefined };
}

/** True for specs that name a file: they contain a path separator or end in `.gguf`. */
function isPathLike(spec: string): boolean {
  return spec.includes("/") || spec.includes("\\") || spec.toLowerCase().endsWith(".gguf");
}

function saveServingState(
  options: SupervisorOptions,
  serving: LoadTarget | undefined,
  log: Logger,
): Promise<void> {
  const savedAt = new Date().toISOString();
  const state: ServingState =
    serving === undefined
      ? { backend: options.backend, model: null, saved_at: savedAt }
      : {
          backend: options.backend,
          model: serving.model,
          args: serving.args,
          ...(serving.servedName === undefined ? {} : { served_name: serving.servedName }),
          saved_at: savedAt,
        };
  return writeServingState(servingStatePath(options), state).catch((error: unknown) =>
    servingStateNotSaved(log, { path: servingStatePath(options) }, error),
  );
}

/** Runs the supervisor as the main program and stops it cleanly on SIGTERM or SIGINT. */
export async function runSupervisorProcess(options: SupervisorOptions): Promise<void> {
  const log = createLogger("supervisor", options.logLevel);
  const supervisor = await startSupervisor(options, log);
  stopOnSignals(supervisor.close, (signal) => supervisorStopping(log, { signal }));
}
