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

/** The `include` patterns and recorded repo paths of the pull that made a model. */
export interface PreviousPull {
  include: readonly string[] | null;
  files: readonly string[];
}

/** The files of a pull into a model that may already hold files from an earlier pull. */
export interface MergedSelection {
  files: HubFile[];
  /** The patterns recorded for the model: null when either pull took every file. */
  include: string[] | null;
  /** Repo paths the earlier pull recorded that the repo no longer has at this commit. */
  removed: string[];
}

/**
 * Picks the files of a pull, keeping what an earlier pull of the same repo fetched: the
 * requested files, the files the earlier `include` patterns select, and every recorded path
 * the repo still has. So pulling with another `include` adds files instead of replacing them,
 * and a recorded file leaves the model only when the repo itself no longer has it (`removed`).
 * Throws, like `selectFiles`, when the requested patterns alone match nothing.
 */
export function selectWithPrevious(
  files: readonly HubFile[],
  include: readonly string[] | undefined,
  repoId: string,
  previous: PreviousPull | undefined,
): MergedSelection {
  const requested = selectFiles(files, include, repoId);
  if (previous === undefined) {
    return { files: requested, include: include === undefined ? null : [...include], removed: [] };
  }

  const merged =
    include === undefined || previous.include === null
      ? null
      : [...new Set([...previous.include, ...include])];
  const chosen = new Set([...requested, ...selectFiles(files, merged ?? undefined, repoId)]);
  const recorded = new Set(previous.files);
  const available = new Set(files.map((file) => file.path));
  return {
    files: files.filter((file) => chosen.has(file) || recorded.has(file.path)),
    include: merged,
    removed: previous.files.filter((path) => !available.has(path)),
  };
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
