import { realpath, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import type { EventLogger } from "../../../http/logger.js";
import type { JobContext } from "../../jobs/job-store.js";
import { loadedFrom, type LoadedModelSource } from "../loaded-model.js";
import {
  filesRemovedUpstream,
  hubRequestRetrying,
  localFilesKept,
  metadataUnreadable,
  modelAdded,
} from "../log-events.js";
import {
  readModelMetadata,
  writeModelMetadata,
  type HubSource,
  type ModelMetadata,
} from "../model-metadata.js";
import { modelExists, modelLoaded, type ModelStore } from "../model-store.js";
import { requireFreeSpace, type StatfsFunction } from "../storage-errors.js";
import { downloadFile, type DownloadPolicy } from "./file-download.js";
import {
  fileIdentity,
  PULL_MANIFEST_FILE,
  selectWithPrevious,
  type MergedSelection,
  type PreviousPull,
} from "./file-selection.js";
import type { HubClient, HubFile, RepoSnapshot } from "./hub-client.js";
import { TransientHubError } from "./hub-errors.js";
import {
  carryOverLocalFiles,
  prepareStaging,
  type ReusableModel,
  type StagedFile,
} from "./pull-staging.js";

/** A validated pull request. The token is used for Hub requests only and is never stored or logged. */
export interface PullInput {
  name: string;
  repoId: string;
  revision: string | undefined;
  token: string | undefined;
  include: string[] | undefined;
  stagingDir: string;
}

export interface PullDependencies {
  store: ModelStore;
  backend: LoadedModelSource;
  client: HubClient;
  statfs: StatfsFunction;
  policy: DownloadPolicy;
  log: EventLogger;
}

/**
 * Runs the body of a pull job. It resolves the revision to a commit, picks the files and
 * prepares the staging directory, resuming what an earlier pull left there. Then it checks
 * free disk space, downloads and verifies each missing file, records provenance and renames
 * the directory into place. An existing model of the same name is replaced only when it was
 * pulled from the same repo, and the new copy keeps its files (see `selectWithPrevious` and
 * `carryOverLocalFiles`), so a pull with another `include` adds files.
 */
export async function runPull(
  context: JobContext,
  input: PullInput,
  deps: PullDependencies,
): Promise<Record<string, unknown>> {
  const snapshot = await fetchSnapshotWithRetries(context, input, deps);
  const existing = await readExisting(deps.store, input, deps.log);
  const selection = selectWithPrevious(
    snapshot.files,
    input.include,
    input.repoId,
    previousPull(existing),
  );
  const files = selection.files;

  if (existing !== undefined && (await isUpToDate(existing, snapshot.commit, files))) {
    context.progress.setFiles(
      files.map((file) => ({ path: file.path, bytesTotal: file.size, bytesDone: file.size })),
    );
    return pullResult(input, snapshot.commit, existing.dir, selection, true);
  }
  if (existing !== undefined) await requireNotLoaded(existing.dir, input.name, deps.backend);

  const staged = await prepareStaging({
    dir: input.stagingDir,
    name: input.name,
    repoId: input.repoId,
    revision: input.revision,
    commit: snapshot.commit,
    files,
    reusable: existing,
    log: deps.log,
  });
  context.progress.setFiles(
    staged.map((entry) => ({
      path: entry.file.path,
      bytesTotal: entry.file.size,
      bytesDone: entry.bytesPresent,
    })),
  );
  context.reportProgress();

  const missingBytes = staged.reduce(
    (sum, entry) => sum + (entry.file.size - entry.bytesPresent),
    0,
  );
  await requireFreeSpace(
    deps.statfs,
    deps.store.modelsDir,
    missingBytes,
    `the pull of '${input.repoId}'`,
  );
  for (const entry of staged)
    if (!entry.complete) await downloadStagedFile(context, input, snapshot.commit, entry, deps);

  if (existing !== undefined) await keepPreviousFiles(existing, input, selection, deps.log);
  await writeModelMetadata(
    input.stagingDir,
    pulledMetadata(input, snapshot.commit, selection, deps.client.endpoint),
  );
  await rm(join(input.stagingDir, PULL_MANIFEST_FILE), { force: true });
  if (existing !== undefined) await requireNotLoaded(existing.dir, input.name, deps.backend);
  const path = await deps.store.commit(input.stagingDir, input.name, {
    replace: existing !== undefined,
  });

  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  modelAdded(deps.log, {
    name: input.name,
    path,
    source: `hub ${input.repoId}@${snapshot.commit}`,
    bytes,
  });
  return pullResult(input, snapshot.commit, path, selection, false);
}

/** Reads the include patterns and recorded files of the existing model, when a pull made it. */
function previousPull(existing: ReusableModel | undefined): PreviousPull | undefined {
  const metadata = existing?.metadata;
  if (metadata?.source.kind !== "hub") return undefined;
  return {
    include: metadata.source.include,
    files: (metadata.files ?? []).map((file) => file.path),
  };
}

/**
 * Carries the files no pull recorded from the model being replaced into the staging
 * directory, and logs those, and the recorded files the repo no longer has, by name.
 */
async function keepPreviousFiles(
  existing: ReusableModel,
  input: PullInput,
  selection: MergedSelection,
  log: EventLogger,
): Promise<void> {
  const known = new Set([
    ...selection.files.map((file) => file.path),
    ...(existing.metadata?.files ?? []).map((file) => file.path),
  ]);
  const kept = await carryOverLocalFiles(existing.dir, input.stagingDir, known);
  if (kept.length > 0) localFilesKept(log, { name: input.name, files: kept });
  if (selection.removed.length > 0)
    filesRemovedUpstream(log, { name: input.name, repoId: input.repoId, files: selection.removed });
}

async function fetchSnapshotWithRetries(
  context: JobContext,
  input: PullInput,
  deps: PullDependencies,
): Promise<RepoSnapshot> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.client.fetchRepoSnapshot(
        input.repoId,
        input.revision,
        input.token,
        context.signal,
      );
    } catch (error) {
      if (!(error instanceof TransientHubError) || context.signal.aborted) throw error;
      if (attempt >= deps.policy.maxAttempts) throw error.final;
      const delayMs = Math.min(
        deps.policy.retryMaxDelayMs,
        deps.policy.retryBaseDelayMs * 2 ** (attempt - 1),
      );
      hubRequestRetrying(
        deps.log,
        { repoId: input.repoId, attempt, maxAttempts: deps.policy.maxAttempts, delayMs },
        error.cause ?? error,
      );
      await sleep(delayMs, undefined, { signal: context.signal });
    }
  }
}

async function downloadStagedFile(
  context: JobContext,
  input: PullInput,
  commit: string,
  entry: StagedFile,
  deps: PullDependencies,
): Promise<void> {
  const path = entry.file.path;
  context.progress.setFileState(path, "downloading");
  try {
    await downloadFile({
      client: deps.client,
      repoId: input.repoId,
      commit,
      file: entry.file,
      finalPath: entry.finalPath,
      token: input.token,
      signal: context.signal,
      policy: deps.policy,
      log: deps.log,
      onBytes: (bytesOnDisk, transferred) => {
        context.progress.setFileBytes(path, bytesOnDisk);
        context.progress.addTransferred(transferred);
        context.reportProgress();
      },
    });
  } catch (error) {
    context.progress.setFileState(path, context.signal.aborted ? "cancelled" : "failed");
    throw error;
  }
  context.progress.setFileBytes(path, entry.file.size);
  context.progress.setFileState(path, "done");
  context.reportProgress();
}

/** Reads the existing model of this name, if any; throws 409 when it did not come from the same repo. */
async function readExisting(
  store: ModelStore,
  input: PullInput,
  log: EventLogger,
): Promise<ReusableModel | undefined> {
  const dir = store.modelPath(input.name);
  if (!(await store.exists(input.name))) return undefined;

  const metadata = await readModelMetadata(dir).catch((error: unknown) => {
    metadataUnreadable(log, { name: input.name, path: dir }, error);
    return undefined;
  });
  if (metadata?.source.kind !== "hub" || metadata.source.repo_id !== input.repoId)
    throw modelExists(input.name);
  return { dir, metadata };
}

/** True when the existing model is this commit and has every wanted file, unchanged and at full size. */
async function isUpToDate(
  existing: ReusableModel,
  commit: string,
  files: readonly HubFile[],
): Promise<boolean> {
  const metadata = existing.metadata;
  if (metadata?.source.kind !== "hub" || metadata.source.commit !== commit) return false;
  const recorded = new Map(
    (metadata.files ?? []).map((file) => [
      file.path,
      fileIdentity({ size: file.size, sha256: file.sha256, blobId: file.blob_id }),
    ]),
  );
  for (const file of files) {
    if (recorded.get(file.path) !== fileIdentity(file)) return false;
    const info = await stat(join(existing.dir, ...file.path.split("/"))).catch(() => undefined);
    if (info?.size !== file.size) return false;
  }
  return true;
}

async function requireNotLoaded(
  dir: string,
  name: string,
  backend: LoadedModelSource,
): Promise<void> {
  const realDir = await realpath(dir).catch(() => undefined);
  const loaded = realDir === undefined ? undefined : await loadedFrom(realDir, backend);
  if (loaded !== undefined) throw modelLoaded(name, loaded);
}

function pulledMetadata(
  input: PullInput,
  commit: string,
  selection: MergedSelection,
  endpoint: string,
): ModelMetadata {
  const source: HubSource = {
    kind: "hub",
    endpoint,
    repo_id: input.repoId,
    revision: input.revision ?? null,
    commit,
    include: selection.include,
    pulled_at: new Date().toISOString(),
  };
  return {
    version: 1,
    source,
    files: selection.files.map((file) => ({
      path: file.path,
      size: file.size,
      ...(file.sha256 === undefined ? {} : { sha256: file.sha256 }),
      ...(file.blobId === undefined ? {} : { blob_id: file.blobId }),
    })),
  };
}

function pullResult(
  input: PullInput,
  commit: string,
  path: string,
  selection: MergedSelection,
  upToDate: boolean,
): Record<string, unknown> {
  return {
    name: input.name,
    path,
    repo_id: input.repoId,
    revision: input.revision ?? null,
    commit,
    include: selection.include,
    files: selection.files.length,
    size_bytes: selection.files.reduce((sum, file) => sum + file.size, 0),
    up_to_date: upToDate,
    removed_files: selection.removed,
  };
}
