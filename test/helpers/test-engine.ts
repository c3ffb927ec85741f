import { defaultEngineOptions, type EngineOptions } from "../../src/engine/engine-options.js";
import { startEngine, type RunningEngine } from "../../src/engine/engine-server.js";
import { listeningPort } from "../../src/http/listen-address.js";
import { createLogger } from "../../src/http/logger.js";
import type { LogCapture } from "./log-capture.js";
import { demoModelPath } from "./test-model.js";

/** An in-process engine on the demo model, listening on a free loopback port. */
export interface TestEngine {
  engine: RunningEngine;
  baseUrl: string;
  close(): Promise<void>;
}

/** Starts the real engine on the demo model with one thread and waits until it is loaded. */
export async function startTestEngine(
  overrides: Partial<EngineOptions> = {},
  capture?: LogCapture,
): Promise<TestEngine> {
  const options: EngineOptions = {
    ...defaultEngineOptions(await demoModelPath()),
    port: 0,
    threads: 1,
    contextSize: 512,
    parallel: 2,
    gpu: "cpu",
    logLevel: "warn",
    ...overrides,
  };
  const level = capture === undefined ? options.logLevel : "info";
  const engine = await startEngine(options, createLogger("engine", level, capture?.destination));
  await engine.loaded;
  return {
    engine,
    baseUrl: `http://127.0.0.1:${listeningPort(engine.app)}`,
    close: () => engine.close(),
  };
}
