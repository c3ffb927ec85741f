import {
  copyFile,
  link,
  lstat,
  mkdir,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
} from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";

import { z } from "zod";

import type { EventLogger } from "../../../http/logger.js";
import { readJsonFile, writeJsonAtomic } from "../json-file.js";
import { fileReused, fileReuseFailed, metadataUnreadable } from "../log-events.js";
import { METADATA_FILE, type ModelMetadata } from "../model-metadata.js";
import { fileIdentity, PARTIAL_SUFFIX, PULL_MANIFEST_FILE } from "./file-selection.js";
import type { HubFile } from "./hub-client.js";

/** One file of a pull and how much of it is already in the staging directory. */
export interface StagedFile {
  file: HubFile;
  finalPath: string;
  /** Bytes already on disk, in the finished file or in its partial file. */
  bytesPresent: number;
  /** True when the verified file is already in place. */
  complete: boolean;
}

/** An existing model of the same name, whose unchanged files can be linked instead of downloaded. */
export interface ReusableModel {
  dir: string;
  metadata: ModelMetadata | undefined;
}

export interface StagingRequest {
  dir: string;
  name: string;
  repoId: string;
  revision: string | undefined;
  commit: string;
  files: readonly HubFile[];
  reusable: ReusableModel | undefined;
  log: EventLogger;
}

const manifestSchema = z.object({
  version: z.literal(1),
  /** Repo path → identity of the file the bytes on disk belong to. */
  files: z.record(z.string(), z.string()),
});

/**
 * Prepares the staging directory of a pull so it can be resumed. The resume manifest records
 * which version of each file the bytes on disk belong to. Files and partial files that are no
 * longer requested, or belong to another version, are deleted, and unchanged files of
 * `reusable` are hard-linked in. Returns each requested file with the bytes already present.
 */
export async function prepareStaging(request: StagingRequest): Promise<StagedFile[]> {
  await mkdir(request.dir, { recursive: true });
  const requested = new Map(request.files.map((file) => [file.path, fileIdentity(file)]));
  const recorded = await readManifest(request);

  await removeUnwanted(request.dir, (path) => {
    const identity = requested.get(path);
    return identity !== undefined && recorded[path] === identity;
  });
  await writeJsonAtomic(join(request.dir, PULL_MANIFEST_FILE), {
    version: 1,
    files: Object.fromEntries(requested),
  });

  const staged: StagedFile[] = [];
  for (const file of request.files) {
    const finalPath = join(request.dir, ...file.path.split("/"));
    await linkUnchangedFile(request, file, finalPath);
    staged.push(await measure(file, finalPath));
  }
  return staged;
}

async function readManifest(request: StagingRequest): Promise<Record<string, string>> {
  try {
    const value = await readJsonFile(join(request.dir, PULL_MANIFEST_FILE));
    return value === undefined ? {} : manifestSchema.parse(value).files;
  } catch (error) {
    metadataUnreadable(
      request.log,
      { name: request.name, path: join(request.dir, PULL_MANIFEST_FILE) },
      error,
    );
    return {};
  }
}

/** Deletes every file in `dir` (but the manifest) whose repo path `keep` rejects. */
async function removeUnwanted(dir: string, keep: (repoPath: string) => boolean): Promise<void> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (entry.isDirectory()) continue;
    const relativePath = relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/");
    if (relativePath === PULL_MANIFEST_FILE) continue;

    const repoPath = relativePath.endsWith(PARTIAL_SUFFIX)
      ? relativePath.slice(0, -PARTIAL_SUFFIX.length)
      : relativePath;
    if (!entry.isFile() || !keep(repoPath)) await rm(join(dir, relativePath), { force: true });
  }
}

/** Hard-links `file` from the model being replaced when its recorded identity is unchanged. */
async function linkUnchangedFile(
  request: StagingRequest,
  file: HubFile,
  finalPath: string,
): Promise<void> {
  const recorded = request.reusable?.metadata?.files?.find(
    (candidate) => candidate.path === file.path,
  );
  if (request.reusable === undefined || recorded === undefined) return;
  const sameContent =
    fileIdentity({ size: recorded.size, sha256: recorded.sha256, blobId: recorded.blob_id }) ===
    fileIdentity(file);
  if (!sameContent || (await stat(finalPath).catch(() => undefined)) !== undefined) return;

  const source = join(request.reusable.dir, ...file.path.split("/"));
  const sourceInfo = await stat(source).catch(() => undefined);
  if (sourceInfo?.size !== file.size) return;

  await mkdir(dirname(finalPath), { recursive: true });
  try {
    await link(source, finalPath);
    fileReused(request.log, { name: request.name, file: file.path });
  } catch (error) {
    // Another file system, or no hard links there: the file is downloaded instead.
    fileReuseFailed(request.log, { name: request.name, file: file.path }, error);
  }
}

async function measure(file: HubFile, finalPath: string): Promise<StagedFile> {
  const finished = await stat(finalPath).catch(() => undefined);
  if (finished?.size === file.size)
    return { file, finalPath, bytesPresent: file.size, complete: true };
  if (finished !== undefined) await rm(finalPath, { force: true });

  const partial = await stat(`${finalPath}${PARTIAL_SUFFIX}`).catch(() => undefined);
  const bytesPresent = partial === undefined ? 0 : Math.min(partial.size, file.size);
  return { file, finalPath, bytesPresent, complete: false };
}

/**
 * Copies the files of the model being replaced that no pull recorded (files added by hand)
 * into the staging directory, so replacing the model keeps them. Regular files are
 * hard-linked, or copied where links fail; symbolic links are recreated with the same target.
 * Paths in `skip` (the files the pull wrote, and the files earlier pulls recorded) and the
 * provenance file are left out. Returns the repo-style paths carried over.
 */
export async function carryOverLocalFiles(
  fromDir: string,
  toDir: string,
  skip: ReadonlySet<string>,
): Promise<string[]> {
  const carried: string[] = [];
  const entries = await readdir(fromDir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (entry.isDirectory()) continue;
    const source = join(entry.parentPath, entry.name);
    const path = relative(fromDir, source).split(sep).join("/");
    if (path === METADATA_FILE || skip.has(path)) continue;

    const target = join(toDir, path);
    if ((await lstat(target).catch(() => undefined)) !== undefined) continue;
    await mkdir(dirname(target), { recursive: true });
    if (entry.isSymbolicLink()) {
      await symlink(await readlink(source), target);
    } else if (entry.isFile()) {
      await link(source, target).catch(() => copyFile(source, target));
    } else {
      continue;
    }
    carried.push(path);
  }
  return carried;
}

/** Bytes in a staging directory's files, for logs and the partial-pull listing. */
export async function stagingBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  let total = 0;
  for (const entry of entries) {
    if (!entry.isFile() || entry.name === PULL_MANIFEST_FILE) continue;
    total += (await stat(join(entry.parentPath, entry.name)).catch(() => undefined))?.size ?? 0;
  }
  return total;
}
