import { join } from "node:path";

import { Command, Option } from "commander";
import { split as shellSplit } from "shlex";

import { LOG_LEVELS } from "../http/logger.js";
import { BACKEND_KIND_NAMES } from "../supervisor/backend-kinds.js";
import { defaultDataDir, type SupervisorOptions } from "../supervisor/supervisor-options.js";
import { parseCorsOrigins } from "../supervisor/cors.js";
import { SWAP_MODES } from "../supervisor/lifecycle/swap-plan.js";
import { oneOf, parsePort, parsePositiveInteger, parseSecondsToMs } from "./option-parsers.js";

/** `codec-serve serve`: the supervisor on port 8080, which runs and proxies the engine. */
export function serveCommand(): Command {
  return new Command("serve")
    .description("Start the supervisor: it launches the engine, watches it and proxies /v1/* to it")
    .addOption(
      new Option("--host <address>", "address to listen on").env("CODEC_HOST").default("127.0.0.1"),
    )
    .addOption(
      new Option("--port <number>", "port to listen on")
        .env("CODEC_PORT")
        .argParser(parsePort)
        .default(8080),
    )
    .addOption(
      new Option("--backend <kind>", "engine to launch")
        .choices(BACKEND_KIND_NAMES)
        .env("CODEC_BACKEND")
        .default("embedded"),
    )
    .addOption(
      new Option("--backend-host <address>", "address the engine listens on")
        .env("CODEC_BACKEND_HOST")
        .default("127.0.0.1"),
    )
    .addOption(
      new Option("--backend-port <number>", "port the engine listens on")
        .env("CODEC_BACKEND_PORT")
        .argParser(parsePort)
        .default(30000),
    )
    .addOption(
      new Option("--data-dir <dir>", "directory for the demo model and state").env(
        "CODEC_DATA_DIR",
      ),
    )
    .addOption(
      new Option("--models-dir <dir>", "model registry directory (default: <data-dir>/models)").env(
        "CODEC_MODELS_DIR",
      ),
    )
    .addOption(
      new Option(
        "--initial-model <spec>",
        "model to load at start: registry name, absolute path, 'demo' for the demo model, or 'none' (default: the model served at the last shutdown, else the demo model)",
      ).env("CODEC_INITIAL_MODEL"),
    )
    .option(
      "--backend-arg <args>",
      "extra engine arguments, shell-split; repeatable, placed before CODEC_BACKEND_ARGS",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .addOption(
      new Option("--startup-timeout <seconds>", "how long to wait for the engine to become healthy")
        .env("CODEC_STARTUP_TIMEOUT_S")
        .argParser(parseSecondsToMs)
        .default(1_800_000, "1800"),
    )
    .addOption(
      new Option(
        "--shutdown-grace <seconds>",
        "how long the engine gets to exit after SIGTERM before SIGKILL",
      )
        .env("CODEC_SHUTDOWN_GRACE_S")
        .argParser(parseSecondsToMs)
        .default(30_000, "30"),
    )
    .addOption(
      new Option(
        "--swap-mode <mode>",
        "how /admin/load replaces a serving model: restart (one model in memory) or overlap (zero downtime)",
      )
        .choices(SWAP_MODES)
        .env("CODEC_SWAP_MODE")
        .default("restart"),
    )
    .addOption(
      new Option(
        "--drain-timeout <seconds>",
        "how long in-flight requests may run on a model being replaced",
      )
        .env("CODEC_DRAIN_TIMEOUT_S")
        .argParser(parseSecondsToMs)
        .default(30_000, "30"),
    )
    .addOption(
      new Option(
        "--hold-max-requests <number>",
        "requests held during a swap or restart before new ones get 503",
      )
        .env("CODEC_HOLD_MAX_REQUESTS")
        .argParser(parsePositiveInteger)
        .default(256),
    )
    .addOption(
      new Option("--hold-max-wait <seconds>", "longest time one request is held before it gets 503")
        .env("CODEC_HOLD_MAX_WAIT_S")
        .argParser(parseSecondsToMs)
        .default(120_000, "120"),
    )
    .option(
      "--no-allow-remote-load",
      "reject /admin/load of hub ids and paths outside the registry (CODEC_ALLOW_REMOTE_LOAD=false)",
    )
    .addOption(
      new Option("--log-level <level>", "log level")
        .argParser(oneOf(LOG_LEVELS))
        .env("CODEC_LOG_LEVEL")
        .default("info"),
    )
    .addHelpText(
      "after",
      "\nSecrets are read from the environment only, so they never appear in process lists:\n" +
        "  CODEC_ADMIN_TOKEN  bearer token for /admin/*; without it, admin routes answer loopback clients only\n" +
        "  CODEC_API_KEY      comma-separated keys for inference routes; unset leaves them open\n" +
        "  CODEC_CORS_ORIGINS browser origins allowed on inference routes: a list, *, or none (default: pages on this machine)\n",
    )
    .action(async (flags: Record<string, unknown>) => {
      // Loaded here, not at the top, so the engine process (started through this CLI) does not import the supervisor.
      const { runSupervisorProcess } = await import("../supervisor/supervisor-server.js");
      await runSupervisorProcess(supervisorOptionsFromFlags(flags));
    });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function supervisorOptionsFromFlags(flags: Record<string, unknown>): SupervisorOptions {
  const dataDir = (flags.dataDir as string | undefined) ?? defaultDataDir();
  const backendArgs = [
    ...(flags.backendArg as string[]).flatMap((value) => shellSplit(value)),
    ...shellSplit(process.env.CODEC_BACKEND_ARGS ?? ""),
  ];
  return {
    host: flags.host as string,
    port: flags.port as number,
    backend: flags.backend as SupervisorOptions["backend"],
    backendHost: flags.backendHost as string,
    backendPort: flags.backendPort as number,
    dataDir,
    demoModelsDir: join(dataDir, "demo-models"),
    modelsDir: (flags.modelsDir as string | undefined) ?? `${dataDir}/models`,
    initialModel: flags.initialModel as string | undefined,
    backendArgs,
    startupTimeoutMs: flags.startupTimeout as number,
    shutdownGraceMs: flags.shutdownGrace as number,
    swapMode: flags.swapMode as SupervisorOptions["swapMode"],
    drainTimeoutMs: flags.drainTimeout as number,
    holdMaxRequests: flags.holdMaxRequests as number,
    holdMaxWaitMs: flags.holdMaxWait as number,
    allowRemoteLoad:
      flags.allowRemoteLoad !== false && process.env.CODEC_ALLOW_REMOTE_LOAD !== "false",
    adminToken: nonEmpty(process.env.CODEC_ADMIN_TOKEN),
    corsOrigins: parseCorsOrigins(process.env.CODEC_CORS_ORIGINS),
    apiKeys: (process.env.CODEC_API_KEY ?? "")
      .split(",")
      .map((key) => key.trim())
      .filter((key) => key !== ""),
    logLevel: flags.logLevel as SupervisorOptions["logLevel"],
  };
}
