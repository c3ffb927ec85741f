import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";

import { toErrorEnvelope, asHttpError, type ErrorSource } from "./envelope.js";
import { ERRORS, HttpError } from "./errors.js";
import { errorResponseSent, requestCompleted } from "./log-events.js";
import type { EventLogger, Logger } from "./logger.js";
import { REQUEST_ID_HEADER, resolveRequestId } from "./request-id.js";

/** Largest request body a route that parses its body accepts, unless the app sets another. */
export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;

/** Options shared by the engine and supervisor HTTP apps. */
export interface CreateAppOptions {
  logger: Logger;
  source: ErrorSource;
  /** Maximum buffered request body in bytes for routes that parse their body. */
  bodyLimit?: number;
}

/**
 * Creates a Fastify app with the behaviour both processes share: request ids that are
 * validated and echoed, one completion log line per request, and every error (including
 * unknown routes and Fastify's own body errors) sent in the OpenAI error envelope.
 */
export function createApp(options: CreateAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Request lines come from our own named events (see logCompletionOnClose).
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: resolveRequestId,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    return503OnClosing: true,
  });

  const tracker = { inFlight: 0 };
  inFlightTrackers.set(app, tracker);
  app.addHook("onRequest", async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    tracker.inFlight++;
    reply.raw.once("close", () => tracker.inFlight--);
    logCompletionOnClose(options.logger, request, reply);
  });

  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  app.setErrorHandler((error: FastifyError, request, reply) => {
    sendError(reply, request, toHttpError(error, bodyLimit), options.source);
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new HttpError(
      ERRORS.routeNotFound,
      `no route for ${request.method} ${request.url}`,
    );
    sendError(reply, request, error, options.source);
  });

  return app;
}

const inFlightTrackers = new WeakMap<FastifyInstance, { inFlight: number }>();

/**
 * Stops accepting connections, runs `whileClosing` (for example, stopping what the in-flight
 * requests wait on), lets in-flight requests (including long streams) finish for up to
 * `graceMs`, then closes every remaining connection. `app.close()` alone waits for
 * connections that a client opened but never used, until Node's headers timeout.
 */
export async function closeApp(
  app: FastifyInstance,
  graceMs: number,
  whileClosing?: () => Promise<unknown>,
): Promise<void> {
  const closing = app.close();
  await whileClosing?.();
  const tracker = inFlightTrackers.get(app);
  const deadline = Date.now() + graceMs;
  while (tracker !== undefined && tracker.inFlight > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  app.server.closeAllConnections();
  await closing;
}

/** Sends `error` as an OpenAI error envelope with its status and headers, and logs it. */
export function sendError(
  reply: FastifyReply,
  request: FastifyRequest,
  error: unknown,
  source: ErrorSource,
): void {
  const httpError = asHttpError(error);
  errorResponseSent(
    request.log,
    {
      statusCode: httpError.statusCode,
      code: httpError.code,
      param: httpError.param,
      message: httpError.message,
    },
    httpError.cause ?? error,
  );

  if (reply.sent || reply.raw.headersSent) return;

  void reply
    .code(httpError.statusCode)
    .headers(httpError.headers)
    .type("application/json")
    .send(toErrorEnvelope(httpError, source));
}

/** Translates Fastify's own errors (body parsing, limits) into catalogue errors. */
function toHttpError(error: FastifyError, bodyLimit: number): HttpError {
  if (HttpError.isHttpError(error)) return error;

  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new HttpError(
        ERRORS.requestBodyTooLarge,
        `request body is larger than the ${bodyLimit} bytes this route accepts`,
        { cause: error },
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new HttpError(ERRORS.requestUnsupportedMediaType, error.message, { cause: error });
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new HttpError(ERRORS.requestInvalidJson, "request body is not valid JSON", {
        cause: error,
      });
  }

  if (error instanceof SyntaxError) {
    // JSON.parse quotes the start of the body, which is unreadable when the body is binary.
    const reason = /[^\P{Cc}\t\n\r]|\uFFFD/u.test(error.message)
      ? "it contains binary data"
      : error.message;
    return new HttpError(ERRORS.requestInvalidJson, `request body is not valid JSON: ${reason}`, {
      cause: error,
    });
  }
  if (typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500) {
    return new HttpError(
      { code: ERRORS.requestInvalidBody.code, status: error.statusCode },
      error.message,
      { cause: error },
    );
  }
  return new HttpError(ERRORS.internal, "internal server error", { cause: error });
}

function logCompletionOnClose(
  log: EventLogger,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const startedAt = performance.now();
  reply.raw.once("close", () => {
    requestCompleted(log, {
      reqId: request.id,
      method: request.method,
      url: request.url,
      statusCode: reply.raw.statusCode,
      durationMs: Math.round(performance.now() - startedAt),
      aborted: !reply.raw.writableFinished,
    });
  });
}
