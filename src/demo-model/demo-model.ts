/**
 * The demo model: a small llama-architecture GGUF with seeded random weights and the real
 * Qwen3 byte-level BPE tokenizer. llama.cpp loads and runs it like any other model, so
 * tokenization, sampling and streaming are real, but the generated text is gibberish.
 */
import { randomUUID } from "node:crypto";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";

import { demoModelFileName, resolveDemoModelOptions } from "./demo-model-options.js";
import type { DemoModelOptions } from "./demo-model-options.js";
import type { GgufFileContents, GgufMetadataEntry } from "./gguf-format.js";
import { GGUF_DEFAULT_ALIGNMENT } from "./gguf-format.js";
import { writeGgufFile } from "./gguf-writer.js";
import { fileTypeFor, llamaArchitectureMetadata, llamaTensors } from "./llama-tensors.js";
import { loadQwenTokenizer, qwenTokenizerMetadata } from "./qwen-tokenizer.js";

export { DEFAULT_DEMO_MODEL_OPTIONS, demoModelFileName } from "./demo-model-options.js";
export type { DemoModelOptions } from "./demo-model-options.js";

/**
 * Writes a demo model to `path`, creating missing parent directories. Unset options take their
 * defaults from DEFAULT_DEMO_MODEL_OPTIONS. The same options always produce byte-identical files.
 *
 * The file is written under a unique temporary name in the same directory and then renamed,
 * so `path` never contains a partial file, and a concurrent writer of the same options only
 * replaces the file with identical bytes. Throws a RangeError naming the option when an
 * option is invalid.
 */
export async function writeDemoModel(
  path: string,
  options: Partial<DemoModelOptions> = {},
): Promise<void> {
  const resolved = resolveDemoModelOptions(options);
  const contents = await buildDemoModelContents(
    resolved,
    demoModelFileName(resolved).replace(/\.gguf$/, ""),
  );

  await mkdir(dirname(path), { recursive: true });
  const temporaryPath = `${path}.${process.pid}-${randomUUID()}.tmp`;
  try {
    await writeGgufFile(temporaryPath, contents);
    await rename(temporaryPath, path);
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw error;
  }
}

/**
 * Returns the path of the demo model for these options inside `directory`, generating the file
 * only when it does not exist yet. Concurrent calls, also from other processes, are safe: each
 * writer renames a complete file with the same bytes into place.
 */
export async function ensureDemoModel(
  directory: string,
  options: Partial<DemoModelOptions> = {},
): Promise<string> {
  const resolved = resolveDemoModelOptions(options);
  const path = join(directory, demoModelFileName(resolved));
  if (await isFile(path)) {
    return path;
  }

  await writeDemoModel(path, resolved);
  return path;
}

/**
 * Returns the metadata and tensors of the demo model. Tensor values are generated later, while the
 * file is written.
 */
async function buildDemoModelContents(
  options: DemoModelOptions,
  name: string,
): Promise<GgufFileContents> {
  const tokenizer = await loadQwenTokenizer();
  const vocabularySize = tokenizer.tokens.length;

  const metadata: GgufMetadataEntry[] = [
    { key: "general.architecture", value: { type: "string", value: "llama" } },
    { key: "general.name", value: { type: "string", value: name } },
    { key: "general.alignment", value: { type: "uint32", value: GGUF_DEFAULT_ALIGNMENT } },
    { key: "general.file_type", value: { type: "uint32", value: fileTypeFor(options.dtype) } },
    ...llamaArchitectureMetadata(options, vocabularySize),
    ...qwenTokenizerMetadata(tokenizer),
  ];
  return { metadata, tensors: llamaTensors(options, vocabularySize) };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return false;
    }
    throw error;
  }
}
