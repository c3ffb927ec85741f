import { ERRORS, HttpError } from "../../http/errors.js";
import type { EventLogger } from "../../http/logger.js";
import { newId } from "../../http/request-id.js";
import {
  FINISHED_JOB_STATES,
  type JobError,
  type JobEventType,
  type JobSnapshot,
  type JobState,
} from "./job-types.js";
import { jobCancelled, jobFailed, jobStarted, jobSucceeded } from "./log-events.js";
import { TransferProgress } from "./transfer-progress.js";

/** The context passed to a job's body: its id, a cancel signal and the progress it updates. */
export interface JobContext {
  readonly id: string;
  /** Aborted when the job is cancelled; the body should stop and reject soon after. */
  readonly signal: AbortSignal;
  readonly progress: TransferProgress;
  /** Publishes a `job.progress` event, at most once per progress interval. */
  reportProgress(): void;
}

/** A job to run: its kind, the model it writes, the request that started it, and its body. */
export interface JobSpec {
  kind: string;
  target: string;
  /** Shown in the job snapshot; must not contain secrets. */
  params: Record<string, unknown>;
  run(context: JobContext): Promise<Record<string, unknown>>;
  /**
   * Starts the job at once, outside the concurrency limit. For short control operations,
   * such as a model load, that must not wait behind downloads.
   */
  unlimited?: boolean;
}

/** A created job: its current snapshot, and a promise of the final one. */
export interface JobHandle {
  readonly id: string;
  snapshot(): JobSnapshot;
  /** Resolves with the final snapshot when the job has finished; never rejects. */
  readonly finished: Promise<JobSnapshot>;
}

export interface JobStoreOptions {
  log: EventLogger;
  /** Receives each lifecycle and progress event, e.g. to put it on the supervisor's event bus. */
  publish: (type: JobEventType, job: JobSnapshot) => void;
  /** Jobs that run at the same time; later ones wait in `queued`. */
  concurrency?: number;
  /** Finished jobs kept for `GET /admin/jobs`; the oldest are dropped first. */
  retainFinished?: number;
  /** Minimum time between two `job.progress` events of one job. */
  progressIntervalMs?: number;
}

class Job implements JobHandle {
  readonly id = newId("job");
  readonly controller = new AbortController();
  readonly progress = new TransferProgress();
  readonly createdAt = new Date();
  state: JobState = "queued";
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  result: Record<string, unknown> | null = null;
  error: JobError | null = null;
  lastProgressAt = 0;
  cancelReason = "cancelled";
  readonly finished: Promise<JobSnapshot>;
  resolveFinished!: (snapshot: JobSnapshot) => void;

  constructor(readonly spec: JobSpec) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  snapshot(): JobSnapshot {
    return {
      id: this.id,
      kind: this.spec.kind,
      state: this.state,
      target: this.spec.target,
      params: this.spec.params,
      created_at: this.createdAt.toISOString(),
      started_at: this.startedAt?.toISOString() ?? null,
      finished_at: this.finishedAt?.toISOString() ?? null,
      progress: this.progress.snapshot(),
      result: this.result,
      error: this.error,
    };
  }
}

/**
 * Runs jobs in the background, at most `concurrency` at a time in creation order, and keeps
 * their state in memory. Jobs do not survive a restart; a pull resumes from its partial files
 * when it is started again.
 */
export class JobStore {
  readonly #jobs = new Map<string, Job>();
  readonly #queue: Job[] = [];
  readonly #options: Required<JobStoreOptions>;
  #running = 0;

  constructor(options: JobStoreOptions) {
    this.#options = { concurrency: 2, retainFinished: 100, progressIntervalMs: 250, ...options };
  }

  /** Creates a job in `queued` and starts it as soon as a slot is free (at once when `unlimited`). */
  create(spec: JobSpec): JobHandle {
    const job = new Job(spec);
    this.#jobs.set(job.id, job);
    this.#publish("job.queued", job);
    if (spec.unlimited === true) {
      void this.#run(job, false);
      return job;
    }
    this.#queue.push(job);
    this.#startQueued();
    return job;
  }

  get(id: string): JobHandle | undefined {
    return this.#jobs.get(id);
  }

  /** Snapshots of every kept job, newest first. */
  list(): JobSnapshot[] {
    return [...this.#jobs.values()].reverse().map((job) => job.snapshot());
  }

  /** Finds the queued or running job of `kind` that writes `target`, if there is one. */
  findActive(kind: string, target: string): JobHandle | undefined {
    for (const job of this.#jobs.values()) {
      if (
        job.spec.kind === kind &&
        job.spec.target === target &&
        !FINISHED_JOB_STATES.has(job.state)
      )
        return job;
    }
    return undefined;
  }

  /**
   * Cancels a queued or running job and resolves with its final snapshot once its body has
   * stopped. Cancelling a cancelled job returns it unchanged; a job that already succeeded or
   * failed raises a 409, and an unknown id a 404.
   */
  async cancel(id: string, reason = "cancelled by request"): Promise<JobSnapshot> {
    const job = this.#jobs.get(id);
    if (job === undefined)
      throw new HttpError(ERRORS.jobNotFound, `job '${id}' not found`, { param: "id", value: id });
    if (job.state === "cancelled") return job.snapshot();
    if (job.state === "succeeded" || job.state === "failed") {
      throw new HttpError(
        ERRORS.jobAlreadyFinished,
        `job '${id}' already ${job.state}; only queued or running jobs can be cancelled`,
        {
          param: "id",
          value: id,
        },
      );
    }

    job.cancelReason = reason;
    if (job.state === "queued") {
      this.#queue.splice(this.#queue.indexOf(job), 1);
      this.#finish(job, "cancelled");
    } else {
      job.controller.abort(new JobCancelledError(reason));
    }
    return job.finished;
  }

  /** Cancels every unfinished job and waits until they have all stopped. */
  async close(reason = "the supervisor is stopping"): Promise<void> {
    const active = [...this.#jobs.values()].filter((job) => !FINISHED_JOB_STATES.has(job.state));
    await Promise.all(active.map((job) => this.cancel(job.id, reason)));
  }

  #startQueued(): void {
    while (this.#running < this.#options.concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      void this.#run(job);
    }
  }

  async #run(job: Job, counted = true): Promise<void> {
    if (counted) this.#running++;
    job.state = "running";
    job.startedAt = new Date();
    this.#publish("job.started", job);
    jobStarted(this.#options.log, job.snapshot());

    const context: JobContext = {
      id: job.id,
      signal: job.controller.signal,
      progress: job.progress,
      reportProgress: () => this.#reportProgress(job),
    };
    try {
      job.result = await job.spec.run(context);
      this.#finish(job, "succeeded");
    } catch (error) {
      if (job.controller.signal.aborted) {
        this.#finish(job, "cancelled");
      } else {
        job.error = toJobError(error);
        this.#finish(job, "failed", error);
      }
    } finally {
      if (counted) this.#running--;
      this.#startQueued();
    }
  }

  #reportProgress(job: Job): void {
    const now = performance.now();
    if (now - job.lastProgressAt < this.#options.progressIntervalMs) return;
    job.lastProgressAt = now;
    this.#publish("job.progress", job);
  }

  #finish(job: Job, state: "succeeded" | "failed" | "cancelled", error?: unknown): void {
    job.state = state;
    job.finishedAt = new Date();
    const snapshot = job.snapshot();
    if (state === "succeeded")
      jobSucceeded(
        this.#options.log,
        snapshot,
        job.finishedAt.getTime() - (job.startedAt ?? job.createdAt).getTime(),
      );
    else if (state === "failed") jobFailed(this.#options.log, snapshot, error);
    else jobCancelled(this.#options.log, snapshot, job.cancelReason);

    this.#options.publish(`job.${state}`, snapshot);
    job.resolveFinished(snapshot);
    this.#dropOldFinished();
  }

  #publish(type: JobEventType, job: Job): void {
    this.#options.publish(type, job.snapshot());
  }

  #dropOldFinished(): void {
    const finished = [...this.#jobs.values()].filter((job) => FINISHED_JOB_STATES.has(job.state));
    for (const job of finished.slice(
      0,
      Math.max(0, finished.length - this.#options.retainFinished),
    )) {
      this.#jobs.delete(job.id);
    }
  }
}

/** The abort reason of a cancelled job. */
export class JobCancelledError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "JobCancelledError";
  }
}

/** Catalogue errors keep their code; anything else is an internal error whose cause is only logged. */
function toJobError(error: unknown): JobError {
  if (HttpError.isHttpError(error))
    return { code: error.code, message: error.message, status: error.statusCode };
  return {
    code: ERRORS.internal.code,
    message: "the job failed with an internal error; see the supervisor log",
    status: 500,
  };
}
