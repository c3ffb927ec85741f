import { randomBytes } from "node:crypto";
import { lstat, readdir, realpath, rename, rm, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";

import { ERRORS, HttpError } from "../../http/errors.js";
import type { EventLogger } from "../../http/logger.js";
import { isSameOrInside, loadedFrom, type LoadedModelSource } from "./loaded-model.js";
import {
  cleanupFailed,
  inspectFailed,
  invalidModelDirSkipped,
  metadataUnreadable,
  modelDeleted,
  stagingRemoved,
} from "./log-events.js";
import { inspectModelDir, type ModelFormat } from "./model-inspector.js";
import { readModelMetadata, type ModelSource } from "./model-metadata.js";
import { modelNameProblem, validateModelName } from "./model-name.js";

/** Hidden prefixes of the registry's working entries; a leading dot keeps them out of listings and loads. */
export const STAGING_PREFIX = {
  /** A pull in progress or interrupted; kept across restarts so the next pull resumes it. */
  pull: ".pull-",
  /** An upload's archive or extraction directory; removed at start-up. */
  upload: ".upload-",
  /** A model being deleted or replaced; removed at start-up. */
  trash: ".trash-",
} as const;

/** One entry of `GET /admin/models`. */
export interface ModelEntry {
  name: string;
  path: string;
  /** Total bytes of the model's files; -1 when the directory could not be read. */
  size_bytes: number;
  format: ModelFormat | null;
  source: ModelSource;
}

/**
 * The models directory: one sub-directory per model, named by its registry name. Hidden
 * entries are staging areas and are never listed. Models appear by an atomic rename of a
 * complete staging directory and disappear by a rename to a trash name.
 */
export class ModelStore {
  readonly modelsDir: string;
  readonly #log: EventLogger;
  readonly #reserved = new Set<string>();
  /** Directory names already logged as invalid, so each is logged once per process. */
  readonly #skippedNames = new Set<string>();

  constructor(modelsDir: string, log: EventLogger) {
    this.modelsDir = resolve(modelsDir);
    this.#log = log;
  }

  /** Returns the directory of model `name`, after checking the name. */
  modelPath(name: string): string {
    return join(this.modelsDir, validateModelName(name));
  }

  /** Returns a fresh hidden path in the models directory, e.g. `.upload-<name>-<random>`. */
  scratchPath(prefix: string, name: string): string {
    return join(this.modelsDir, `${prefix}${name}-${randomBytes(6).toString("hex")}`);
  }

  /** Lists every model, sorted by name. A missing models directory lists as empty. */
  async list(): Promise<ModelEntry[]> {
    const entries = await readdir(this.modelsDir, { withFileTypes: true }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return [];
        throw error;
      },
    );
    const names = entries
      .filter((entry) => !entry.name.startsWith("."))
      .map((entry) => entry.name)
      .filter((name) => this.#isListable(name))
      .sort();
    const described = await Promise.all(names.map((name) => this.describe(name)));
    return described.filter((entry): entry is ModelEntry => entry !== undefined);
  }

  /** Describes model `name`; `undefined` when no directory (or symlink to one) has that name. */
  async describe(name: string): Promise<ModelEntry | undefined> {
    const path = this.modelPath(name);
    const info = await stat(path).catch(() => undefined);
    if (info === undefined || !info.isDirectory()) return undefined;

    const contents = await inspectModelDir(path).catch((error: unknown) => {
      inspectFailed(this.#log, { name, path }, error);
      return undefined;
    });
    return {
      name,
      path,
      size_bytes: contents?.sizeBytes ?? -1,
      format: contents?.format ?? null,
      source: await this.#readSource(name, path),
    };
  }

  /** True when anything, even a stray file, already has the name `name`. */
  async exists(name: string): Promise<boolean> {
    return (await lstat(this.modelPath(name)).catch(() => undefined)) !== undefined;
  }

  /**
   * Reserves `name` for one upload or pull until the returned release function is called,
   * so two writers in this process cannot create the same model. Throws 409 when taken.
   */
  reserve(name: string): () => void {
    if (this.#reserved.has(name)) {
      throw new HttpError(
        ERRORS.registryModelBusy,
        `model '${name}' is being written by another request; retry when it finishes`,
        {
          param: "name",
          value: name,
        },
      );
    }
    this.#reserved.add(name);
    return () => this.#reserved.delete(name);
  }

  isReserved(name: string): boolean {
    return this.#reserved.has(name);
  }

  /**
   * Renames the complete directory `stagingDir` to model `name`. With `replace`, an existing
   * model of that name is first renamed aside and removed after the swap; without it, an
   * existing name is a 409.
   */
  async commit(stagingDir: string, name: string, options: { replace: boolean }): Promise<string> {
    const target = this.modelPath(name);
    const existing = await lstat(target).catch(() => undefined);
    if (existing !== undefined && !options.replace) throw modelExists(name);

    if (existing === undefined) {
      await rename(stagingDir, target);
      return target;
    }

    const trash = this.scratchPath(STAGING_PREFIX.trash, name);
    await rename(target, trash);
    try {
      await rename(stagingDir, target);
    } catch (error) {
      await rename(trash, target);
      throw error;
    }
    await this.removeQuietly(trash, "replaced by a newer copy");
    return target;
  }

  /**
   * Deletes model `name`. A symlinked model loses only its link; a real directory must
   * resolve inside the real models directory. Throws 404 when unknown, 409 while the backend
   * serves a model from it (compared by real path).
   */
  async remove(name: string, backend: LoadedModelSource): Promise<void> {
    const path = this.modelPath(name);
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined) throw modelNotFound(name);

    if (info.isSymbolicLink()) {
      const target = await realpath(path).catch(() => undefined);
      const loaded = target === undefined ? undefined : await loadedFrom(target, backend);
      if (loaded !== undefined) throw modelLoaded(name, loaded);
      await unlink(path);
      modelDeleted(this.#log, { name, path, symlink: true });
      return;
    }
    if (!info.isDirectory()) throw modelNotFound(name);

    const realModelsDir = await realpath(this.modelsDir);
    const realDir = await realpath(path);
    if (realDir === realModelsDir || !isSameOrInside(realModelsDir, realDir)) {
      throw new HttpError(
        ERRORS.registryOutsideModelsDir,
        `model '${name}' resolves to ${realDir}, outside the models directory ${realModelsDir}`,
        {
          param: "name",
          value: name,
        },
      );
    }
    const loaded = await loadedFrom(realDir, backend);
    if (loaded !== undefined) throw modelLoaded(name, loaded);

    // The rename makes the model disappear at once; the trash is removed at start-up if rm fails.
    const trash = join(
      realModelsDir,
      `${STAGING_PREFIX.trash}${name}-${randomBytes(6).toString("hex")}`,
    );
    await rename(realDir, trash);
    await rm(trash, { recursive: true, force: true });
    modelDeleted(this.#log, { name, path, symlink: false });
  }

  /** Hidden entries whose names start with `prefix`, as absolute paths. */
  async stagingEntries(prefix: string): Promise<string[]> {
    const entries = await readdir(this.modelsDir).catch(() => [] as string[]);
    return entries
      .filter((entry) => entry.startsWith(prefix))
      .map((entry) => join(this.modelsDir, entry));
  }

  /** Removes upload scratch files and trash left by a crash; partial pulls are kept for resume. */
  async removeStaleEntries(): Promise<void> {
    for (const prefix of [STAGING_PREFIX.upload, STAGING_PREFIX.trash]) {
      for (const path of await this.stagingEntries(prefix)) {
        await this.removeQuietly(path, "left over from an earlier run");
      }
    }
  }

  /** Removes `path` recursively, logging instead of throwing on failure. */
  async removeQuietly(path: string, reason: string): Promise<void> {
    try {
      await rm(path, { recursive: true, force: true });
      stagingRemoved(this.#log, { path, reason });
    } catch (error) {
      cleanupFailed(this.#log, { path }, error);
    }
  }

  /**
   * True for a valid model name. A directory copied in by hand may break the name rules, for
   * example with a `%`. It is left out of the listing because no route could address it.
   */
  #isListable(name: string): boolean {
    const problem = modelNameProblem(name);
    if (problem === undefined) return true;
    if (!this.#skippedNames.has(name)) {
      this.#skippedNames.add(name);
      invalidModelDirSkipped(this.#log, { name, path: join(this.modelsDir, name), problem });
    }
    return false;
  }

  async #readSource(name: string, path: string): Promise<ModelSource> {
    try {
      return (await readModelMetadata(path))?.source ?? { kind: "local" };
    } catch (error) {
      metadataUnreadable(this.#log, { name, path }, error);
      return { kind: "local" };
    }
  }
}

export function modelNotFound(name: string): HttpError {
  return new HttpError(ERRORS.registryModelNotFound, `unknown model '${name}'`, {
    param: "name",
    value: name,
  });
}

export function modelExists(name: string): HttpError {
  return new HttpError(
    ERRORS.registryModelExists,
    `model '${name}' already exists; delete it first with DELETE /admin/models/${encodeURIComponent(name)}`,
    {
      param: "name",
      value: name,
    },
  );
}

export function modelLoaded(name: string, loadedPath: string | undefined): HttpError {
  return new HttpError(
    ERRORS.registryModelLoaded,
    `model '${name}' is currently loaded (${loadedPath ?? "unknown path"}); load another model first with POST /admin/load, or stop serving with POST /admin/stop`,
    { param: "name", value: name },
  );
}
