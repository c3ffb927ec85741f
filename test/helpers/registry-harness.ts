import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { FastifyInstance } from "fastify";

import { closeApp, createApp } from "../../src/http/create-app.js";
import { listeningPort } from "../../src/http/listen-address.js";
import { createLogger } from "../../src/http/logger.js";
import { registerEventRoutes } from "../../src/supervisor/events/sse-route.js";
import {
  createSupervisorEventBus,
  type SupervisorEventBus,
} from "../../src/supervisor/events/supervisor-events.js";
import { ModelRegistry } from "../../src/supervisor/registry/model-registry.js";
import {
  registryOptionsFromEnv,
  type RegistryOptions,
} from "../../src/supervisor/registry/registry-options.js";
import { registerRegistryRoutes } from "../../src/supervisor/routes/registry-routes.js";
import type { LogCapture } from "./log-capture.js";

/** A stand-in for BackendManager's `current`, so tests choose which model counts as loaded. */
export interface FakeBackend {
  current: { model: string } | undefined;
  modelsInUse(): string[];
}

/** The registry routes on a real Fastify app on loopback, without a backend process. */
export interface RegistryHarness {
  app: FastifyInstance;
  baseUrl: string;
  modelsDir: string;
  registry: ModelRegistry;
  events: SupervisorEventBus;
  backend: FakeBackend;
  /**
   * Stops the app, giving open requests `graceMs` (default 1 s) to finish. The models
   * directory stays unless `removeModelsDir` is set.
   */
  close(options?: { removeModelsDir?: boolean; graceMs?: number }): Promise<void>;
}

/** Test defaults: quick retries, short timeouts, a roomy disk. */
export function testRegistryOptions(
  modelsDir: string,
  overrides: Partial<RegistryOptions> = {},
): RegistryOptions {
  return {
    ...registryOptionsFromEnv(modelsDir, {}),
    download: { maxAttempts: 3, retryBaseDelayMs: 10, retryMaxDelayMs: 50, checksumAttempts: 2 },
    hubHeadersTimeoutMs: 5_000,
    hubBodyTimeoutMs: 5_000,
    statfs: async () => ({ bavail: 1_000_000_000, bsize: 4096 }),
    ...overrides,
  };
}

/** Starts the registry routes and the event stream; a new temporary models directory unless one is given. */
export async function startRegistryHarness(
  overrides: Partial<RegistryOptions> & { modelsDir?: string } = {},
  capture?: LogCapture,
): Promise<RegistryHarness> {
  const modelsDir = overrides.modelsDir ?? (await mkdtemp(join(tmpdir(), "codec-registry-")));
  const log = createLogger(
    "supervisor",
    capture === undefined ? "silent" : "debug",
    capture?.destination,
  );
  const backend: FakeBackend = {
    current: undefined,
    modelsInUse() {
      return this.current === undefined ? [] : [this.current.model];
    },
  };
  const events = createSupervisorEventBus(log);
  const registry = new ModelRegistry(testRegistryOptions(modelsDir, overrides), {
    backend,
    events,
    log,
  });
  await registry.init();

  const app = createApp({ logger: log, source: "supervisor" });
  registerEventRoutes(app, events, { log, keepaliveMs: 200 });
  await registerRegistryRoutes(app, registry);
  await app.listen({ host: "127.0.0.1", port: 0 });

  return {
    app,
    baseUrl: `http://127.0.0.1:${listeningPort(app)}`,
    modelsDir,
    registry,
    events,
    backend,
    close: async (options = {}) => {
      await registry.close();
      await closeApp(app, options.graceMs ?? 1_000);
      if (options.removeModelsDir === true) await rm(modelsDir, { recursive: true, force: true });
    },
  };
}

/** Lists every entry of the models directory, hidden ones included, sorted. */
export async function listAll(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}
