import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Record of what the supervisor served when it last changed: a model and its arguments, or
 * nothing after an explicit stop. A restarted supervisor loads the same model again.
 */
export type ServingState =
  | {
      backend: string;
      model: string;
      args: readonly string[];
      served_name?: string;
      saved_at: string;
    }
  | { backend: string; model: null; saved_at: string };

/** Reads the saved state; `undefined` when there is none or it cannot be read. */
export async function readServingState(path: string): Promise<ServingState | undefined> {
  try {
    const value = JSON.parse(await readFile(path, "utf8")) as Partial<ServingState>;
    if (typeof value.backend !== "string") return undefined;
    if (value.model === null) return value as ServingState;
    if (typeof value.model !== "string" || !Array.isArray(value.args)) return undefined;
    return value as ServingState;
  } catch {
    return undefined;
  }
}

/** Writes the state atomically (temporary file and rename), so a crash never leaves half a file. */
export async function writeServingState(path: string, state: ServingState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temporary, path);
}
