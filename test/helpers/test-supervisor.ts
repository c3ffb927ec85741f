import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { listeningPort } from "../../src/http/listen-address.js";
import { createLogger } from "../../src/http/logger.js";
import { LOCAL_ORIGINS } from "../../src/supervisor/cors.js";
import type { SupervisorOptions } from "../../src/supervisor/supervisor-options.js";
import { startSupervisor, type RunningSupervisor } from "../../src/supervisor/supervisor-server.js";
import type { LogCapture } from "./log-capture.js";
import { TEST_CACHE_DIR } from "./paths.js";

/** An in-process supervisor that runs the real engine as a child process. */
export interface TestSupervisor {
  supervisor: RunningSupervisor;
  baseUrl: string;
  dataDir: string;
  modelsDir: string;
  close(): Promise<void>;
}

/**
 * Starts the supervisor on free loopback ports with a temporary data directory. The demo
 * model comes from the shared test cache, so it is generated only once.
 * The engine gets one thread and a small context, as suits a 2-core CI machine.
 */
export async function startTestSupervisor(
  overrides: Partial<SupervisorOptions> = {},
  capture?: LogCapture,
  prepareModels?: (modelsDir: string) => Promise<void>,
): Promise<TestSupervisor> {
  const dataDir = await mkdtemp(join(tmpdir(), "codec-serve-data-"));
  const modelsDir = join(dataDir, "models");
  await mkdir(modelsDir, { recursive: true });
  await prepareModels?.(modelsDir);
  const options: SupervisorOptions = {
    host: "127.0.0.1",
    port: 0,
    backend: "embedded",
    backendHost: "127.0.0.1",
    backendPort: 0,
    dataDir,
    demoModelsDir: join(TEST_CACHE_DIR, "demo-models"),
    modelsDir,
    initialModel: undefined,
    backendArgs: [
      "--threads",
      "1",
      "--ctx-size",
      "512",
      "--parallel",
      "2",
      "--gpu",
      "cpu",
      "--log-level",
      "warn",
    ],
    startupTimeoutMs: 60_000,
    shutdownGraceMs: 5_000,
    swapMode: "restart",
    drainTimeoutMs: 10_000,
    holdMaxRequests: 64,
    holdMaxWaitMs: 60_000,
    allowRemoteLoad: true,
    adminToken: undefined,
    apiKeys: [],
    corsOrigins: LOCAL_ORIGINS,
    logLevel: capture === undefined ? "warn" : "info",
    ...overrides,
  };
  const supervisor = await startSupervisor(
    options,
    createLogger("supervisor", options.logLevel, capture?.destination),
  );
  return {
    supervisor,
    baseUrl: `http://127.0.0.1:${listeningPort(supervisor.app)}`,
    dataDir,
    modelsDir,
    close: async () => {
      await supervisor.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
