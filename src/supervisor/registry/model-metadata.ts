import { join } from "node:path";

import { z } from "zod";

import { readJsonFile, writeJsonAtomic } from "./json-file.js";

/**
 * The provenance file inside each model directory. Its leading dot keeps it out of engine
 * file scans; listing reads it to report where the model came from.
 */
export const METADATA_FILE = ".codec-model.json";

const hubFileSchema = z.object({
  path: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().optional(),
  blob_id: z.string().optional(),
});

const hubSourceSchema = z.object({
  kind: z.literal("hub"),
  endpoint: z.string(),
  repo_id: z.string(),
  /** The revision the pull asked for (branch, tag or commit); null for the default branch. */
  revision: z.string().nullable(),
  /** The commit the revision resolved to when the files were downloaded. */
  commit: z.string(),
  include: z.array(z.string()).nullable(),
  pulled_at: z.string(),
});

const uploadSourceSchema = z.object({
  kind: z.literal("upload"),
  uploaded_at: z.string(),
  archive_format: z.enum(["tar", "tar.gz"]),
  archive_bytes: z.number().int().nonnegative(),
});

const metadataSchema = z.object({
  version: z.literal(1),
  source: z.discriminatedUnion("kind", [hubSourceSchema, uploadSourceSchema]),
  /** For pulled models, every downloaded file with the checksum it was verified against. */
  files: z.array(hubFileSchema).optional(),
});

export type HubSource = z.infer<typeof hubSourceSchema>;
export type UploadSource = z.infer<typeof uploadSourceSchema>;
export type RecordedFile = z.infer<typeof hubFileSchema>;
export type ModelMetadata = z.infer<typeof metadataSchema>;

/** The origin of a model; `local` is a directory put into the models directory by hand. */
export type ModelSource = HubSource | UploadSource | { kind: "local" };

/** Writes the provenance file of the model directory `dir`, atomically. */
export async function writeModelMetadata(dir: string, metadata: ModelMetadata): Promise<void> {
  await writeJsonAtomic(join(dir, METADATA_FILE), metadata);
}

/**
 * Reads the provenance file of `dir`: `undefined` when there is none. A file that is not
 * valid JSON or does not match the schema throws, so the caller can log it.
 */
export async function readModelMetadata(dir: string): Promise<ModelMetadata | undefined> {
  const value = await readJsonFile(join(dir, METADATA_FILE));
  if (value === undefined) return undefined;
  return metadataSchema.parse(value);
}
