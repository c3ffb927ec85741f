import { ERRORS, HttpError } from "../../http/errors.js";

/** True for the errors a full disk or an exhausted quota raises. */
export function isOutOfSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** Builds the 507 for a disk that filled up while writing under `dir`. */
export function storageError(error: unknown, dir: string): HttpError {
  return new HttpError(
    ERRORS.registryInsufficientStorage,
    `the disk holding ${dir} is full; free some space and retry`,
    { cause: error },
  );
}

/**
 * Throws a 507 unless the file system holding `dir` has at least `neededBytes` available to
 * this process (`statfs` `bavail` blocks of `bsize` bytes).
 */
export async function requireFreeSpace(
  statfs: StatfsFunction,
  dir: string,
  neededBytes: number,
  operation: string,
): Promise<void> {
  const info = await statfs(dir);
  const available = Number(info.bavail) * Number(info.bsize);
  if (available >= neededBytes) return;
  throw new HttpError(
    ERRORS.registryInsufficientStorage,
    `${operation} needs ${neededBytes} bytes, but only ${available} bytes are free in ${dir}; free some space and retry`,
    { value: neededBytes },
  );
}

/** The part of `fs.promises.statfs` the free-space check uses; tests pass their own. */
export type StatfsFunction = (
  path: string,
) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;
