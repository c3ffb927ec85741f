import { Command, Option } from "commander";

import { defaultEngineOptions, GPU_CHOICES, type EngineOptions } from "../engine/engine-options.js";
import { LOG_LEVELS } from "../http/logger.js";
import {
  oneOf,
  parseNonNegativeInteger,
  parsePort,
  parsePositiveInteger,
} from "./option-parsers.js";

/** `codec-serve engine`: one model behind the OpenAI and Codec routes (normally started by `serve`). */
export function engineCommand(): Command {
  return new Command("engine")
    .description("Serve one GGUF model with llama.cpp (the supervisor starts this for you)")
    .requiredOption("--model <file>", "GGUF model file to load")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .addOption(
      new Option("--port <number>", "port to listen on").argParser(parsePort).default(30000),
    )
    .addOption(
      new Option(
        "--threads <number>",
        "CPU threads for decoding (default: chosen from the CPU count)",
      )
        .env("CODEC_ENGINE_THREADS")
        .argParser(parsePositiveInteger),
    )
    .addOption(
      new Option(
        "--ctx-size <tokens>",
        "context size per sequence (default: up to 4096, as memory allows)",
      )
        .env("CODEC_ENGINE_CTX_SIZE")
        .argParser(parsePositiveInteger),
    )
    .addOption(
      new Option("--parallel <number>", "requests generating at the same time (context sequences)")
        .env("CODEC_ENGINE_PARALLEL")
        .argParser(parsePositiveInteger)
        .default(4),
    )
    .addOption(
      new Option(
        "--max-queue <number>",
        "requests that may wait for a free sequence before new ones get 503",
      )
        .env("CODEC_ENGINE_MAX_QUEUE")
        .argParser(parseNonNegativeInteger)
        .default(64),
    )
    .option(
      "--served-model-name <name>",
      "model id reported by /v1/models (default: the file name)",
    )
    .addOption(
      new Option("--gpu <backend>", "GPU backend")
        .choices(GPU_CHOICES)
        .env("CODEC_ENGINE_GPU")
        .default("auto"),
    )
    .addOption(
      new Option("--gpu-layers <number>", "layers to offload to the GPU").argParser(
        parseNonNegativeInteger,
      ),
    )
    .addOption(
      new Option(
        "--instance-id <id>",
        "value /health echoes, so the supervisor can recognise this engine",
      ).hideHelp(),
    )
    .addOption(
      new Option(
        "--exit-with-stdin",
        "stop when stdin closes (the supervisor holds it open)",
      ).hideHelp(),
    )
    .addOption(
      new Option("--log-level <level>", "log level")
        .argParser(oneOf(LOG_LEVELS))
        .env("CODEC_LOG_LEVEL")
        .default("info"),
    )
    .action(async (flags: Record<string, unknown>) => {
      // Loaded here, not at the top, so other commands do not pay for importing llama.cpp.
      const { runEngineProcess } = await import("../engine/engine-server.js");
      await runEngineProcess(engineOptionsFromFlags(flags));
    });
}

function engineOptionsFromFlags(flags: Record<string, unknown>): EngineOptions {
  const defaults = defaultEngineOptions(flags.model as string);
  return {
    ...defaults,
    servedModelName: (flags.servedModelName as string | undefined) ?? defaults.servedModelName,
    host: flags.host as string,
    port: flags.port as number,
    threads: (flags.threads as number | undefined) ?? defaults.threads,
    contextSize: flags.ctxSize as number | undefined,
    parallel: flags.parallel as number,
    maxQueue: flags.maxQueue as number,
    gpu: flags.gpu as EngineOptions["gpu"],
    gpuLayers: flags.gpuLayers as number | undefined,
    logLevel: flags.logLevel as EngineOptions["logLevel"],
    instanceId: flags.instanceId as string | undefined,
    exitWithStdin: flags.exitWithStdin === true,
  };
}
