import { createWriteStream } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";

import type { Dispatcher } from "undici";

import { ERRORS, HttpError } from "../../../http/errors.js";
import type { EventLogger } from "../../../http/logger.js";
import {
  checksumMismatch,
  downloadResumed,
  downloadRetrying,
  rangeIgnored,
} from "../log-events.js";
import { isOutOfSpace, storageError } from "../storage-errors.js";
import { PARTIAL_SUFFIX } from "./file-selection.js";
import type { HubClient, HubFile } from "./hub-client.js";
import { TransientHubError } from "./hub-errors.js";
import { PartialFile } from "./partial-file.js";

/** Retry limits of one file download. */
export interface DownloadPolicy {
  /** Failed attempts in a row without a new byte on disk before the download fails. */
  maxAttempts: number;
  /** Delay before the first retry; each further retry doubles it, up to `retryMaxDelayMs`. */
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Complete downloads of one file with a wrong checksum before the pull fails. */
  checksumAttempts: number;
}

export const DEFAULT_DOWNLOAD_POLICY: DownloadPolicy = {
  maxAttempts: 5,
  retryBaseDelayMs: 1_000,
  retryMaxDelayMs: 30_000,
  checksumAttempts: 3,
};

/** One file to download into a staging directory. */
export interface FileDownload {
  client: HubClient;
  repoId: string;
  commit: string;
  file: HubFile;
  /** Path of the verified file; the partial file is next to it until then. */
  finalPath: string;
  token: string | undefined;
  signal: AbortSignal;
  policy: DownloadPolicy;
  log: EventLogger;
  /** Called as bytes arrive: the bytes now on disk, and how many just came from the network. */
  onBytes(bytesOnDisk: number, transferred: number): void;
}

/**
 * Downloads one file to `finalPath`. An existing partial file is continued with a `Range`
 * request. Network errors, timeouts and 429/5xx responses are retried with exponential
 * backoff. The finished file is checked against its LFS SHA-256, or its size for files
 * outside LFS. A file that fails the check is deleted and downloaded again, up to
 * `checksumAttempts` times in all.
 */
export async function downloadFile(download: FileDownload): Promise<void> {
  const { file, policy } = download;
  const partial = new PartialFile(
    `${download.finalPath}${PARTIAL_SUFFIX}`,
    file.sha256 !== undefined,
  );
  await mkdir(dirname(download.finalPath), { recursive: true });

  for (let attempt = 1; ; attempt++) {
    await fetchWithRetries(download, partial);
    const actual = file.sha256 === undefined ? undefined : await partial.sha256(file.size);
    if (actual === undefined || actual === file.sha256) {
      await rename(partial.path, download.finalPath);
      return;
    }

    await partial.reset();
    download.onBytes(0, 0);
    checksumMismatch(download.log, {
      repoId: download.repoId,
      file: file.path,
      expected: file.sha256!,
      actual,
      attempt,
      maxAttempts: policy.checksumAttempts,
    });
    if (attempt >= policy.checksumAttempts) {
      throw new HttpError(
        ERRORS.registryChecksumMismatch,
        `'${file.path}' of repo '${download.repoId}' failed its SHA-256 check ${attempt} times (expected ${file.sha256}, got ${actual}); the file was deleted`,
        { value: file.path },
      );
    }
  }
}

/** Brings the partial file to the expected size, retrying transient failures. */
async function fetchWithRetries(download: FileDownload, partial: PartialFile): Promise<void> {
  const { file, policy, signal } = download;
  let failuresWithoutProgress = 0;

  for (;;) {
    let offset = await partial.size();
    if (offset > file.size) {
      await partial.reset();
      offset = 0;
    }
    if (offset === file.size) return;
    if (offset > 0)
      downloadResumed(download.log, { repoId: download.repoId, file: file.path, offset });

    try {
      await transferOnce(download, partial, offset);
      return;
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      if (!(error instanceof TransientHubError)) throw error;

      const now = await partial.size();
      failuresWithoutProgress = now > offset ? 1 : failuresWithoutProgress + 1;
      if (failuresWithoutProgress >= policy.maxAttempts) {
        const spec = { code: error.final.code, status: error.final.statusCode };
        throw new HttpError(
          spec,
          `${error.final.message} (gave up after ${failuresWithoutProgress} attempts without progress)`,
          {
            cause: error,
          },
        );
      }
      const delayMs = Math.min(
        policy.retryMaxDelayMs,
        policy.retryBaseDelayMs * 2 ** (failuresWithoutProgress - 1),
      );
      downloadRetrying(
        download.log,
        {
          repoId: download.repoId,
          file: file.path,
          attempt: failuresWithoutProgress,
          maxAttempts: policy.maxAttempts,
          delayMs,
          offset: now,
        },
        error.cause ?? error,
      );
      await sleep(delayMs, undefined, { signal });
    }
  }
}

/** Sends one request, appends the response body to the partial file and checks the final size. */
async function transferOnce(
  download: FileDownload,
  partial: PartialFile,
  requestedOffset: number,
): Promise<void> {
  const { client, file, signal } = download;
  const response = await client.openFile(
    download.repoId,
    download.commit,
    file.path,
    requestedOffset,
    download.token,
    signal,
  );
  const offset = await startOffset(download, partial, response, requestedOffset);

  await partial.prepareAppend(offset);
  let onDisk = offset;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      partial.update(chunk);
      onDisk += chunk.length;
      download.onBytes(onDisk, chunk.length);
      callback(null, chunk);
    },
  });

  try {
    await pipeline(
      response.body,
      meter,
      createWriteStream(partial.path, { flags: offset === 0 ? "w" : "a" }),
      { signal },
    );
  } catch (error) {
    if (signal.aborted) throw signal.reason ?? error;
    if (isOutOfSpace(error)) throw storageError(error, dirname(download.finalPath));
    throw interrupted(download, error);
  }

  const size = await partial.size();
  if (size === file.size) return;
  if (size > file.size) await partial.reset();
  throw new TransientHubError(
    new HttpError(
      ERRORS.registryHubFailed,
      `the Hub sent ${size} bytes of '${file.path}', but lists it at ${file.size} bytes`,
    ),
  );
}

/**
 * Checks the response against the requested range and returns the offset its body starts
 * at: the requested one for a 206, 0 when the server ignored `Range` and sent the whole file.
 */
async function startOffset(
  download: FileDownload,
  partial: PartialFile,
  response: Dispatcher.ResponseData,
  requestedOffset: number,
): Promise<number> {
  const { file } = download;
  if (response.statusCode === 416) {
    await response.body.dump();
    await partial.reset();
    throw new TransientHubError(
      new HttpError(ERRORS.registryHubFailed, `the Hub rejected the byte range of '${file.path}'`),
    );
  }

  if (response.statusCode === 200) {
    if (requestedOffset > 0) {
      rangeIgnored(download.log, {
        repoId: download.repoId,
        file: file.path,
        offset: requestedOffset,
      });
      await partial.reset();
    }
    const length = Number(response.headers["content-length"] ?? Number.NaN);
    if (Number.isFinite(length) && length !== file.size)
      throw await sizeChanged(response, file, length);
    return 0;
  }

  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(
    String(response.headers["content-range"] ?? ""),
  );
  if (range === null || Number(range[1]) !== requestedOffset) {
    await response.body.dump();
    throw new HttpError(
      ERRORS.registryHubFailed,
      `the Hub responded to a Range request for '${file.path}' with an unexpected Content-Range`,
    );
  }
  if (range[3] !== "*" && Number(range[3]) !== file.size)
    throw await sizeChanged(response, file, Number(range[3]));
  return requestedOffset;
}

async function sizeChanged(
  response: Dispatcher.ResponseData,
  file: HubFile,
  served: number,
): Promise<HttpError> {
  await response.body.dump();
  return new HttpError(
    ERRORS.registryHubFailed,
    `the Hub serves '${file.path}' with ${served} bytes, but lists it at ${file.size} bytes`,
  );
}

function interrupted(download: FileDownload, error: unknown): TransientHubError {
  const reason = error instanceof Error ? error.message : String(error);
  const final = new HttpError(
    ERRORS.registryHubUnreachable,
    `the download of '${download.file.path}' from the Hub was interrupted: ${reason}`,
    {
      cause: error,
    },
  );
  return new TransientHubError(final, { cause: error });
}
