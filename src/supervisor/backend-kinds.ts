import { fileURLToPath } from "node:url";

/** Backend engines the supervisor can launch. */
export const BACKEND_KIND_NAMES = ["embedded", "sglang", "vllm", "llamacpp"] as const;
export type BackendKindName = (typeof BACKEND_KIND_NAMES)[number];

/** A program and its arguments. */
export interface CommandLine {
  command: string;
  args: string[];
}

/** How to launch one kind of backend and how to tell that it is ready. */
export interface BackendKind {
  readonly name: BackendKindName;
  /** Path that answers 200 once the model is loaded. */
  readonly healthPath: string;
  /** True when the model must be a local file or directory (the embedded engine needs a GGUF file). */
  readonly needsLocalModel: boolean;
  commandLine(model: string, host: string, port: number, extraArgs: readonly string[]): CommandLine;
}

/** The codec-serve CLI entry, run with the same Node.js and flags as the supervisor. */
const CLI_ENTRY = fileURLToPath(new URL("../cli/main.js", import.meta.url));

const embedded: BackendKind = {
  name: "embedded",
  healthPath: "/health",
  needsLocalModel: true,
  commandLine: (model, host, port, extraArgs) => ({
    command: process.execPath,
    args: [...process.execArgv, CLI_ENTRY, "engine", "--model", model, "--host", host, "--port", String(port), ...extraArgs],
  }),
};

const sglang: BackendKind = {
  name: "sglang",
  healthPath: "/health",
  needsLocalModel: false,
  commandLine: (model, host, port, extraArgs) => ({
    command: "python3",
    args: ["-m", "sglang.launch_server", "--model-path", model, "--host", host, "--port", String(port), ...extraArgs],
  }),
};

const vllm: BackendKind = {
  name: "vllm",
  healthPath: "/health",
  needsLocalModel: false,
  commandLine: (model, host, port, extraArgs) => ({
    command: "python3",
    args: ["-m", "vllm.entrypoints.openai.api_server", "--model", model, "--host", host, "--port", String(port), ...extraArgs],
  }),
};

const llamacpp: BackendKind = {
  name: "llamacpp",
  healthPath: "/health",
  needsLocalModel: false,
  commandLine: (model, host, port, extraArgs) => {
    const args = ["--host", host, "--port", String(port)];
    if (model !== "") args.push(...(isHubGgufSpec(model) ? ["-hf", model] : ["--model", model]));
    return { command: "llama-server", args: [...args, ...extraArgs] };
  },
};

/** `owner/repo:quant` is a Hugging Face GGUF spec for llama-server's `-hf`; paths are not. */
function isHubGgufSpec(model: string): boolean {
  return model.includes("/") && model.includes(":") && !model.startsWith("/") && !model.startsWith(".");
}

const KINDS: Readonly<Record<BackendKindName, BackendKind>> = { embedded, sglang, vllm, llamacpp };

/** Returns the backend kind with this name. */
export function getBackendKind(name: BackendKindName): BackendKind {
  return KINDS[name];
}
