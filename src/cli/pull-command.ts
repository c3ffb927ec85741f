import { Command, Option } from "commander";
import { createParser } from "eventsource-parser";

import {
  AdminRequestError,
  adminFetch,
  adminHeaders,
  adminTokenOption,
  describeFailure,
  ServerUnreachableError,
  urlOption,
  type AdminClientFlags,
} from "./admin-request.js";
import { formatBytes, ProgressReporter, type ProgressView } from "./progress-line.js";

interface PullFlags extends AdminClientFlags {
  revision?: string;
  include: string[];
  token?: string;
}

/** The fields of a job snapshot the command reads. */
interface JobView {
  id: string;
  state: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  progress: {
    bytes_done: number;
    bytes_total: number;
    rate_bytes_per_s: number;
    eta_s: number | null;
    files: Array<{ path: string; state: string }>;
  };
  result: {
    name?: string;
    path?: string;
    commit?: string;
    size_bytes?: number;
    up_to_date?: boolean;
    removed_files?: string[];
  } | null;
  error: { code: string; message: string } | null;
}

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const POLL_INTERVAL_MS = 500;

/** `codec-serve pull`: starts a background pull on the server and shows its progress until it ends. */
export function pullCommand(): Command {
  return new Command("pull")
    .description(
      "Download a model from the Hugging Face Hub into the server's model registry, with progress",
    )
    .argument("<repo>", "Hub repo id, e.g. Qwen/Qwen2.5-0.5B-Instruct-GGUF")
    .option(
      "--revision <revision>",
      "branch, tag or commit (default: the repo's default branch); the model is named <owner>--<repo>@<revision>",
    )
    .option(
      "--include <glob>",
      "download only files matching this glob, e.g. '*Q4_K_M.gguf'; repeatable (config and tokenizer files come too)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .addOption(
      new Option(
        "--token <token>",
        "Hugging Face token for gated or private repos (default: the server's HF_TOKEN)",
      ),
    )
    .addOption(urlOption())
    .addOption(adminTokenOption())
    .action(async (repo: string, flags: PullFlags) => {
      await pullWithProgress(repo, flags, new ProgressReporter(process.stderr));
    });
}

/**
 * Starts the pull as a background job, follows it on `GET /admin/events` (or by polling the
 * job when the stream is unavailable), and resolves when it succeeds. Throws
 * AdminRequestError when it fails or is cancelled. Ctrl-C cancels the job; its partial files
 * stay on the server, so the same pull resumes later.
 */
export async function pullWithProgress(
  repo: string,
  flags: PullFlags,
  reporter: ProgressReporter,
): Promise<void> {
  try {
    await pullAndFollow(repo, flags, reporter);
  } catch (error) {
    reporter.abort();
    if (error instanceof ServerUnreachableError)
      throw new AdminRequestError(`pull of ${repo} failed: ${error.message}`);
    throw error;
  }
}

async function pullAndFollow(
  repo: string,
  flags: PullFlags,
  reporter: ProgressReporter,
): Promise<void> {
  const body = {
    repo_id: repo,
    ...(flags.revision === undefined ? {} : { revision: flags.revision }),
    ...(flags.include.length === 0 ? {} : { include: flags.include }),
    ...(flags.token === undefined ? {} : { token: flags.token }),
    background: true,
  };
  const response = await adminFetch(flags, "/admin/models/pull", {
    method: "POST",
    headers: adminHeaders(flags, { "content-type": "application/json" }),
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 202)
    throw new AdminRequestError(
      `pull of ${repo} failed: ${describeFailure(response.status, text)}`,
    );

  const accepted = JSON.parse(text) as { job_id: string; name: string };
  process.stderr.write(`pulling ${repo} into model '${accepted.name}' (job ${accepted.job_id})\n`);
  const cancelOnInterrupt = () => void cancelAndExit(flags, accepted.job_id);
  process.once("SIGINT", cancelOnInterrupt);

  let job: JobView;
  try {
    job = await followJob(flags, accepted.job_id, (update) =>
      reporter.update(progressView(update)),
    );
  } finally {
    process.off("SIGINT", cancelOnInterrupt);
  }
  reporter.finish(progressView(job));

  if (job.state === "succeeded") {
    const result = job.result ?? {};
    const note = result.up_to_date === true ? " (already up to date)" : "";
    process.stdout.write(
      `pulled ${repo} as '${result.name}' to ${result.path}, ${formatBytes(result.size_bytes ?? 0)}, commit ${result.commit}${note}\n`,
    );
    const removed = result.removed_files ?? [];
    if (removed.length > 0) {
      process.stderr.write(
        `removed ${removed.length} files that ${repo} no longer has at commit ${result.commit}: ${removed.join(", ")}\n`,
      );
    }
    return;
  }
  if (job.state === "cancelled") {
    throw new AdminRequestError(
      `pull of ${repo} was cancelled (job ${job.id}); run the same pull again to resume it`,
    );
  }
  throw new AdminRequestError(
    `pull of ${repo} failed: ${job.error?.message ?? "unknown error"} (${job.error?.code ?? "no code"})`,
  );
}

/** Follows a job until it finishes, calling `onUpdate` with each snapshot. */
async function followJob(
  flags: PullFlags,
  id: string,
  onUpdate: (job: JobView) => void,
): Promise<JobView> {
  const fromStream = await followEvents(flags, id, onUpdate).catch(() => undefined);
  if (fromStream !== undefined) return fromStream;

  // The event stream was unavailable or ended early: poll the job instead.
  for (;;) {
    const job = await fetchJob(flags, id);
    onUpdate(job);
    if (FINISHED.has(job.state)) return job;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/** Reads the job's events until a final one arrives; `undefined` when the stream ends first. */
async function followEvents(
  flags: PullFlags,
  id: string,
  onUpdate: (job: JobView) => void,
): Promise<JobView | undefined> {
  const controller = new AbortController();
  const response = await adminFetch(flags, `/admin/events?job_id=${encodeURIComponent(id)}`, {
    headers: adminHeaders(flags, { accept: "text/event-stream" }),
    signal: controller.signal,
  });
  if (!response.ok || response.body === null) return undefined;

  // The job may have finished before the stream opened, so read it once now.
  const current = await fetchJob(flags, id);
  onUpdate(current);
  if (FINISHED.has(current.state)) {
    controller.abort();
    return current;
  }

  let final: JobView | undefined;
  const parser = createParser({
    onEvent(message) {
      const job = (JSON.parse(message.data) as { data: JobView }).data;
      onUpdate(job);
      if (FINISHED.has(job.state)) final = job;
    },
  });
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  try {
    while (final === undefined) {
      const read = await reader.read();
      if (read.done) break;
      parser.feed(decoder.decode(read.value, { stream: true }));
    }
  } finally {
    controller.abort();
  }
  return final;
}

async function fetchJob(flags: PullFlags, id: string): Promise<JobView> {
  const response = await adminFetch(flags, `/admin/jobs/${encodeURIComponent(id)}`, {
    headers: adminHeaders(flags),
  });
  const text = await response.text();
  if (!response.ok)
    throw new AdminRequestError(
      `reading job ${id} failed: ${describeFailure(response.status, text)}`,
    );
  return JSON.parse(text) as JobView;
}

async function cancelAndExit(flags: PullFlags, id: string): Promise<never> {
  process.stderr.write(
    `\ncancelling job ${id}; downloaded bytes stay on the server for the next pull\n`,
  );
  await adminFetch(flags, `/admin/jobs/${encodeURIComponent(id)}`, {
    method: "DELETE",
    headers: adminHeaders(flags),
  }).catch(() => undefined);
  process.exit(130);
}

function progressView(job: JobView): ProgressView {
  const active = job.progress.files.find((file) => file.state === "downloading");
  return {
    done: job.progress.bytes_done,
    total: job.progress.bytes_total,
    rateBytesPerS: job.progress.rate_bytes_per_s,
    etaS: job.progress.eta_s,
    ...(active === undefined ? { label: job.state } : { label: active.path }),
  };
}
