import { randomBytes } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { createGzip } from "node:zlib";

import { Command } from "commander";
import * as tar from "tar";

import { modelNameProblem } from "../supervisor/registry/model-name.js";
import {
  AdminRequestError,
  adminFetch,
  adminHeaders,
  adminTokenOption,
  adminUrl,
  connectionFailure,
  describeFailure,
  urlOption,
  type AdminClientFlags,
} from "./admin-request.js";
import { formatBytes, ProgressReporter } from "./progress-line.js";

interface UploadFlags extends AdminClientFlags {
  name: string;
}

/** The server's upload limits, from `GET /admin/models`. */
interface UploadLimits {
  max_bytes: number;
  max_entries: number;
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
 * Uploads `dir` as model `flags.name`. Before packing anything it checks the name with the
 * server's rules, reads the server's model list and upload limits to check that the name is
 * free, and compares the limits with the directory's size. The directory is packed with the `tar` package
 * (symlinks are followed, so a Hugging Face cache snapshot uploads its files), gzipped and
 * sent as the multipart field `file` in one stream, so nothing is staged on the local disk.
 * Progress counts the bytes packed against the total size of the files.
 *
 * Every failure is an AdminRequestError starting with "upload of DIR as 'NAME' failed:",
 * and the progress line is cleared before it, so no progress output follows an error.
 */
export async function uploadDirectory(
  dir: string,
  flags: UploadFlags,
  reporter: ProgressReporter,
): Promise<void> {
  try {
    await checkAndUpload(dir, flags, reporter);
  } catch (error) {
    reporter.abort();
    const reason = error instanceof Error ? error.message : String(error);
    throw new AdminRequestError(`upload of ${dir} as '${flags.name}' failed: ${reason}`);
  }
}

async function checkAndUpload(
  dir: string,
  flags: UploadFlags,
  reporter: ProgressReporter,
): Promise<void> {
  const problem = modelNameProblem(flags.name);
  if (problem !== undefined)
    throw new Error(`invalid model name ${JSON.stringify(flags.name)}: ${problem}`);
  const info = await stat(dir).catch(() => undefined);
  if (info?.isDirectory() !== true) throw new Error(`${dir} is not a directory`);

  const limits = await requireNewName(flags);
  const contents = await measureDirectory(dir);
  if (limits !== undefined) requireWithinLimits(contents, limits);

  const startedAt = performance.now();
  let packedBytes = 0;
  let sentBytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      packedBytes += chunk.length;
      if (limits !== undefined && packedBytes > limits.max_bytes) {
        callback(packedPastLimit(limits, "uncompressed"));
        return;
      }
      const elapsedS = (performance.now() - startedAt) / 1000;
      const rate = elapsedS > 0 ? packedBytes / elapsedS : 0;
      const done = Math.min(packedBytes, contents.bytes);
      reporter.update({
        done,
        total: contents.bytes,
        rateBytesPerS: rate,
        etaS: rate > 0 ? (contents.bytes - done) / rate : null,
        label: flags.name,
      });
      callback(null, chunk);
    },
  });
  const sentMeter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sentBytes += chunk.length;
      if (limits !== undefined && sentBytes > limits.max_bytes)
        callback(packedPastLimit(limits, "compressed"));
      else callback(null, chunk);
    },
  });

  const packed = Readable.from(tar.c({ cwd: dir, follow: true, portable: true }, ["."]));
  const gzipped = packed.pipe(meter).pipe(createGzip()).pipe(sentMeter);
  for (const stage of [packed, meter])
    stage.once("error", (error: Error) => sentMeter.destroy(error));

  const boundary = `codec-serve-${randomBytes(12).toString("hex")}`;
  const path = `/admin/models/upload?name=${encodeURIComponent(flags.name)}`;
  const response = await postStream(
    new URL(adminUrl(flags, path)),
    adminHeaders(flags, { "content-type": `multipart/form-data; boundary=${boundary}` }),
    Readable.from(multipartBody(boundary, gzipped)),
  ).catch((error: unknown) => {
    throw uploadStreamFailure(flags, error);
  });
  if (response.status !== 200) throw new Error(describeFailure(response.status, response.text));

  reporter.finish({
    done: contents.bytes,
    total: contents.bytes,
    rateBytesPerS: packedBytes / Math.max(0.001, (performance.now() - startedAt) / 1000),
    etaS: 0,
    label: flags.name,
  });
  const result = JSON.parse(response.text) as {
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

/**
 * Fails early, before packing anything, when the name is taken, and returns the server's
 * upload limits (undefined from a server that does not report them).
 */
async function requireNewName(flags: UploadFlags): Promise<UploadLimits | undefined> {
  const response = await adminFetch(flags, "/admin/models", { headers: adminHeaders(flags) });
  const text = await response.text();
  if (!response.ok) throw new Error(describeFailure(response.status, text));

  const listing = JSON.parse(text) as {
    models?: Array<{ name: string }>;
    upload_limits?: UploadLimits;
  };
  if ((listing.models ?? []).some((model) => model.name === flags.name))
    throw new Error(
      `model '${flags.name}' already exists; delete it first or choose another --name`,
    );
  return listing.upload_limits;
}

/** Total bytes of the files under `dir` and the number of tar entries they make, following symlinks as the packer does. */
async function measureDirectory(dir: string): Promise<{ bytes: number; entries: number }> {
  const contents = { bytes: 0, entries: 1 };
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory() === true) {
      const inner = await measureDirectory(path);
      contents.bytes += inner.bytes;
      contents.entries += inner.entries;
    } else if (info?.isFile() === true) {
      contents.bytes += info.size;
      contents.entries += 1;
    }
  }
  return contents;
}

function requireWithinLimits(
  contents: { bytes: number; entries: number },
  limits: UploadLimits,
): void {
  if (contents.bytes > limits.max_bytes) {
    throw new Error(
      `the directory contains ${contents.bytes} bytes (${formatBytes(contents.bytes)}) of files, more than the server's upload limit of ${limits.max_bytes} bytes (${formatBytes(limits.max_bytes)}); the limit is CODEC_UPLOAD_MAX_BYTES on the server`,
    );
  }
  if (contents.entries > limits.max_entries) {
    throw new Error(
      `the directory contains ${contents.entries} files and directories, more than the server's limit of ${limits.max_entries} archive entries`,
    );
  }
}

/** Raised inside the packing pipeline when the archive outgrows the server's limit. */
class PackedPastLimitError extends Error {}

function packedPastLimit(limits: UploadLimits, kind: string): PackedPastLimitError {
  return new PackedPastLimitError(
    `the ${kind} archive grew past the server's upload limit of ${limits.max_bytes} bytes (${formatBytes(limits.max_bytes)}); the limit is CODEC_UPLOAD_MAX_BYTES on the server`,
  );
}

/** Explains an upload request that ended without a response. */
function uploadStreamFailure(flags: UploadFlags, error: unknown): Error {
  if (error instanceof PackedPastLimitError) return error;
  const code = String((error as { code?: unknown }).code ?? "");
  if (code === "EPIPE" || code === "ECONNRESET") {
    return new Error(
      `the server closed the connection while the archive was being sent (${code}); see the server log for the reason`,
    );
  }
  if ((error as { syscall?: unknown }).syscall === "connect")
    return connectionFailure(flags, error);
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * POSTs a streamed body with `node:http` and returns the response. Unlike fetch, it keeps a
 * response that the server sends before the body is complete (a rejection such as 409 or
 * 507): sending stops at once and the response is returned, and the broken pipe that follows
 * is ignored.
 */
function postStream(
  url: URL,
  headers: Record<string, string>,
  body: Readable,
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let responded = false;
    const request = send(url, { method: "POST", headers });
    request.on("response", (response) => {
      responded = true;
      body.unpipe(request);
      body.destroy();
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      response.on("error", reject);
    });
    request.on("error", (error) => {
      if (!responded) reject(error);
    });
    body.once("error", (error) => {
      if (!responded) {
        reject(error);
        request.destroy();
      }
    });
    body.pipe(request);
  });
}
