import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";

import { Parser, type ReadEntry } from "tar";

import { ERRORS, HttpError } from "../../../http/errors.js";
import { isOutOfSpace, storageError } from "../storage-errors.js";
import { classifyEntry, unsafe } from "./archive-entry-rules.js";
import { hasUstarMagic, SNIFF_BYTES, type ArchiveFormat } from "./archive-format.js";

/** Limits of one extraction. */
export interface ExtractLimits {
  /** Maximum bytes of the uncompressed tar stream, and so of the extracted files. */
  maxBytes: number;
  /** Maximum number of entries (files and directories). */
  maxEntries: number;
}

export interface ExtractSummary {
  files: number;
  /** Bytes of file content written. */
  bytes: number;
}

/**
 * Extracts a tar or tar.gz archive into the empty directory `targetDir`, or throws a 400 and
 * leaves the directory for the caller to remove.
 *
 * The `tar` package parses the archive in strict mode, so a bad checksum or a truncated
 * archive is an error. The files are written here instead of by `tar.x`, because its
 * unpacker strips absolute paths and skips `..` entries with a warning, while an upload must
 * be rejected whole. Every entry is checked by `classifyEntry` before anything is written.
 * Files are created with `wx`, so a repeated path fails, and modes and owners from the
 * archive are ignored (files 0644, directories 0755). The uncompressed bytes are counted as
 * they are read, so a gzip bomb stops at the limit whatever its headers claim.
 */
export async function extractArchive(
  archivePath: string,
  format: ArchiveFormat,
  targetDir: string,
  limits: ExtractLimits,
): Promise<ExtractSummary> {
  const extraction = new TarExtraction(targetDir, limits, format === "tar.gz");
  try {
    if (format === "tar.gz") {
      await pipeline(createReadStream(archivePath), createGunzip(), (source) =>
        extraction.consume(source),
      );
    } else {
      await pipeline(createReadStream(archivePath), (source) => extraction.consume(source));
    }
  } catch (error) {
    throw extraction.failure ?? toArchiveError(error, targetDir);
  }
  return extraction.summary();
}

class TarExtraction {
  failure: HttpError | undefined;
  readonly #parser = new Parser({ strict: true });
  readonly #targetDir: string;
  readonly #limits: ExtractLimits;
  readonly #checkMagic: boolean;
  readonly #parsed: Promise<void>;
  readonly #failed: Promise<never>;
  #rejectFailed!: (error: HttpError) => void;
  #entryWork: Promise<void> = Promise.resolve();
  #head = Buffer.alloc(0);
  #streamBytes = 0;
  #fileBytes = 0;
  #files = 0;
  #entries = 0;

  /** `checkMagic` makes the first header block prove that the decompressed stream is a tar. */
  constructor(targetDir: string, limits: ExtractLimits, checkMagic: boolean) {
    this.#targetDir = targetDir;
    this.#limits = limits;
    this.#checkMagic = checkMagic;
    this.#parsed = new Promise<void>((resolve, reject) => {
      this.#parser.on("end", () => resolve());
      this.#parser.on("error", reject);
    });
    this.#failed = new Promise<never>((_resolve, reject) => (this.#rejectFailed = reject));
    // Both are awaited later; these handlers only keep an early rejection from counting as unhandled.
    this.#parsed.catch(() => undefined);
    this.#failed.catch(() => undefined);

    this.#parser.on("entry", (entry: ReadEntry) => {
      this.#entryWork = this.#entryWork
        .then(() => this.#writeEntry(entry))
        .catch((error: unknown) => {
          this.#fail(toArchiveError(error, targetDir), entry);
        });
    });
    this.#parser.on("ignoredEntry", (entry: ReadEntry) =>
      this.#fail(unsafe(entry.path, `entry type ${entry.type} is not allowed`), entry),
    );
  }

  /** Feeds the uncompressed tar stream to the parser and waits until every file is written. */
  async consume(source: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of source) {
      if (this.failure !== undefined) throw this.failure;
      this.#count(chunk);
      if (!this.#parser.write(chunk))
        await Promise.race([once(this.#parser, "drain"), this.#failed]);
    }
    if (this.#head.length < SNIFF_BYTES) this.#checkHead(true);
    this.#parser.end();
    await Promise.race([this.#parsed, this.#failed]);
    await this.#entryWork;
    if (this.failure !== undefined) throw this.failure;
  }

  summary(): ExtractSummary {
    if (this.#files === 0) throw noFiles();
    return { files: this.#files, bytes: this.#fileBytes };
  }

  #count(chunk: Buffer): void {
    this.#streamBytes += chunk.length;
    if (this.#streamBytes > this.#limits.maxBytes) {
      throw this.#fail(tooLarge(`it expands to more than ${this.#limits.maxBytes} bytes`));
    }
    if (this.#head.length < SNIFF_BYTES) {
      this.#head = Buffer.concat([this.#head, chunk.subarray(0, SNIFF_BYTES - this.#head.length)]);
      this.#checkHead(false);
    }
  }

  /**
   * Checks the first block of the tar stream. A zero block there is the end-of-archive marker
   * of an archive without members, which the tar parser would call an unrecognized format.
   * With `checkMagic`, any other first block must be a tar header, which rejects compressed
   * data that is not a tar archive.
   */
  #checkHead(atEnd: boolean): void {
    if (this.#head.length < SNIFF_BYTES && !atEnd) return;
    if (this.#head.length === SNIFF_BYTES && this.#head.every((byte) => byte === 0))
      throw this.#fail(noFiles());
    if (this.#checkMagic && !hasUstarMagic(this.#head)) {
      throw this.#fail(
        new HttpError(
          ERRORS.registryArchiveInvalid,
          "the gzip data does not contain a tar archive",
          { param: "file" },
        ),
      );
    }
  }

  async #writeEntry(entry: ReadEntry): Promise<void> {
    if (this.failure !== undefined) {
      entry.resume();
      return;
    }
    this.#entries++;
    if (this.#entries > this.#limits.maxEntries)
      throw tooLarge(`it has more than ${this.#limits.maxEntries} entries`);

    const action = classifyEntry(entry.type, entry.path);
    if (action.kind === "skip") {
      entry.resume();
      return;
    }
    const target = join(this.#targetDir, ...action.path.split("/"));
    if (action.kind === "directory") {
      await mkdir(target, { recursive: true, mode: 0o755 });
      entry.resume();
      return;
    }

    if (this.#fileBytes + entry.size > this.#limits.maxBytes) {
      throw tooLarge(
        `entry ${JSON.stringify(action.path)} declares ${entry.size} bytes, past the limit of ${this.#limits.maxBytes}`,
      );
    }
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    this.#fileBytes += await writeEntryBody(entry, target);
    this.#files++;
  }

  /** Records the first failure, stops the parser, and returns the failure for throwing. */
  #fail(error: HttpError, entry?: ReadEntry): HttpError {
    if (this.failure === undefined) {
      this.failure = error;
      this.#rejectFailed(error);
      this.#parser.abort(error);
    }
    entry?.resume();
    return this.failure;
  }
}

/** Streams one entry's body into a new file; resolves with the bytes written once the file is closed. */
function writeEntryBody(entry: ReadEntry, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let written = 0;
    const output = createWriteStream(target, { flags: "wx", mode: 0o644 });
    output.once("error", (error) => {
      entry.resume();
      reject(error);
    });
    output.once("close", () => resolve(written));
    entry.on("data", (chunk: Buffer) => {
      written += chunk.length;
      if (!output.write(chunk)) {
        entry.pause();
        output.once("drain", () => entry.resume());
      }
    });
    entry.once("end", () => output.end());
    entry.once("error", reject);
  });
}

function noFiles(): HttpError {
  return new HttpError(
    ERRORS.registryArchiveInvalid,
    "the archive contains no files; pack the model directory's contents, e.g. tar -czf model.tgz -C ./my-model .",
    { param: "file" },
  );
}

function tooLarge(detail: string): HttpError {
  return new HttpError(
    ERRORS.registryArchiveTooLarge,
    `the archive was rejected: ${detail}; raise CODEC_UPLOAD_MAX_BYTES if this is expected`,
    {
      param: "file",
    },
  );
}

/**
 * Maps errors to catalogue errors: tar parser and zlib errors mean a corrupt or truncated
 * archive, a path clash means conflicting entries, a full disk is a 507, and any other file
 * system error is an internal error.
 */
function toArchiveError(error: unknown, targetDir: string): HttpError {
  if (HttpError.isHttpError(error)) return error;
  if (isOutOfSpace(error)) return storageError(error, targetDir);

  const code = (error as NodeJS.ErrnoException).code ?? "";
  const reason = error instanceof Error ? error.message : String(error);
  if ((error as { tarCode?: unknown }).tarCode !== undefined || code.startsWith("Z_")) {
    return new HttpError(
      ERRORS.registryArchiveInvalid,
      `the archive is corrupt or truncated: ${reason}`,
      { param: "file", cause: error },
    );
  }
  if (code === "EEXIST" || code === "ENOTDIR" || code === "EISDIR") {
    return new HttpError(
      ERRORS.registryArchiveInvalid,
      "the archive contains the same path twice, or a path that is both a file and a directory",
      {
        param: "file",
        cause: error,
      },
    );
  }
  return new HttpError(
    ERRORS.internal,
    `extracting the archive into ${targetDir} failed: ${reason}`,
    { cause: error },
  );
}
