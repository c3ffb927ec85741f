import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";

/**
 * A file being downloaded, with a running SHA-256 of the bytes written so far. The running
 * hash may not cover exactly the bytes on disk, after a failed write or in a new process
 * resuming an old partial file. The bytes on disk are then hashed again before more are
 * appended, so the final digest always describes the whole file.
 */
export class PartialFile {
  readonly path: string;
  readonly #hashing: boolean;
  #hash: Hash | undefined;
  #hashedBytes = 0;

  /** `hashing` is false for files without a published SHA-256, which are checked by size only. */
  constructor(path: string, hashing: boolean) {
    this.path = path;
    this.#hashing = hashing;
  }

  /** Bytes on disk; 0 when the file does not exist. */
  async size(): Promise<number> {
    const info = await stat(this.path).catch(() => undefined);
    return info?.size ?? 0;
  }

  /** Deletes the file and clears its hash. */
  async reset(): Promise<void> {
    await rm(this.path, { force: true });
    this.#hash = undefined;
    this.#hashedBytes = 0;
  }

  /** Makes the running hash cover exactly the first `offset` bytes on disk. */
  async prepareAppend(offset: number): Promise<void> {
    if (!this.#hashing) return;
    if (this.#hash !== undefined && this.#hashedBytes === offset) return;

    const hash = createHash("sha256");
    if (offset > 0) {
      for await (const chunk of createReadStream(this.path, { start: 0, end: offset - 1 }))
        hash.update(chunk as Buffer);
    }
    this.#hash = hash;
    this.#hashedBytes = offset;
  }

  /** Adds bytes that are about to be appended to the file. */
  update(chunk: Buffer): void {
    if (this.#hash === undefined) return;
    this.#hash.update(chunk);
    this.#hashedBytes += chunk.length;
  }

  /** Returns the hex SHA-256 of the whole file of `size` bytes, hashing the file again if needed. */
  async sha256(size: number): Promise<string> {
    if (!this.#hashing) throw new Error("this partial file is checked by size only");
    await this.prepareAppend(size);
    const digest = this.#hash!.digest("hex");
    this.#hash = undefined;
    this.#hashedBytes = 0;
    return digest;
  }
}
