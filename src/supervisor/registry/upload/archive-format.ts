import { open } from "node:fs/promises";

import { ERRORS, HttpError } from "../../../http/errors.js";

/** Archive formats an upload may use. */
export type ArchiveFormat = "tar" | "tar.gz";

/** Bytes needed to recognise any supported format: one tar header block. */
export const SNIFF_BYTES = 512;

/** Offset of the `magic` field in a ustar header; POSIX writes `ustar\0`, GNU tar `ustar  \0`. */
const USTAR_MAGIC_OFFSET = 257;

/** Formats recognised by their magic bytes but not accepted, so the error can name them. */
const UNSUPPORTED: ReadonlyArray<{ name: string; magic: number[] }> = [
  { name: "bzip2", magic: [0x42, 0x5a, 0x68] },
  { name: "xz", magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { name: "zstd", magic: [0x28, 0xb5, 0x2f, 0xfd] },
  { name: "zip", magic: [0x50, 0x4b, 0x03, 0x04] },
];

/** True when a 512-byte block carries the ustar magic of a tar header. */
export function hasUstarMagic(block: Uint8Array): boolean {
  if (block.length < USTAR_MAGIC_OFFSET + 5) return false;
  return (
    Buffer.from(block.subarray(USTAR_MAGIC_OFFSET, USTAR_MAGIC_OFFSET + 5)).toString("latin1") ===
    "ustar"
  );
}

/**
 * True when a block could start a tar archive: a header with the ustar magic, or a zero
 * block, which is how an archive without members begins (its end-of-archive marker).
 */
export function startsTarArchive(block: Uint8Array): boolean {
  if (hasUstarMagic(block)) return true;
  return block.length >= SNIFF_BYTES && block.subarray(0, SNIFF_BYTES).every((byte) => byte === 0);
}

/**
 * Detects the archive format from its first bytes, never from a file name. Gzip is known by
 * its magic `1f 8b`, and the tar inside is checked while extracting. Tar is known by the
 * ustar magic of its first header, or by the zero block of an empty archive. Anything else
 * is a 400 that names the format when it is a known one.
 */
export function detectArchiveFormat(head: Uint8Array): ArchiveFormat {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "tar.gz";
  if (startsTarArchive(head)) return "tar";

  const known = UNSUPPORTED.find((format) =>
    format.magic.every((byte, index) => head[index] === byte),
  );
  const detail =
    known === undefined
      ? "it is not a tar or gzip-compressed tar archive"
      : `${known.name} archives are not supported`;
  throw new HttpError(
    ERRORS.registryArchiveInvalid,
    `the uploaded file was rejected: ${detail}; upload a .tar or .tar.gz`,
    {
      param: "file",
    },
  );
}

/** Reads the first bytes of `path` and detects its archive format. */
export async function detectFileArchiveFormat(path: string): Promise<ArchiveFormat> {
  const handle = await open(path, "r");
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    return detectArchiveFormat(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
