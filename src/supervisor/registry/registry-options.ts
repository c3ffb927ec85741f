import { statfs } from "node:fs/promises";

import { DEFAULT_DOWNLOAD_POLICY, type DownloadPolicy } from "./hub/file-download.js";
import { DEFAULT_HUB_ENDPOINT, parseHubEndpoint } from "./hub/hub-repo.js";
import type { StatfsFunction } from "./storage-errors.js";

/** Settings of the model registry; `registryOptionsFromEnv` fills them from the environment. */
export interface RegistryOptions {
  modelsDir: string;
  /** Hub base URL (`HF_ENDPOINT`). */
  hubEndpoint: string;
  /** Token used when a pull request carries none (`HF_TOKEN`). Never logged or returned. */
  hubToken: string | undefined;
  /** Maximum bytes of an uploaded archive and of its uncompressed content (`CODEC_UPLOAD_MAX_BYTES`). */
  uploadMaxBytes: number;
  /** Maximum entries in an uploaded archive. */
  uploadMaxEntries: number;
  download: DownloadPolicy;
  /** Time allowed for a Hub response's headers. */
  hubHeadersTimeoutMs: number;
  /** Time a Hub download may stall between two chunks before it is retried. */
  hubBodyTimeoutMs: number;
  /** Pulls that download at the same time; further pulls wait as `queued`. */
  pullConcurrency: number;
  /** Free-space probe; tests replace it. */
  statfs: StatfsFunction;
}

/** Default upload limit: 64 GiB, room for a 70B model quantized to 4 or 5 bits per weight. */
export const DEFAULT_UPLOAD_MAX_BYTES = 64 * 1024 ** 3;
/** Default entry limit of an upload; model directories hold tens to hundreds of files. */
export const DEFAULT_UPLOAD_MAX_ENTRIES = 100_000;

/**
 * Reads `HF_ENDPOINT`, `HF_TOKEN` and `CODEC_UPLOAD_MAX_BYTES`. Throws with the variable's
 * name when one is set to an invalid value, so the supervisor does not start half-configured.
 */
export function registryOptionsFromEnv(
  modelsDir: string,
  env: NodeJS.ProcessEnv = process.env,
): RegistryOptions {
  const token = env.HF_TOKEN?.trim();
  return {
    modelsDir,
    hubEndpoint: parseHubEndpoint(env.HF_ENDPOINT?.trim() || DEFAULT_HUB_ENDPOINT),
    hubToken: token === undefined || token === "" ? undefined : token,
    uploadMaxBytes: parseByteCount(
      env.CODEC_UPLOAD_MAX_BYTES,
      "CODEC_UPLOAD_MAX_BYTES",
      DEFAULT_UPLOAD_MAX_BYTES,
    ),
    uploadMaxEntries: DEFAULT_UPLOAD_MAX_ENTRIES,
    download: DEFAULT_DOWNLOAD_POLICY,
    hubHeadersTimeoutMs: 60_000,
    hubBodyTimeoutMs: 60_000,
    pullConcurrency: 2,
    statfs: (path) => statfs(path),
  };
}

function parseByteCount(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const bytes = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new Error(
      `${name} must be a positive whole number of bytes, got ${JSON.stringify(value)}`,
    );
  }
  return bytes;
}
