import { readdir, stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";

/** Raised when a model spec does not name something the backend can load. */
export class ModelNotFoundError extends Error {
  readonly code = "CODEC_ERR_MODEL_NOT_FOUND";

  constructor(
    readonly spec: string,
    message: string,
  ) {
    super(message);
    this.name = "ModelNotFoundError";
  }
}

/**
 * Resolves a model spec for the embedded engine, which loads one GGUF file:
 * an absolute path to a `.gguf` file, or a directory (absolute, or a registry name under
 * `modelsDir`) that contains exactly one `.gguf` file, or several of which one is chosen
 * by the caller with a path.
 */
export async function resolveGgufModel(spec: string, modelsDir: string): Promise<string> {
  const path = isAbsolute(spec) ? spec : registryPath(spec, modelsDir);
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) {
    throw new ModelNotFoundError(spec, `model '${spec}' not found: ${path} does not exist`);
  }
  if (info.isFile()) return path;

  const ggufFiles = (await readdir(path))
    .filter((name) => name.toLowerCase().endsWith(".gguf"))
    .sort();
  if (ggufFiles.length === 1) return join(path, ggufFiles[0]!);
  if (ggufFiles.length === 0) {
    throw new ModelNotFoundError(spec, `model '${spec}' has no .gguf file in ${path}`);
  }
  throw new ModelNotFoundError(
    spec,
    `model '${spec}' has several .gguf files (${ggufFiles.join(", ")}); name one with its absolute path (with allow_remote: true in POST /admin/load)`,
  );
}

/** A registry name is one path component; anything else is not looked up in `modelsDir`. */
function registryPath(name: string, modelsDir: string): string {
  if (
    name === "" ||
    name === "." ||
    name === ".." ||
    name.includes("/") ||
    name.includes("\\") ||
    name.startsWith(".")
  ) {
    throw new ModelNotFoundError(
      name,
      `model '${name}' is neither an absolute path nor a registry name`,
    );
  }
  return join(modelsDir, name);
}
