import { availableParallelism } from "node:os";

import type { FastifyInstance } from "fastify";

import { closeApp, createApp } from "../http/create-app.js";
import { listeningPort } from "../http/listen-address.js";
import { serverListening } from "../http/log-events.js";
import { createLogger, type Logger } from "../http/logger.js";
import { stopOnSignals } from "../http/shutdown-signals.js";
import { ChatTemplate } from "./chat-template.js";
import { codecConfigFromEnv } from "./codec-config.js";
import type { EngineOptions } from "./engine-options.js";
import { EngineState } from "./engine-state.js";
import { engineStopping, modelLoadFailed, modelLoading, threadsExceedCpus } from "./log-events.js";
import { ModelHost } from "./model-host.js";
import { registerDiscoveryRoutes } from "./routes/discovery-routes.js";
import { registerGenerationRoutes } from "./routes/generation-routes.js";
import { registerModelRoutes } from "./routes/model-routes.js";
import { SequencePool } from "./sequence-pool.js";

/** How long in-flight requests may run on after a stop is requested. */
const CLOSE_GRACE_MS = 30_000;
/** A running engine: its HTTP app, its state and a way to stop it. */
export interface RunningEngine {
  app: FastifyInstance;
  state: EngineState;
  /** Resolves when the model is loaded, rejects when loading failed. */
  loaded: Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the engine: listens first, so `/health` returns 503 while the model loads,
 * then loads the model in the background.
 */
export async function startEngine(
  options: EngineOptions,
  log: Logger = createLogger("engine", options.logLevel),
): Promise<RunningEngine> {
  // Settings are checked before the port opens, so a typo fails the start at once.
  const codecConfig = options.codec ?? codecConfigFromEnv(process.env);
  const state = new EngineState();
  const app = buildEngineApp(state, log, options.instanceId);
  await app.listen({ host: options.host, port: options.port });
  serverListening(log, { host: options.host, port: listeningPort(app), role: "engine" });

  let host: ModelHost | undefined;
  modelLoading(log, {
    modelPath: options.modelPath,
    threads: options.threads,
    parallel: options.parallel,
  });
  const loaded = ModelHost.load(options, codecConfig, log).then(
    (loadedHost) => {
      host = loadedHost;
      const template = new ChatTemplate(
        loadedHost.chatTemplate,
        loadedHost.bosText,
        loadedHost.eosText,
      );
      state.markReady({
        host: loadedHost,
        pool: new SequencePool(loadedHost.context, options.maxQueue),
        template,
        codec: { config: codecConfig, dictionaries: loadedHost.dictionaries },
        stopping: state.stopping,
      });
    },
    (error: unknown) => {
      modelLoadFailed(log, { modelPath: options.modelPath }, error);
      state.markFailed();
      throw error;
    },
  );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Supervisors drain requests before they signal the engine, so what still runs now is cut short.
      state.stop();
      await closeApp(app, CLOSE_GRACE_MS);
      await loaded.catch(() => undefined);
      await host?.dispose();
    })();
    return closing;
  };
  return { app, state, loaded, close };
}

/** Builds the engine's HTTP app with every route and a raw body parser. */
export function buildEngineApp(
  state: EngineState,
  log: Logger,
  instanceId?: string,
): FastifyInstance {
  const app = createApp({ logger: log, source: "engine" });

  // Every route parses its own body: JSON whatever the Content-Type, or binary Codec requests.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  const startedAt = Date.now();
  registerModelRoutes(app, state, startedAt, instanceId);
  registerGenerationRoutes(app, state);
  registerDiscoveryRoutes(app, state);
  return app;
}

/**
 * Runs the engine as the main program: exits 1 when the model cannot be loaded, and
 * stops cleanly on SIGTERM or SIGINT.
 */
export async function runEngineProcess(options: EngineOptions): Promise<void> {
  const log = createLogger("engine", options.logLevel);
  if (options.threads > availableParallelism())
    threadsExceedCpus(log, { threads: options.threads, cpus: availableParallelism() });
  const engine = await startEngine(options, log);

  stopOnSignals(engine.close, (signal) => engineStopping(log, { signal }));
  if (options.exitWithStdin === true) {
    process.stdin.once("close", () => {
      engineStopping(log, { signal: "stdin closed" });
      void engine.close().then(() => process.exit(0));
    });
    process.stdin.resume();
  }

  try {
    await engine.loaded;
  } catch {
    await engine.close();
    process.exit(1);
  }
}
