/**
 * Job states. A job is created `queued`, becomes `running` when a slot is free, and ends in
 * exactly one of `succeeded`, `failed` or `cancelled`.
 */
export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";

/** States a job never leaves. */
export const FINISHED_JOB_STATES: ReadonlySet<JobState> = new Set([
  "succeeded",
  "failed",
  "cancelled",
]);

/** The form of every job id: `job-` and 24 lowercase hex digits, as `newId("job")` makes them. */
export const JOB_ID_PATTERN = /^job-[0-9a-f]{24}$/;

/** Download state of one file of a job; `cancelled` is the file being downloaded when the job was cancelled. */
export type JobFileState = "pending" | "downloading" | "done" | "failed" | "cancelled";

/** Byte progress of one file. */
export interface JobFileProgress {
  path: string;
  bytes_done: number;
  bytes_total: number;
  state: JobFileState;
}

/** Byte progress of a whole job, with the transfer rate and the estimated time left. */
export interface JobProgress {
  bytes_done: number;
  bytes_total: number;
  files_done: number;
  files_total: number;
  /** Bytes per second over the last few seconds; 0 before any transfer. */
  rate_bytes_per_s: number;
  /** Seconds left at the current rate; null while the rate is unknown or zero. */
  eta_s: number | null;
  files: JobFileProgress[];
}

/** The failure of a job, in the error catalogue's terms. */
export interface JobError {
  code: string;
  message: string;
  /** The HTTP status of the response to a blocking request for this job. */
  status: number;
}

/** The JSON view of a job, as `GET /admin/jobs/{id}` returns it and the event stream sends it. */
export interface JobSnapshot {
  id: string;
  /** The job's kind of work, e.g. `pull`. */
  kind: string;
  state: JobState;
  /** The model name the job writes. */
  target: string;
  /** The request that started the job, without secrets. */
  params: Record<string, unknown>;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  progress: JobProgress;
  result: Record<string, unknown> | null;
  error: JobError | null;
}

/** Event types the job store publishes; every payload is the job's snapshot at that moment. */
export interface JobEventMap {
  "job.queued": JobSnapshot;
  "job.started": JobSnapshot;
  "job.progress": JobSnapshot;
  "job.succeeded": JobSnapshot;
  "job.failed": JobSnapshot;
  "job.cancelled": JobSnapshot;
}

export type JobEventType = keyof JobEventMap;
