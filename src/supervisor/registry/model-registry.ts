import { mkdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";

import { ERRORS, HttpError, invalidParam } from "../../http/errors.js";
import type { EventLogger } from "../../http/logger.js";
import type { SupervisorEventBus } from "../events/supervisor-events.js";
import { JobStore, type JobHandle } from "../jobs/job-store.js";
import { HubClient } from "./hub/hub-client.js";
import { validateInclude } from "./hub/file-selection.js";
import { hubModelName, validateRepoId, validateRevision } from "./hub/hub-repo.js";
import { runPull, type PullInput } from "./hub/pull-runner.js";
import { stagingBytes } from "./hub/pull-staging.js";
import type { LoadedModelSource } from "./loaded-model.js";
import { partialPullDeleted, stagingKept } from "./log-events.js";
import { validateModelName } from "./model-name.js";
import { modelNotFound, ModelStore, STAGING_PREFIX, type ModelEntry } from "./model-store.js";
import type { RegistryOptions } from "./registry-options.js";
import { storeUpload, type UploadRequest, type UploadResult } from "./upload/upload-service.js";

/** A pull left unfinished in its staging directory, resumable by pulling the same repo and revision again. */
export interface PartialPull {
  name: string;
  path: string;
  bytes_on_disk: number;
  /** The queued or running pull job writing it, if any. */
  job_id: string | null;
}

/** The body of `GET /admin/models`. */
export interface ModelListing {
  models: ModelEntry[];
  partial_pulls: PartialPull[];
  /** `CODEC_UPLOAD_MAX_BYTES` (for the archive and for its extracted content) and the entry limit. */
  upload_limits: { max_bytes: number; max_entries: number };
}

export interface RegistryDependencies {
  backend: LoadedModelSource;
  events: SupervisorEventBus;
  log: EventLogger;
}

/**
 * The model registry: lists, pulls, uploads and deletes models in the models directory.
 * Pulls run as jobs; their lifecycle and progress go on the supervisor's event bus.
 */
export class ModelRegistry {
  readonly store: ModelStore;
  readonly jobs: JobStore;
  readonly #options: RegistryOptions;
  readonly #deps: RegistryDependencies;
  readonly #hub: HubClient;

  constructor(options: RegistryOptions, deps: RegistryDependencies) {
    this.#options = options;
    this.#deps = deps;
    this.store = new ModelStore(options.modelsDir, deps.log);
    this.jobs = new JobStore({
      log: deps.log,
      publish: (type, job) => deps.events.publish(type, job),
      concurrency: options.pullConcurrency,
    });
    this.#hub = new HubClient({
      endpoint: options.hubEndpoint,
      headersTimeoutMs: options.hubHeadersTimeoutMs,
      bodyTimeoutMs: options.hubBodyTimeoutMs,
    });
  }

  /** Creates the models directory and removes upload and trash leftovers of an earlier run. */
  async init(): Promise<void> {
    await mkdir(this.store.modelsDir, { recursive: true });
    await this.store.removeStaleEntries();
  }

  /**
   * Lists the models, the partial pulls that a new pull of the same repo and revision resumes,
   * and the upload limits, so a client can check an upload before it sends any byte.
   */
  async list(): Promise<ModelListing> {
    const models = await this.store.list();
    const partialPulls: PartialPull[] = [];
    for (const path of await this.store.stagingEntries(STAGING_PREFIX.pull)) {
      const name = basename(path).slice(STAGING_PREFIX.pull.length);
      const job = this.jobs.findActive("pull", name);
      partialPulls.push({
        name,
        path,
        bytes_on_disk: await stagingBytes(path),
        job_id: job?.id ?? null,
      });
    }
    return {
      models,
      partial_pulls: partialPulls,
      upload_limits: {
        max_bytes: this.#options.uploadMaxBytes,
        max_entries: this.#options.uploadMaxEntries,
      },
    };
  }

  /** Describes one model; throws 404 when it is unknown. */
  async get(name: string): Promise<ModelEntry> {
    const entry = await this.store.describe(validateModelName(name));
    if (entry === undefined) throw modelNotFound(name);
    return entry;
  }

  /**
   * Validates a pull request body and starts its job. Throws 400 for an invalid field and
   * 409 while another pull or upload writes the same model.
   */
  startPull(body: Record<string, unknown>): { job: JobHandle; name: string } {
    const repoId = validateRepoId(body.repo_id);
    const revision = validateRevision(body.revision);
    const include = validateInclude(body.include);
    const token = this.#resolveToken(body.token);
    const name = hubModelName(repoId, revision);

    const active = this.jobs.findActive("pull", name);
    if (active !== undefined) {
      throw new HttpError(
        ERRORS.registryModelBusy,
        `a pull of '${name}' is already running as job ${active.id}; follow it with GET /admin/jobs/${active.id}`,
        {
          param: "repo_id",
          value: repoId,
        },
      );
    }
    const release = this.store.reserve(name);
    const input: PullInput = {
      name,
      repoId,
      revision,
      token,
      include,
      stagingDir: join(this.store.modelsDir, `${STAGING_PREFIX.pull}${name}`),
    };
    const job = this.jobs.create({
      kind: "pull",
      target: name,
      params: { repo_id: repoId, revision: revision ?? null, include: include ?? null },
      run: async (context) => {
        try {
          return await runPull(context, input, {
            store: this.store,
            backend: this.#deps.backend,
            client: this.#hub,
            statfs: this.#options.statfs,
            policy: this.#options.download,
            log: this.#deps.log,
          });
        } catch (error) {
          await this.#cleanUpFailedPull(input, error);
          throw error;
        }
      },
    });
    void job.finished.then(release);
    return { job, name };
  }

  /** Stores an uploaded archive as model `name`; see `storeUpload`. */
  async upload(request: UploadRequest): Promise<UploadResult> {
    const release = this.store.reserve(validateModelName(request.name));
    try {
      return await storeUpload(request, {
        store: this.store,
        limits: {
          maxUploadBytes: this.#options.uploadMaxBytes,
          maxBytes: this.#options.uploadMaxBytes,
          maxEntries: this.#options.uploadMaxEntries,
        },
        statfs: this.#options.statfs,
        log: this.#deps.log,
      });
    } finally {
      release();
    }
  }

  /**
   * Deletes model `name` and any partial pull of it. 404 when neither exists, 409 while the
   * model is loaded or a pull or upload writes it.
   */
  async delete(name: string): Promise<{ deleted: string; partial_pull_deleted: boolean }> {
    validateModelName(name);
    const release = this.store.reserve(name);
    try {
      const modelExists = await this.store.exists(name);
      if (modelExists) await this.store.remove(name, this.#deps.backend);

      const stagingDir = join(this.store.modelsDir, `${STAGING_PREFIX.pull}${name}`);
      const partialExists = (await stat(stagingDir).catch(() => undefined)) !== undefined;
      if (partialExists) {
        await this.store.removeQuietly(stagingDir, "deleted by request");
        partialPullDeleted(this.#deps.log, { name, path: stagingDir });
      }
      if (!modelExists && !partialExists) throw modelNotFound(name);
      return { deleted: name, partial_pull_deleted: partialExists };
    } finally {
      release();
    }
  }

  /** Removes the partial pull of `name`, unless a pull of it is queued or running again. */
  async discardPartialPull(name: string): Promise<void> {
    if (this.jobs.findActive("pull", name) !== undefined || this.store.isReserved(name)) return;
    const stagingDir = join(this.store.modelsDir, `${STAGING_PREFIX.pull}${name}`);
    if ((await stat(stagingDir).catch(() => undefined)) === undefined) return;
    await this.store.removeQuietly(stagingDir, "discarded with its cancelled job");
    partialPullDeleted(this.#deps.log, { name, path: stagingDir });
  }

  /** The upload size limit, for the multipart parser. */
  get uploadMaxBytes(): number {
    return this.#options.uploadMaxBytes;
  }

  /** Cancels running pulls (their partial files stay for the next pull) and closes Hub connections. */
  async close(): Promise<void> {
    await this.jobs.close();
    await this.#hub.close();
  }

  /** The token from the request, else `HF_TOKEN`; an empty string counts as none. */
  #resolveToken(value: unknown): string | undefined {
    if (value !== undefined && value !== null && typeof value !== "string") {
      throw invalidParam("token", "token must be a string");
    }
    const token = typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
    return token ?? this.#options.hubToken;
  }

  /**
   * Keeps the staging directory of a failed or cancelled pull when it contains downloaded bytes,
   * so the next pull resumes. It is removed when empty, or when the Hub reported the repo or
   * revision missing, since its bytes can then never be used.
   */
  async #cleanUpFailedPull(input: PullInput, error: unknown): Promise<void> {
    const exists = (await stat(input.stagingDir).catch(() => undefined)) !== undefined;
    if (!exists) return;

    const bytes = await stagingBytes(input.stagingDir);
    const notFound = HttpError.isHttpError(error) && error.code === ERRORS.registryHubNotFound.code;
    if (bytes === 0 || notFound) {
      await this.store.removeQuietly(
        input.stagingDir,
        notFound ? "the repo or revision no longer exists" : "the pull failed before any download",
      );
      return;
    }
    const reason = error instanceof Error ? error.message : String(error);
    stagingKept(this.#deps.log, { name: input.name, path: input.stagingDir, bytes, reason });
  }
}
