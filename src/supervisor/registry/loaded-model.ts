import { realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

/** The part of BackendManager the registry needs: the models that serve, load or drain. */
export interface LoadedModelSource {
  modelsInUse(): string[];
}

/**
 * True when `child` is `parent` or lies inside it. Both must be absolute and already resolved
 * (real paths); the check compares path components, not string prefixes, so `/models/a-b`
 * is not inside `/models/a`.
 */
export function isSameOrInside(parent: string, child: string): boolean {
  const fromParent = relative(parent, child);
  if (fromParent === "") return true;
  return fromParent !== ".." && !fromParent.startsWith(`..${sep}`) && !isAbsolute(fromParent);
}

/**
 * Returns the model path in use (serving, loading or draining) that lies in `realDir` (a real
 * path), or `undefined`. Loaded paths are resolved with `realpath`, so symlinks on either
 * side (including a symlinked models directory) compare equal.
 */
export async function loadedFrom(
  realDir: string,
  backend: LoadedModelSource,
): Promise<string | undefined> {
  for (const loaded of backend.modelsInUse()) {
    if (loaded === "") continue;
    // A relative path is relative to the supervisor's working directory, which the engine inherits.
    // A Hub id such as `owner/repo` resolves to a path outside the models directory.
    if (isSameOrInside(realDir, await realPathOf(resolve(loaded)))) return loaded;
  }
  return undefined;
}

/** True when a model in use (serving, loading or draining) lies in `realDir`. */
export async function isLoadedFrom(realDir: string, backend: LoadedModelSource): Promise<boolean> {
  return (await loadedFrom(realDir, backend)) !== undefined;
}

/** Resolves the real path of `path`; for a file that no longer exists, the real path of its directory plus its name. */
async function realPathOf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = await realpath(dirname(path)).catch(() => dirname(path));
    return join(parent, basename(path));
  }
}
