import { ERRORS, HttpError } from "./errors.js";

/** Process that produced an error, so a client can tell the proxy from the engine. */
export type ErrorSource = "engine" | "supervisor" | "proxy" | "registry";

/** The OpenAI error envelope, plus the `source` marker. */
export interface ErrorEnvelope {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string;
    source: ErrorSource;
  };
}

/** Maps an HTTP status to the OpenAI error `type`. This is the only place that does so. */
export function errorTypeForStatus(status: number): string {
  switch (status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 405:
      return "method_not_allowed_error";
    case 409:
      return "conflict_error";
    case 426:
      return "upgrade_required_error";
    case 429:
      return "rate_limit_error";
    case 502:
    case 503:
    case 504:
      return "service_unavailable_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

/** Builds the wire envelope for an error; anything that is not an HttpError becomes a 500. */
export function toErrorEnvelope(error: unknown, source: ErrorSource): ErrorEnvelope {
  const httpError = asHttpError(error);
  return {
    error: {
      message: httpError.message,
      type: errorTypeForStatus(httpError.statusCode),
      param: httpError.param,
      code: httpError.code,
      source,
    },
  };
}

/** Returns the error itself when it is an HttpError, otherwise a generic 500 wrapping it. */
export function asHttpError(error: unknown): HttpError {
  if (HttpError.isHttpError(error)) return error;

  return new HttpError(ERRORS.internal, "internal server error", { cause: error });
}
