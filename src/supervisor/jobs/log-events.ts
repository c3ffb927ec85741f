import type { EventLogger } from "../../http/logger.js";
import type { JobSnapshot } from "./job-types.js";

/** Named log events of the job store. A failed job is logged with its cause. */

function jobFields(job: JobSnapshot) {
  return { jobId: job.id, kind: job.kind, target: job.target };
}

export function jobStarted(log: EventLogger, job: JobSnapshot): void {
  log.info(
    { event: "job.started", ...jobFields(job) },
    `${job.kind} job started for ${job.target}`,
  );
}

export function jobSucceeded(log: EventLogger, job: JobSnapshot, durationMs: number): void {
  log.info(
    { event: "job.succeeded", ...jobFields(job), durationMs, bytes: job.progress.bytes_done },
    `${job.kind} job for ${job.target} succeeded`,
  );
}

export function jobFailed(log: EventLogger, job: JobSnapshot, error: unknown): void {
  log.error(
    { event: "job.failed", ...jobFields(job), code: job.error?.code, err: error },
    `${job.kind} job for ${job.target} failed: ${job.error?.message ?? "unknown error"}`,
  );
}

export function jobCancelled(log: EventLogger, job: JobSnapshot, reason: string): void {
  log.info(
    { event: "job.cancelled", ...jobFields(job), reason },
    `${job.kind} job for ${job.target} cancelled: ${reason}`,
  );
}
