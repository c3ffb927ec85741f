import { ERRORS, HttpError } from "../../../http/errors.js";
import { METADATA_FILE } from "../model-metadata.js";

/** The action for one tar entry: write a file, create a directory, or skip it. */
export type EntryAction =
  { kind: "file"; path: string } | { kind: "directory"; path: string } | { kind: "skip" };

/** Tar entry types (as the `tar` package names them) written out as regular files. */
const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);

const REJECTED_TYPES: Readonly<Record<string, string>> = {
  SymbolicLink: "symbolic links are not allowed",
  Link: "hard links are not allowed",
  CharacterDevice: "character devices are not allowed",
  BlockDevice: "block devices are not allowed",
  FIFO: "FIFOs are not allowed",
};

const CONTROL_CHARACTER = /\p{Cc}/u;
const MAX_SEGMENT_BYTES = 255;

/**
 * Decides what to do with a tar entry of `type` at `path` (the path after PAX and GNU
 * long-name headers were applied). Only regular files and directories are accepted. The
 * path must be relative and stay inside the model directory: absolute paths, drive letters,
 * backslashes, `..` segments and control characters reject the whole archive. `.` segments
 * and a leading `./` are dropped; the archive root itself is skipped.
 */
export function classifyEntry(type: string, path: string): EntryAction {
  const typeProblem = REJECTED_TYPES[type];
  if (typeProblem !== undefined) throw unsafe(path, typeProblem);
  if (!FILE_TYPES.has(type) && type !== "Directory")
    throw unsafe(path, `entry type ${type} is not allowed`);

  const relativePath = normalizeEntryPath(path);
  if (relativePath === "") {
    if (type === "Directory") return { kind: "skip" };
    throw unsafe(path, "a file entry has an empty path");
  }
  // Checked in every directory, since a lone top-level directory is moved up after extraction.
  if (relativePath.split("/").includes(METADATA_FILE)) {
    throw unsafe(path, `${METADATA_FILE} is reserved for the registry's provenance record`);
  }
  return { kind: FILE_TYPES.has(type) ? "file" : "directory", path: relativePath };
}

function normalizeEntryPath(path: string): string {
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path))
    throw unsafe(path, "absolute paths are not allowed");
  if (path.includes("\\")) throw unsafe(path, "backslashes are not allowed in paths");
  if (CONTROL_CHARACTER.test(path))
    throw unsafe(path, "control characters are not allowed in paths");

  const segments = path.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (segments.includes(".."))
    throw unsafe(path, "'..' would place the entry outside the model directory");
  if (segments.some((segment) => Buffer.byteLength(segment, "utf8") > MAX_SEGMENT_BYTES)) {
    throw unsafe(path, `a path component is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  return segments.join("/");
}

/** Builds the 400 for an archive entry that could escape the model directory or is not a plain file. */
export function unsafe(path: string, problem: string): HttpError {
  return new HttpError(
    ERRORS.registryArchiveUnsafe,
    `the archive was rejected: entry ${JSON.stringify(path)}: ${problem}`,
    {
      param: "file",
      value: path,
    },
  );
}
