import type { EventLogger } from "../../http/logger.js";

/**
 * Named log events of the model registry. Tokens never appear in these fields: pulls log the
 * repo, revision and file, and Hub URLs are logged without query strings.
 */

export function modelAdded(
  log: EventLogger,
  fields: { name: string; path: string; source: string; bytes: number },
): void {
  log.info(
    { event: "registry.model_added", ...fields },
    `model ${fields.name} added from ${fields.source}`,
  );
}

export function modelDeleted(
  log: EventLogger,
  fields: { name: string; path: string; symlink: boolean },
): void {
  log.info({ event: "registry.model_deleted", ...fields }, `model ${fields.name} deleted`);
}

export function partialPullDeleted(log: EventLogger, fields: { name: string; path: string }): void {
  log.info(
    { event: "registry.partial_pull_deleted", ...fields },
    `partial pull of ${fields.name} deleted`,
  );
}

/** Logs a provenance file that cannot be read; the model is then listed as `local`. */
export function metadataUnreadable(
  log: EventLogger,
  fields: { name: string; path: string },
  error: unknown,
): void {
  log.warn(
    { event: "registry.metadata_unreadable", ...fields, err: error },
    `provenance of model ${fields.name} is unreadable`,
  );
}

/** Logs a model directory that could not be walked; it is then listed with size -1. */
export function inspectFailed(
  log: EventLogger,
  fields: { name: string; path: string },
  error: unknown,
): void {
  log.warn(
    { event: "registry.inspect_failed", ...fields, err: error },
    `could not read model directory ${fields.name}`,
  );
}

/** Logs a directory in the models directory whose name breaks the model name rules; it is not listed. */
export function invalidModelDirSkipped(
  log: EventLogger,
  fields: { name: string; path: string; problem: string },
): void {
  log.warn(
    { event: "registry.invalid_model_dir_skipped", ...fields },
    `${fields.path} is not listed as a model: invalid model name (${fields.problem}); rename it to use it`,
  );
}

export function stagingRemoved(log: EventLogger, fields: { path: string; reason: string }): void {
  log.info(
    { event: "registry.staging_removed", ...fields },
    `removed staging directory ${fields.path}: ${fields.reason}`,
  );
}

export function stagingKept(
  log: EventLogger,
  fields: { name: string; path: string; bytes: number; reason: string },
): void {
  log.info(
    { event: "registry.staging_kept", ...fields },
    `kept ${fields.bytes} downloaded bytes of ${fields.name} in ${fields.path} for a later pull: ${fields.reason}`,
  );
}

export function cleanupFailed(log: EventLogger, fields: { path: string }, error: unknown): void {
  log.warn(
    { event: "registry.cleanup_failed", ...fields, err: error },
    `could not remove ${fields.path}`,
  );
}

export function downloadResumed(
  log: EventLogger,
  fields: { repoId: string; file: string; offset: number },
): void {
  log.info(
    { event: "registry.download_resumed", ...fields },
    `resuming ${fields.file} at byte ${fields.offset}`,
  );
}

export function downloadRetrying(
  log: EventLogger,
  fields: {
    repoId: string;
    file: string;
    attempt: number;
    maxAttempts: number;
    delayMs: number;
    offset: number;
  },
  error: unknown,
): void {
  log.warn(
    { event: "registry.download_retrying", ...fields, err: error },
    `download of ${fields.file} failed (attempt ${fields.attempt} of ${fields.maxAttempts}); retrying in ${fields.delayMs} ms`,
  );
}

export function hubRequestRetrying(
  log: EventLogger,
  fields: { repoId: string; attempt: number; maxAttempts: number; delayMs: number },
  error: unknown,
): void {
  log.warn(
    { event: "registry.hub_request_retrying", ...fields, err: error },
    `reading model info of ${fields.repoId} failed (attempt ${fields.attempt} of ${fields.maxAttempts}); retrying in ${fields.delayMs} ms`,
  );
}

export function rangeIgnored(
  log: EventLogger,
  fields: { repoId: string; file: string; offset: number },
): void {
  log.warn(
    { event: "registry.range_ignored", ...fields },
    `the server ignored the Range request for ${fields.file}; downloading it from the start`,
  );
}

export function checksumMismatch(
  log: EventLogger,
  fields: {
    repoId: string;
    file: string;
    expected: string;
    actual: string;
    attempt: number;
    maxAttempts: number;
  },
): void {
  log.warn(
    { event: "registry.checksum_mismatch", ...fields },
    `${fields.file} failed its checksum (attempt ${fields.attempt} of ${fields.maxAttempts}); the file was deleted`,
  );
}

export function fileReused(log: EventLogger, fields: { name: string; file: string }): void {
  log.debug(
    { event: "registry.file_reused", ...fields },
    `reused unchanged ${fields.file} from the existing model`,
  );
}

/** Logs an unchanged file that could not be hard-linked from the model being replaced, so it is downloaded again. */
export function fileReuseFailed(
  log: EventLogger,
  fields: { name: string; file: string },
  error: unknown,
): void {
  log.info(
    { event: "registry.file_reuse_failed", ...fields, err: error },
    `could not link unchanged ${fields.file}; downloading it again`,
  );
}

/** Logs files of a pulled model that no pull recorded (added by hand), kept when a pull replaced the model. */
export function localFilesKept(log: EventLogger, fields: { name: string; files: string[] }): void {
  log.info(
    { event: "registry.local_files_kept", ...fields },
    `kept ${fields.files.length} files of ${fields.name} that did not come from the Hub`,
  );
}

/** Logs files of a pulled model that the repo no longer has at the new commit; the new copy leaves them out. */
export function filesRemovedUpstream(
  log: EventLogger,
  fields: { name: string; repoId: string; files: string[] },
): void {
  log.warn(
    { event: "registry.files_removed_upstream", ...fields },
    `removed ${fields.files.length} files from ${fields.name} that ${fields.repoId} no longer has: ${fields.files.slice(0, 10).join(", ")}${fields.files.length > 10 ? ", …" : ""}`,
  );
}
