import { basename } from "node:path";

import type { LogLevel } from "../http/logger.js";
import type { CodecServerConfig } from "./codec-config.js";
import { defaultThreadCount } from "./threads.js";

/** GPU backends node-llama-cpp can use; `auto` picks one when present and falls back to the CPU. */
export const GPU_CHOICES = ["auto", "cpu", "cuda", "vulkan", "metal"] as const;
export type GpuChoice = (typeof GPU_CHOICES)[number];

/** Everything the engine process needs to load one model and serve it. */
export interface EngineOptions {
  /** Path of the GGUF file to load. */
  modelPath: string;
  /** The model id reported by `/v1/models` and echoed in responses. */
  servedModelName: string;
  host: string;
  port: number;
  /** CPU threads for decoding; see `defaultThreadCount`. */
  threads: number;
  /**
   * Context size per sequence, in tokens. `undefined` lets node-llama-cpp pick the largest
   * size that fits in memory, up to 4096 or the model's training context if that is smaller.
   */
  contextSize: number | undefined;
  /** Number of context sequences, i.e. requests generating at the same time. */
  parallel: number;
  /** Requests that may wait for a free sequence before new ones get 503. */
  maxQueue: number;
  gpu: GpuChoice;
  /** Layers to offload to the GPU; `undefined` lets node-llama-cpp decide. */
  gpuLayers: number | undefined;
  logLevel: LogLevel;
  /** Codec settings; read from the `CODEC_*` environment variables when left out. */
  codec?: CodecServerConfig;
  /** Echoed by `/health`; set by the supervisor to recognise its own engine. */
  instanceId?: string | undefined;
  /**
   * Stop when stdin closes. The supervisor keeps a pipe to the engine's stdin open, so an
   * engine whose supervisor was killed (even with SIGKILL) does not live on and hold the port.
   */
  exitWithStdin?: boolean;
}

/** Defaults for every option except the model path. */
export function defaultEngineOptions(modelPath: string): EngineOptions {
  return {
    modelPath,
    servedModelName: basename(modelPath).replace(/\.gguf$/i, ""),
    host: "127.0.0.1",
    port: 30000,
    threads: defaultThreadCount(),
    contextSize: undefined,
    parallel: 4,
    maxQueue: 64,
    gpu: "auto",
    gpuLayers: undefined,
    logLevel: "info",
    instanceId: undefined,
  };
}
