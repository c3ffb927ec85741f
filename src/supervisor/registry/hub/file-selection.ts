import picomatch from "picomatch";

import { ERRORS, HttpError, invalidParam } from "../../../http/errors.js";
import { METADATA_FILE } from "../model-metadata.js";
import type { HubFile } from "./hub-client.js";

/** Suffix of a file being downloaded, next to where the finished file goes. */
export const PARTIAL_SUFFIX = ".codec-partial";
/** The resume manifest inside a pull's staging directory. */
export const PULL_MANIFEST_FILE = ".codec-pull.json";

/**
 * Small top-level files fetched with any `include` filter when the repo has them. A
 * checkpoint filtered down to its weights cannot be served by vLLM or SGLang without its
 * `config.json`, tokenizer and safetensors index, and these files are small.
 */
const COMPANION_FILE = /^(?:[^/]+\.json|tokenizer\.model)$/;
const MAX_COMPANION_BYTES = 32 * 1024 * 1024;
const MAX_INCLUDE_PATTERNS = 64;
const CONTROL_CHARACTER = /\p{Cc}/u;

/** Checks the `include` field: an optional array of 1 to 64 non-empty glob strings. */
export function validateInclude(include: unknown): string[] | undefined {
  if (include === undefined || include === null) return undefined;
  const valid =
    Array.isArray(include) &&
    include.length > 0 &&
    include.length <= MAX_INCLUDE_PATTERNS &&
    include.every(
      (pattern) => typeof pattern === "string" && pattern !== "" && pattern.length <= 256,
    );
  if (!valid) {
    throw invalidParam(
      "include",
      `include must be an array of 1 to ${MAX_INCLUDE_PATTERNS} glob patterns such as ["*Q4_K_M.gguf"]`,
      include,
    );
  }
  return include as string[];
}

/**
 * Picks the files to download. Without `include`, every file of the repo. With it, the files
 * matching any pattern plus the companion files above. Patterns use picomatch globs against
 * the repo path: `*` does not cross `/`, `**` does, and a pattern without `/` is matched
 * against the file's base name, so `*Q4_K_M.gguf` also finds `sub/model-Q4_K_M.gguf`.
 * Throws when a path from the Hub is unsafe, or when the filter matches no file.
 */
export function selectFiles(
  files: readonly HubFile[],
  include: readonly string[] | undefined,
  repoId: string,
): HubFile[] {
  for (const file of files) checkRepoPath(file.path, repoId);
  if (include === undefined) return [...files];

  const matches = picomatch([...include], { dot: true, basename: true });
  const selected = files.filter((file) => matches(file.path));
  if (selected.length === 0) {
    throw new HttpError(
      ERRORS.registryNoMatchingFiles,
      `no file of repo '${repoId}' matches include ${JSON.stringify(include)}`,
      {
        param: "include",
        value: include,
      },
    );
  }
  const companions = files.filter((file) => isCompanion(file) && !selected.includes(file));
  return [...selected, ...companions];
}

function isCompanion(file: HubFile): boolean {
  return COMPANION_FILE.test(file.path) && file.size <= MAX_COMPANION_BYTES;
}

/**
 * Rejects a repo path that could escape the staging directory or collide with the
 * registry's own files: absolute paths, `.` or `..` segments, empty segments, backslashes,
 * control characters, and the reserved names.
 */
function checkRepoPath(path: string, repoId: string): void {
  const segments = path.split("/");
  const unsafe =
    path === "" ||
    path.includes("\\") ||
    CONTROL_CHARACTER.test(path) ||
    segments.some((segment) => segment === "" || segment === "." || segment === "..") ||
    path === METADATA_FILE ||
    path === PULL_MANIFEST_FILE ||
    path.endsWith(PARTIAL_SUFFIX);
  if (unsafe) {
    throw new HttpError(
      ERRORS.registryHubFailed,
      `the Hub listed an unsafe or reserved file path ${JSON.stringify(path)} in repo '${repoId}'`,
    );
  }
}

/** Returns a value that changes whenever the file's content does: its git object id, else its hash, else its size. */
export function fileIdentity(file: {
  size: number;
  sha256?: string | undefined;
  blobId?: string | undefined;
}): string {
  if (file.blobId !== undefined) return `blob:${file.blobId}`;
  if (file.sha256 !== undefined) return `sha256:${file.sha256}`;
  return `size:${file.size}`;
}
