import { stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";

import { ensureDemoModel } from "../demo-model/demo-model.js";
import { ERRORS, HttpError } from "../http/errors.js";
import type { BackendKind } from "./backend-kinds.js";
import { ModelNotFoundError, resolveGgufModel } from "./model-resolver.js";
import { isValidModelName, validateModelName } from "./registry/model-name.js";

/** The shape of a Hugging Face model id, `owner/name`. */
const HUB_ID = /^[\w.-]+\/[\w.-]+$/;

/** Settings that decide where `/admin/load` looks for a model. */
export interface LoadTargetOptions {
  kind: BackendKind;
  modelsDir: string;
  /** The operator's switch: false forbids loads outside the registry even when asked. */
  allowRemoteLoad: boolean;
  /** Cache directory of the generated demo model, for the name {@link DEMO_MODEL_NAME}. */
  demoModelsDir: string;
}

/**
 * The load name of the generated demo model, for the embedded engine. A registry model of the
 * same name comes first.
 */
export const DEMO_MODEL_NAME = "demo";

/** Flags the supervisor sets on the backend command line itself. */
const RESERVED_FLAGS = new Set([
  "--host",
  "--port",
  "--model",
  "--model-path",
  "-m",
  "-hf",
  "--hf-repo",
]);

/**
 * Resolves a model name for a load. A registry name comes first. A hub id or an absolute path
 * is used only with `allowRemote`, and only when the operator allows remote loads. The
 * embedded engine needs a local GGUF file, so it takes absolute paths but not hub ids.
 */
export async function resolveLoadTarget(
  name: string,
  allowRemote: boolean,
  options: LoadTargetOptions,
): Promise<{ model: string; servedName: string | undefined }> {
  if (isValidModelName(name) && (await isDirectory(join(options.modelsDir, name)))) {
    const model = options.kind.loadsGgufFile
      ? await resolveLocal(name, options.modelsDir)
      : join(options.modelsDir, name);
    // A registry model is served under its registry name, not its file name.
    return { model, servedName: name };
  }
  if (name === DEMO_MODEL_NAME && options.kind.loadsGgufFile) {
    return { model: await ensureDemoModel(options.demoModelsDir), servedName: undefined };
  }

  if (!allowRemote) {
    if (isAbsolute(name) || HUB_ID.test(name)) {
      throw new HttpError(
        ERRORS.backendModelNotFound,
        `'${name}' is not a registry name; set allow_remote to true to load ${isAbsolute(name) ? "an absolute path" : "a hub id"}`,
        { param: "name", value: name },
      );
    }
    // Without allow_remote only registry names are looked up, so other names fail the name rules.
    validateModelName(name);
    throw new HttpError(
      ERRORS.backendModelNotFound,
      `unknown local model '${name}'; set allow_remote to true to load a hub id or an absolute path`,
      { param: "name", value: name },
    );
  }
  if (!options.allowRemoteLoad) {
    throw new HttpError(
      ERRORS.backendRemoteLoadForbidden,
      `'${name}' is not in the registry, and this server does not allow remote loads; pull or upload it first`,
      { param: "allow_remote", value: name },
    );
  }
  if (!options.kind.needsLocalModel) return { model: name, servedName: undefined };

  if (!isAbsolute(name)) {
    throw new HttpError(
      ERRORS.backendModelNotFound,
      `the embedded engine loads local GGUF files, and '${name}' is not an absolute path; pull it with POST /admin/models/pull first`,
      { param: "name", value: name },
    );
  }
  return { model: await resolveLocal(name, options.modelsDir), servedName: undefined };
}

/** Checks per-load engine arguments: strings only, and none of the flags the supervisor sets. */
export function checkExtraArgs(args: readonly string[]): void {
  for (const arg of args) {
    const flag = arg.split("=", 1)[0]!;
    if (RESERVED_FLAGS.has(flag)) {
      throw new HttpError(
        ERRORS.backendInvalidArgs,
        `extra_args must not set ${flag}; the supervisor sets it`,
        {
          param: "extra_args",
          value: arg,
        },
      );
    }
  }
}

async function resolveLocal(spec: string, modelsDir: string): Promise<string> {
  try {
    return await resolveGgufModel(spec, modelsDir);
  } catch (error) {
    if (!(error instanceof ModelNotFoundError)) throw error;
    throw new HttpError(ERRORS.backendModelNotFound, error.message, { param: "name", value: spec });
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
