import type { Dirent } from "node:fs";
import { lstat, readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";

import { METADATA_FILE } from "./model-metadata.js";

/** The kinds of weights and companion files a model directory contains. */
export interface ModelFormat {
  /** `.gguf` files, as paths relative to the model directory, sorted. */
  gguf_files: string[];
  /** True when any `.safetensors` file is present. */
  safetensors: boolean;
  /** True when `config.json` is at the top level (Hugging Face checkpoints need it). */
  config_json: boolean;
  /** True when `tokenizer.json` or `tokenizer.model` is at the top level. */
  tokenizer: boolean;
}

export interface ModelContents {
  /** Sum of the sizes of the regular files, symlinked files counted at their target's size. */
  sizeBytes: number;
  format: ModelFormat;
}

/**
 * Walks a model directory without following symlinked directories, so a link loop cannot
 * hang the listing, and reports its size and format. The provenance file is not counted.
 */
export async function inspectModelDir(dir: string): Promise<ModelContents> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const format: ModelFormat = {
    gguf_files: [],
    safetensors: false,
    config_json: false,
    tokenizer: false,
  };
  let sizeBytes = 0;

  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name);
    const relativePath = relative(dir, path).split(sep).join("/");
    if (relativePath === METADATA_FILE) continue;

    const size = await fileSize(entry, path);
    if (size === undefined) continue;
    sizeBytes += size;
    classifyFile(relativePath, format);
  }

  format.gguf_files.sort();
  return { sizeBytes, format };
}

/** Returns the size of a regular file or of a symlink's target file; `undefined` for anything else. */
async function fileSize(entry: Dirent, path: string): Promise<number | undefined> {
  if (entry.isFile()) return (await lstat(path)).size;
  if (!entry.isSymbolicLink()) return undefined;

  const target = await stat(path).catch(() => undefined);
  return target?.isFile() === true ? target.size : undefined;
}

function classifyFile(relativePath: string, format: ModelFormat): void {
  const lower = relativePath.toLowerCase();
  if (lower.endsWith(".gguf")) format.gguf_files.push(relativePath);
  if (lower.endsWith(".safetensors")) format.safetensors = true;
  if (relativePath === "config.json") format.config_json = true;
  if (relativePath === "tokenizer.json" || relativePath === "tokenizer.model")
    format.tokenizer = true;
}
