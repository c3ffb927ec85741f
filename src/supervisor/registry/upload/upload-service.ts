import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

import { ERRORS, HttpError } from "../../../http/errors.js";
import type { EventLogger } from "../../../http/logger.js";
import { modelAdded } from "../log-events.js";
import { writeModelMetadata } from "../model-metadata.js";
import { modelExists, STAGING_PREFIX, type ModelStore } from "../model-store.js";
import {
  isOutOfSpace,
  requireFreeSpace,
  storageError,
  type StatfsFunction,
} from "../storage-errors.js";
import { extractArchive, type ExtractLimits } from "./archive-extractor.js";
import { detectFileArchiveFormat } from "./archive-format.js";

export interface UploadLimits extends ExtractLimits {
  /** Maximum bytes of the uploaded archive itself (`CODEC_UPLOAD_MAX_BYTES`). */
  maxUploadBytes: number;
}

export interface UploadRequest {
  name: string;
  /** The multipart file stream; it is read once, straight to disk. */
  file: Readable;
  /** True when the multipart parser cut the file short at its own size limit. */
  truncated(): boolean;
  /** The request's Content-Length, when the client sent one, for the free-space check. */
  contentLength: number | undefined;
}

export interface UploadDependencies {
  store: ModelStore;
  limits: UploadLimits;
  statfs: StatfsFunction;
  log: EventLogger;
}

/** The 200 body of a finished upload. */
export interface UploadResult {
  name: string;
  path: string;
  format: string;
  files: number;
  size_bytes: number;
}

/**
 * Stores an uploaded model archive as model `name`: streams it to a hidden temporary file
 * (never into memory), detects tar or tar.gz by magic bytes, extracts it into a hidden
 * staging directory, records provenance, and renames the directory into place. Any failure
 * removes the temporary file and the staging directory; a removal that itself fails is logged,
 * and start-up removes what it left. The name must already be valid and reserved by the caller.
 */
export async function storeUpload(
  request: UploadRequest,
  deps: UploadDependencies,
): Promise<UploadResult> {
  const { store, limits } = deps;
  if (await store.exists(request.name)) throw modelExists(request.name);
  if (request.contentLength !== undefined) {
    await requireFreeSpace(
      deps.statfs,
      store.modelsDir,
      request.contentLength,
      `the upload of '${request.name}'`,
    );
  }

  const archivePath = `${store.scratchPath(STAGING_PREFIX.upload, request.name)}.archive`;
  const stagingDir = store.scratchPath(STAGING_PREFIX.upload, request.name);
  try {
    const archiveBytes = await receiveArchive(
      request.file,
      archivePath,
      limits.maxUploadBytes,
      store.modelsDir,
    );
    if (request.truncated()) throw uploadTooLarge(limits.maxUploadBytes);
    const format = await detectFileArchiveFormat(archivePath);

    await mkdir(stagingDir, { mode: 0o755 });
    const summary = await extractArchive(archivePath, format, stagingDir, limits);
    await hoistSingleDirectory(stagingDir);
    await writeModelMetadata(stagingDir, {
      version: 1,
      source: {
        kind: "upload",
        uploaded_at: new Date().toISOString(),
        archive_format: format,
        archive_bytes: archiveBytes,
      },
    });
    const path = await store.commit(stagingDir, request.name, { replace: false });

    modelAdded(deps.log, {
      name: request.name,
      path,
      source: `upload (${format})`,
      bytes: summary.bytes,
    });
    return { name: request.name, path, format, files: summary.files, size_bytes: summary.bytes };
  } catch (error) {
    await store.removeQuietly(stagingDir, "the upload failed");
    throw error;
  } finally {
    await rm(archivePath, { force: true });
  }
}

/** Streams the upload to `path`, counting bytes; 413 past `maxBytes`. Returns the byte count. */
async function receiveArchive(
  file: Readable,
  path: string,
  maxBytes: number,
  modelsDir: string,
): Promise<number> {
  let received = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > maxBytes) callback(uploadTooLarge(maxBytes));
      else callback(null, chunk);
    },
  });
  try {
    await pipeline(file, limiter, createWriteStream(path, { flags: "wx", mode: 0o600 }));
  } catch (error) {
    if (HttpError.isHttpError(error)) throw error;
    const code = String((error as { code?: unknown }).code ?? "");
    if (code === "FST_REQ_FILE_TOO_LARGE") throw uploadTooLarge(maxBytes);
    if (isOutOfSpace(error)) throw storageError(error, modelsDir);
    if (INTERRUPTED_UPLOAD_CODES.has(code)) {
      throw new HttpError(
        ERRORS.registryArchiveInvalid,
        "the upload ended before the archive was complete",
        {
          param: "file",
          cause: error,
        },
      );
    }
    throw error;
  }
  if (received === 0)
    throw new HttpError(ERRORS.registryArchiveInvalid, "the uploaded file is empty", {
      param: "file",
    });
  return received;
}

/** Error codes of a request body that stopped early: the multipart parser's, Node's and the socket's. */
const INTERRUPTED_UPLOAD_CODES = new Set([
  "FST_MP_PREMATURE_CLOSE",
  "ERR_STREAM_PREMATURE_CLOSE",
  "ECONNRESET",
  "ECONNABORTED",
]);

export function uploadTooLarge(maxBytes: number): HttpError {
  return new HttpError(
    ERRORS.registryUploadTooLarge,
    `the upload is larger than ${maxBytes} bytes; raise CODEC_UPLOAD_MAX_BYTES if this is expected`,
    {
      param: "file",
    },
  );
}

/**
 * Moves the contents of a lone top-level directory up one level, so an archive made with
 * `tar -czf model.tgz my-model/` gives the same model as one made inside `my-model`.
 */
async function hoistSingleDirectory(dir: string): Promise<void> {
  const entries = await readdir(dir);
  if (entries.length !== 1) return;
  const only = join(dir, entries[0]!);
  if (!(await stat(only)).isDirectory()) return;

  const temporary = join(dir, `${STAGING_PREFIX.upload}hoist-${randomBytes(6).toString("hex")}`);
  await rename(only, temporary);
  for (const child of await readdir(temporary))
    await rename(join(temporary, child), join(dir, child));
  await rmdir(temporary);
}
