import { fileURLToPath } from "node:url";

/** Backend engines the supervisor can launch. */
export const BACKEND_KIND_NAMES = ["embedded", "sglang", "vllm", "llamacpp"] as const;
export type BackendKindName = (typeof BACKEND_KIND_NAMES)[number];

/** A program and its arguments. */
export interface CommandLine {
  command: string;
  args: string[];
}

/** Command-line inputs of one backend start. */
export interface LaunchSpec {
  model: string;
  host: string;
  port: number;
  extraArgs: readonly string[];
  /** The model id the backend reports, e.g. the registry name; the backend's default when absent. */
  servedName?: string | undefined;
  /** A value unique to this start, for backends whose health check can echo it. */
  instanceId: string;
}

/** How to launch one kind of backend and how to tell that it is ready. */
export interface BackendKind {
  readonly name: BackendKindName;
  /** Path that returns 200 once the model is loaded. */
  readonly healthPath: string;
  /** True when the health response carries `instance_id`, so a foreign engine on the port is not mistaken for ours. */
  readonly echoesInstanceId: boolean;
  /** True when the model must be a local file or directory (the embedded engine needs a GGUF file). */
  readonly needsLocalModel: boolean;
  /** True when a registry model is passed as its `.gguf` file rather than its directory. */
  readonly loadsGgufFile: boolean;
  /** Builds the command line. The caller's extra arguments come last, so they override ours. */
  commandLine(spec: LaunchSpec): CommandLine;
}

function optional(flag: string, value: string | undefined): string[] {
  return value === undefined ? [] : [flag, value];
}

/** The codec-serve CLI entry, run with the same Node.js and flags as the supervisor. */
const CLI_ENTRY = fileURLToPath(new URL("../cli/main.js", import.meta.url));

const embedded: BackendKind = {
  name: "embedded",
  healthPath: "/health",
  echoesInstanceId: true,
  needsLocalModel: true,
  loadsGgufFile: true,
  commandLine: (spec) => ({
    command: process.execPath,
    args: [
      ...process.execArgv,
      CLI_ENTRY,
      "engine",
      "--model",
      spec.model,
      "--host",
      spec.host,
      "--port",
      String(spec.port),
      "--instance-id",
      spec.instanceId,
      "--exit-with-stdin",
      ...optional("--served-model-name", spec.servedName),
      ...spec.extraArgs,
    ],
  }),
};

/** Describes a Python engine started as `python3 -m <module>`, which names its model with `modelFlag`. */
function pythonEngine(name: BackendKindName, module: string, modelFlag: string): BackendKind {
  return {
    name,
    healthPath: "/health",
    echoesInstanceId: false,
    needsLocalModel: false,
    loadsGgufFile: false,
    commandLine: (spec) => ({
      command: "python3",
      args: [
        "-m",
        module,
        modelFlag,
        spec.model,
        "--host",
        spec.host,
        "--port",
        String(spec.port),
        ...optional("--served-model-name", spec.servedName),
        ...spec.extraArgs,
      ],
    }),
  };
}

const sglang = pythonEngine("sglang", "sglang.launch_server", "--model-path");
const vllm = pythonEngine("vllm", "vllm.entrypoints.openai.api_server", "--model");

const llamacpp: BackendKind = {
  name: "llamacpp",
  healthPath: "/health",
  echoesInstanceId: false,
  needsLocalModel: false,
  loadsGgufFile: true,
  commandLine: (spec) => {
    const args = ["--host", spec.host, "--port", String(spec.port)];
    if (spec.model !== "")
      args.push(...(isHubGgufSpec(spec.model) ? ["-hf", spec.model] : ["--model", spec.model]));
    return {
      command: "llama-server",
      args: [...args, ...optional("--alias", spec.servedName), ...spec.extraArgs],
    };
  },
};

/**
 * `owner/repo` or `owner/repo:quant` is a Hugging Face spec for llama-server's `-hf` (which
 * picks Q4_K_M when no quantisation is named); absolute, relative and `.gguf` paths are not.
 */
function isHubGgufSpec(model: string): boolean {
  if (model.startsWith("/") || model.startsWith(".") || model.toLowerCase().endsWith(".gguf"))
    return false;
  return /^[^/\s]+\/[^/\s]+$/.test(model);
}

const KINDS: Readonly<Record<BackendKindName, BackendKind>> = { embedded, sglang, vllm, llamacpp };

/** Returns the backend kind with this name. */
export function getBackendKind(name: BackendKindName): BackendKind {
  return KINDS[name];
}
