import { randomBytes } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { createGzip } from "node:zlib";

import { Command } from "commander";
import * as tar from "tar";
import { request } from "undici";

import {
  AdminRequestError,
  adminHeaders,
  adminTokenOption,
  adminUrl,
  describeFailure,
  urlOption,
  type AdminClientFlags,
} from "./admin-request.js";
import { formatBytes, ProgressReporter } from "./progress-line.js";

interface UploadFlags extends AdminClientFlags {
  name: string;
}

/** `codec-serve upload`: packs a model directory as tar.gz on the fly and uploads it to the registry. */
export function uploadCommand(): Command {
  return new Command("upload")
    .description(
      "Upload a local model directory to the server's model registry (packed as tar.gz while it is sent)",
    )
    .argument("<dir>", "model directory, e.g. one holding a .gguf file")
    .requiredOption("--name <name>", "registry name of the new model")
    .addOption(urlOption())
    .addOption(adminTokenOption())
    .action(async (dir: string, flags: UploadFlags) => {
      await uploadDirectory(dir, flags, new ProgressReporter(process.stderr));
    });
}

/**
 * Uploads `dir` as model `flags.name`. The directory is packed with the `tar` package
 * (symlinks are followed, so a Hugging Face cache snapshot uploads its files), gzipped and
 * sent as the multipart field `file` in one stream, so nothing is staged on the local disk.
 * Progress counts the bytes packed against the total size of the files.
 */
export async function uploadDirectory(
  dir: string,
  flags: UploadFlags,
  reporter: ProgressReporter,
): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info?.isDirectory() !== true) throw new AdminRequestError(`${dir} is not a directory`);
  await requireNewName(flags);

  const totalBytes = await directorySize(dir);
  const startedAt = performance.now();
  let packedBytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      packedBytes += chunk.length;
      const elapsedS = (performance.now() - startedAt) / 1000;
      const rate = elapsedS > 0 ? packedBytes / elapsedS : 0;
      const done = Math.min(packedBytes, totalBytes);
      reporter.update({
        done,
        total: totalBytes,
        rateBytesPerS: rate,
        etaS: rate > 0 ? (totalBytes - done) / rate : null,
        label: flags.name,
      });
      callback(null, chunk);
    },
  });

  const packed = Readable.from(tar.c({ cwd: dir, follow: true, portable: true }, ["."]));
  const gzipped = packed.pipe(meter).pipe(createGzip());
  packed.once("error", (error) => gzipped.destroy(error));
  meter.once("error", (error) => gzipped.destroy(error));

  const boundary = `codec-serve-${randomBytes(12).toString("hex")}`;
  const response = await request(
    adminUrl(flags, `/admin/models/upload?name=${encodeURIComponent(flags.name)}`),
    {
      method: "POST",
      headers: adminHeaders(flags, { "content-type": `multipart/form-data; boundary=${boundary}` }),
      body: Readable.from(multipartBody(boundary, gzipped)),
    },
  );
  const text = await response.body.text();
  reporter.finish({
    done: totalBytes,
    total: totalBytes,
    rateBytesPerS: 0,
    etaS: 0,
    label: flags.name,
  });
  if (response.statusCode !== 200) {
    throw new AdminRequestError(
      `upload of ${dir} failed: ${describeFailure(response.statusCode, text)}`,
    );
  }

  const result = JSON.parse(text) as {
    name: string;
    path: string;
    files: number;
    size_bytes: number;
  };
  process.stdout.write(
    `uploaded ${dir} as '${result.name}' to ${result.path}, ${result.files} files, ${formatBytes(result.size_bytes)}\n`,
  );
}

/**
 * Frames `content` as a multipart/form-data body with the single file field `file`
 * (RFC 7578). Written by hand because the Fetch API's FormData takes only a Blob, which
 * must exist before sending, while this archive is produced as it is sent.
 */
async function* multipartBody(
  boundary: string,
  content: AsyncIterable<Buffer>,
): AsyncGenerator<Buffer> {
  yield Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="model.tar.gz"\r\nContent-Type: application/gzip\r\n\r\n`,
  );
  for await (const chunk of content) yield chunk;
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

/** Fails early, before packing anything, when the name is invalid or taken. */
async function requireNewName(flags: UploadFlags): Promise<void> {
  const response = await fetch(adminUrl(flags, `/admin/models/${encodeURIComponent(flags.name)}`), {
    headers: adminHeaders(flags),
  });
  if (response.status === 404) {
    await response.body?.cancel();
    return;
  }
  const text = await response.text();
  if (response.ok)
    throw new AdminRequestError(
      `model '${flags.name}' already exists; delete it first or choose another --name`,
    );
  throw new AdminRequestError(
    `upload of '${flags.name}' failed: ${describeFailure(response.status, text)}`,
  );
}

/** Total bytes of the files under `dir`, following symlinks as the packer does. */
async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory() === true) total += await directorySize(path);
    else if (info?.isFile() === true) total += info.size;
  }
  return total;
}
