import type { ServerResponse } from "node:http";

import type { FastifyInstance } from "fastify";
import { z } from "zod";

import { ERRORS, HttpError } from "../../http/errors.js";
import { parseBody } from "../../http/parse-body.js";
import type { BackendManager } from "../backend-manager.js";
import { LoadFailedError, operationConflict } from "../lifecycle/load-errors.js";
import type { JobStore } from "../jobs/job-store.js";
import { checkExtraArgs, resolveLoadTarget, type LoadTargetOptions } from "../load-target.js";
import type { LogLine, LogRing } from "../log-ring.js";
import { SWAP_MODES } from "../lifecycle/swap-plan.js";

/** Supervisor parts and settings that the lifecycle routes use. */
export interface LifecycleRouteOptions extends LoadTargetOptions {
  backend: BackendManager;
  logRing: LogRing;
  /** Arguments used when a load names no `extra_args`. */
  defaultArgs: readonly string[];
  /** Job store for background loads, so `GET /admin/jobs/{id}` reports them. */
  jobs: JobStore;
}

const loadSchema = z.object({
  name: z.string().min(1, { error: "name must not be empty" }),
  extra_args: z.array(z.string(), { error: "extra_args must be an array of strings" }).nullish(),
  allow_remote: z.boolean().nullish(),
  mode: z.enum(SWAP_MODES as ["restart", "overlap"]).nullish(),
  background: z.boolean().nullish(),
});

/** Lines `/admin/logs` returns when the request names no `tail`. */
const DEFAULT_TAIL = 200;

/** Registers `POST /admin/load`, `POST /admin/stop` and `GET /admin/logs`. */
export function registerLifecycleRoutes(
  app: FastifyInstance,
  options: LifecycleRouteOptions,
): void {
  const { backend } = options;
  const followers = new Set<ServerResponse>();
  app.addHook("preClose", async () => {
    for (const response of followers) response.end();
  });

  app.post("/admin/load", async (request, reply) => {
    const body = parseLoadBody(request.body);
    const args = body.extra_args ?? options.defaultArgs;
    checkExtraArgs(args);
    const target = await resolveLoadTarget(body.name, body.allow_remote ?? false, options);
    const running = backend.operation;
    if (running !== undefined) throw operationConflict(running);

    const load = async () => {
      try {
        const loaded = await backend.load(target.model, args, {
          mode: body.mode ?? undefined,
          servedName: target.servedName,
        });
        return {
          loaded: target.model,
          name: body.name,
          pid: loaded.pid,
          state: backend.state,
          args: loaded.args,
        };
      } catch (error) {
        throw loadError(error);
      }
    };
    if (body.background !== true) return load();

    // A background load is a job: GET /admin/jobs/{id} and /admin/events follow it, and
    // cancelling the job stops the backend as POST /admin/stop would.
    const job = options.jobs.create({
      kind: "load",
      target: body.name,
      params: {
        name: body.name,
        mode: body.mode ?? null,
        allow_remote: body.allow_remote ?? false,
      },
      unlimited: true,
      run: async ({ signal }) => {
        signal.addEventListener("abort", () => void backend.stop(), { once: true });
        return load();
      },
    });
    const statusUrl = `/admin/jobs/${job.id}`;
    return reply
      .code(202)
      .header("location", statusUrl)
      .send({ job_id: job.id, status_url: statusUrl });
  });

  app.post("/admin/stop", async () => {
    const { cancelled } = await backend.stop();
    return { stopped: true, cancelled_load: cancelled ?? null };
  });

  app.get<{ Querystring: { tail?: string; pid?: string; follow?: string } }>(
    "/admin/logs",
    async (request, reply) => {
      const tail = parseCount(request.query.tail, "tail") ?? DEFAULT_TAIL;
      const pid = parseCount(request.query.pid, "pid");
      const lines = options.logRing.tail(tail, pid);
      if (request.query.follow !== "true" && request.query.follow !== "1")
        return { lines: lines.map(toJson) };

      reply.hijack();
      followers.add(reply.raw);
      reply.raw.once("close", () => followers.delete(reply.raw));
      followLogs(reply.raw, options.logRing, lines, pid);
      return reply;
    },
  );
}

function parseLoadBody(body: unknown): z.output<typeof loadSchema> {
  return parseBody(loadSchema, body ?? {});
}

/** Maps a failed load to its HTTP error: 409 when it was cancelled, 500 otherwise. */
function loadError(error: unknown): unknown {
  if (!(error instanceof LoadFailedError)) return error;
  if (error.cancelled)
    return new HttpError(ERRORS.backendOperationConflict, error.message, { cause: error });
  return new HttpError(ERRORS.backendLoadFailed, error.message, {
    param: "name",
    value: error.model,
    cause: error,
  });
}

function parseCount(value: string | undefined, param: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) {
    throw new HttpError(
      ERRORS.requestInvalidParam,
      `${param} must be a non-negative integer, got '${value}'`,
      { param },
    );
  }
  return number;
}

/** Streams backend output as server-sent events: the kept tail first, then each new line. */
function followLogs(
  response: ServerResponse,
  ring: LogRing,
  backlog: readonly LogLine[],
  pid: number | undefined,
): void {
  response.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
  });
  const send = (line: LogLine) => {
    if (pid === undefined || line.pid === pid)
      response.write(`event: line\ndata: ${JSON.stringify(toJson(line))}\n\n`);
  };
  for (const line of backlog) send(line);

  const unsubscribe = ring.subscribe(send);
  // A comment line now and then keeps idle proxies from closing the stream.
  const keepalive = setInterval(() => response.write(": keepalive\n\n"), 15_000);
  response.once("close", () => {
    clearInterval(keepalive);
    unsubscribe();
  });
}

function toJson(line: LogLine) {
  return { pid: line.pid, stream: line.stream, line: line.line, at: line.at.toISOString() };
}
