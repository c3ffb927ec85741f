import fastifyMultipart from "@fastify/multipart";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import { sendError } from "../../http/create-app.js";
import { ERRORS, HttpError, invalidParam } from "../../http/errors.js";
import { JOB_ID_PATTERN, type JobSnapshot } from "../jobs/job-types.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import { validateModelName } from "../registry/model-name.js";

/** Multipart fields besides `file` that a client may send (and that are ignored). */
const MAX_MULTIPART_FIELDS = 16;

/**
 * Registers the model registry and job routes under `/admin`:
 *
 * - `GET /admin/models`, `GET /admin/models/{name}`, `DELETE /admin/models/{name}`
 * - `POST /admin/models/pull` (blocking, or a `202` job with `background: true`)
 * - `POST /admin/models/upload?name=…` (multipart field `file`, a tar or tar.gz)
 * - `GET /admin/jobs`, `GET /admin/jobs/{id}`, `DELETE /admin/jobs/{id}` (cancel)
 *
 * A malformed model name or job id in the path is a 400 on every one of these routes.
 *
 * The routes live in their own plugin scope: the multipart parser is registered only here,
 * and catalogue errors are sent with `source: "registry"`.
 */
export async function registerRegistryRoutes(
  app: FastifyInstance,
  registry: ModelRegistry,
): Promise<void> {
  await app.register(async (scope) => {
    scope.setErrorHandler((error, request, reply) => {
      // Fastify's own errors (bad JSON and the like) go to the app's handler, which maps them.
      if (!HttpError.isHttpError(error)) throw error;
      sendError(reply, request, error, "registry");
    });
    await scope.register(fastifyMultipart, {
      // One byte over the limit, so the registry's own byte count detects the excess and returns 413.
      limits: {
        fileSize: registry.uploadMaxBytes + 1,
        files: 1,
        fields: MAX_MULTIPART_FIELDS,
        parts: MAX_MULTIPART_FIELDS + 1,
      },
      throwFileSizeLimit: true,
    });

    // Model names are read from a wildcard: a `:name` parameter is capped at 100 characters by
    // the router, shorter than a 128-byte name once percent-encoded, and `a%2Fb` reaches the
    // name check as `a/b` instead of missing the route.
    scope.get("/admin/models", async () => registry.list());
    scope.get("/admin/models/*", async (request) => {
      const name = routeParam(request, "*");
      return name === "" ? registry.list() : registry.get(name);
    });
    scope.delete("/admin/models/*", async (request) => registry.delete(routeParam(request, "*")));
    scope.post("/admin/models/pull", async (request, reply) => pull(registry, request, reply));
    scope.post(
      "/admin/models/upload",
      {
        // Runs before the body parsers, so a body of another type is rejected with the upload's
        // own message instead of a JSON parse error or a bare 415.
        onRequest: async (request, reply) => {
          try {
            uploadName(request);
            requireMultipart(request);
          } catch (error) {
            void reply.header("connection", "close");
            throw error;
          }
        },
      },
      async (request, reply) => {
        try {
          return await upload(registry, request);
        } catch (error) {
          // The rest of a rejected upload is never read, so the connection cannot carry another request.
          void reply.header("connection", "close");
          throw error;
        }
      },
    );

    // Job ids are read from a wildcard too, so an overlong or malformed id gets the 400 below
    // instead of missing the route.
    scope.get("/admin/jobs", async () => ({ jobs: registry.jobs.list() }));
    scope.get("/admin/jobs/*", async (request) => {
      const id = routeParam(request, "*");
      return id === "" ? { jobs: registry.jobs.list() } : requireJob(registry, id).snapshot();
    });
    scope.delete("/admin/jobs/*", async (request) => cancelJob(registry, request));
  });
}

async function pull(
  registry: ModelRegistry,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const body = requireObjectBody(request.body);
  const background = body.background ?? false;
  if (typeof background !== "boolean")
    throw invalidParam("background", "background must be true or false", background);

  const { job, name } = registry.startPull(body);
  if (background) {
    const statusUrl = `/admin/jobs/${job.id}`;
    void reply.code(202).header("location", statusUrl);
    return {
      job_id: job.id,
      name,
      state: job.snapshot().state,
      status_url: statusUrl,
      events_url: `/admin/events?job_id=${job.id}`,
    };
  }

  const finished = await job.finished;
  if (finished.state === "succeeded") return { ...finished.result, job_id: job.id };
  throw jobOutcomeError(finished);
}

async function upload(registry: ModelRegistry, request: FastifyRequest): Promise<unknown> {
  const name = uploadName(request);
  const part = await request.file();
  if (part === undefined)
    throw invalidParam("file", "missing multipart field 'file' with the tar or tar.gz archive");
  if (part.fieldname !== "file") {
    part.file.resume();
    throw invalidParam(
      "file",
      `expected the archive in the multipart field 'file', got '${part.fieldname}'`,
      part.fieldname,
    );
  }
  const file = part.file;
  return registry.upload({
    name,
    file,
    truncated: () => file.truncated,
    contentLength: contentLength(request),
  });
}

/** Reads and checks the upload's `name` query parameter. */
function uploadName(request: FastifyRequest): string {
  const query = request.query as Record<string, unknown>;
  if (query.name === undefined) {
    throw invalidParam(
      "name",
      "missing query parameter 'name': POST /admin/models/upload?name=<model name>",
    );
  }
  return validateModelName(query.name);
}

/**
 * Rejects an upload body that is not multipart/form-data with 415. The message quotes the
 * Content-Type header, never the body, which is usually binary.
 */
function requireMultipart(request: FastifyRequest): void {
  const header = request.headers["content-type"];
  const mediaType = header?.split(";")[0]?.trim().toLowerCase();
  if (mediaType === "multipart/form-data") return;

  const received =
    header === undefined
      ? "no Content-Type"
      : `Content-Type ${JSON.stringify(header.slice(0, 100))}`;
  throw new HttpError(
    ERRORS.requestUnsupportedMediaType,
    `the upload must be multipart/form-data with the tar or tar.gz archive in the field 'file', got ${received}; with curl: curl -F file=@model.tgz '<server>/admin/models/upload?name=<name>'`,
    { param: "file", value: header },
  );
}

async function cancelJob(registry: ModelRegistry, request: FastifyRequest): Promise<JobSnapshot> {
  const id = routeParam(request, "*");
  const job = requireJob(registry, id);
  const query = request.query as Record<string, unknown>;
  const discard = query.discard === "true" || query.discard === "1";

  const snapshot = await registry.jobs.cancel(id);
  if (discard && job.snapshot().kind === "pull") await registry.discardPartialPull(snapshot.target);
  return snapshot;
}

function requireJob(registry: ModelRegistry, id: string) {
  if (!JOB_ID_PATTERN.test(id)) {
    throw invalidParam(
      "id",
      `invalid job id ${JSON.stringify(id.slice(0, 100))}: job ids look like job-0ca5b1566d9b175da0ccf599; GET /admin/jobs lists them`,
      id,
    );
  }
  const job = registry.jobs.get(id);
  if (job === undefined)
    throw new HttpError(ERRORS.jobNotFound, `job '${id}' not found`, { param: "id", value: id });
  return job;
}

/** Builds the error response of a blocking pull whose job did not succeed. */
function jobOutcomeError(job: JobSnapshot): HttpError {
  if (job.state === "cancelled") {
    return new HttpError(
      ERRORS.jobCancelled,
      `the pull of '${job.target}' was cancelled (job ${job.id}); pull again to resume it`,
    );
  }
  const error = job.error ?? {
    code: ERRORS.internal.code,
    message: "the pull failed",
    status: 500,
  };
  return new HttpError({ code: error.code, status: error.status }, error.message);
}

function requireObjectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(
      ERRORS.requestInvalidBody,
      'the request body must be a JSON object such as {"repo_id": "owner/name"}',
    );
  }
  return body as Record<string, unknown>;
}

function routeParam(request: FastifyRequest, key: string): string {
  return (request.params as Record<string, string>)[key] ?? "";
}

function contentLength(request: FastifyRequest): number | undefined {
  const value = Number(request.headers["content-length"]);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}
