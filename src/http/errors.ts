/**
 * The server error catalogue shared by the engine and the supervisor.
 *
 * Every error a client can receive has a stable `code` (never reused), an HTTP status,
 * and, where it is about one request field, the parameter and the offending value.
 * The wire shape is the OpenAI error envelope; see `envelope.ts`.
 */

/** One catalogue entry: a stable code and the HTTP status it is sent with. */
export interface ErrorSpec {
  readonly code: string;
  readonly status: number;
}

function spec(code: string, status: number): ErrorSpec {
  return { code, status };
}

/** Every server error code, grouped by area. Codes are never renamed or reused. */
export const ERRORS = {
  requestInvalidJson: spec("CODEC_ERR_REQUEST_INVALID_JSON", 400),
  requestInvalidParam: spec("CODEC_ERR_REQUEST_INVALID_PARAM", 400),
  requestUnsupportedParam: spec("CODEC_ERR_REQUEST_UNSUPPORTED_PARAM", 400),
  requestInvalidBody: spec("CODEC_ERR_REQUEST_INVALID_BODY", 400),
  requestContextLength: spec("CODEC_ERR_REQUEST_CONTEXT_LENGTH", 400),
  requestTokenOutOfVocab: spec("CODEC_ERR_REQUEST_TOKEN_OUT_OF_VOCAB", 400),
  requestBodyTooLarge: spec("CODEC_ERR_REQUEST_BODY_TOO_LARGE", 413),
  requestUnsupportedMediaType: spec("CODEC_ERR_REQUEST_UNSUPPORTED_MEDIA_TYPE", 415),
  requestInvalidBinaryBody: spec("CODEC_ERR_REQUEST_INVALID_BINARY_BODY", 400),
  requestInvalidTokenId: spec("CODEC_ERR_REQUEST_INVALID_TOKEN_ID", 400),
  requestInvalidClientVersion: spec("CODEC_ERR_REQUEST_INVALID_CLIENT_VERSION", 400),
  codecVersionRequired: spec("CODEC_ERR_VERSION_REQUIRED", 426),
  dictNotFound: spec("CODEC_ERR_DICT_NOT_FOUND", 404),
  routeNotFound: spec("CODEC_ERR_ROUTE_NOT_FOUND", 404),
  routeMethodNotAllowed: spec("CODEC_ERR_ROUTE_METHOD_NOT_ALLOWED", 405),
  mapNotFound: spec("CODEC_ERR_MAP_NOT_FOUND", 404),
  engineLoading: spec("CODEC_ERR_ENGINE_LOADING", 503),
  engineBusy: spec("CODEC_ERR_ENGINE_BUSY", 503),
  engineGenerationFailed: spec("CODEC_ERR_ENGINE_GENERATION_FAILED", 500),
  proxyNoBackend: spec("CODEC_ERR_PROXY_NO_BACKEND", 503),
  proxyBackendStarting: spec("CODEC_ERR_PROXY_BACKEND_STARTING", 503),
  proxyBackendUnreachable: spec("CODEC_ERR_PROXY_BACKEND_UNREACHABLE", 502),
  proxyBackendFailed: spec("CODEC_ERR_PROXY_BACKEND_FAILED", 502),
  backendOperationConflict: spec("CODEC_ERR_BACKEND_OPERATION_CONFLICT", 409),
  backendLoadFailed: spec("CODEC_ERR_BACKEND_LOAD_FAILED", 500),
  backendModelNotFound: spec("CODEC_ERR_BACKEND_MODEL_NOT_FOUND", 404),
  backendRemoteLoadForbidden: spec("CODEC_ERR_BACKEND_REMOTE_LOAD_FORBIDDEN", 403),
  backendInvalidArgs: spec("CODEC_ERR_BACKEND_INVALID_ARGS", 400),
  authMissingCredentials: spec("CODEC_ERR_AUTH_MISSING_CREDENTIALS", 401),
  authInvalidCredentials: spec("CODEC_ERR_AUTH_INVALID_CREDENTIALS", 401),
  authAdminLoopbackOnly: spec("CODEC_ERR_AUTH_ADMIN_LOOPBACK_ONLY", 403),
  authCrossOrigin: spec("CODEC_ERR_AUTH_CROSS_ORIGIN", 403),
  registryInvalidName: spec("CODEC_ERR_REGISTRY_INVALID_NAME", 400),
  registryModelNotFound: spec("CODEC_ERR_REGISTRY_MODEL_NOT_FOUND", 404),
  registryModelExists: spec("CODEC_ERR_REGISTRY_MODEL_EXISTS", 409),
  registryModelLoaded: spec("CODEC_ERR_REGISTRY_MODEL_LOADED", 409),
  registryModelBusy: spec("CODEC_ERR_REGISTRY_MODEL_BUSY", 409),
  registryOutsideModelsDir: spec("CODEC_ERR_REGISTRY_OUTSIDE_MODELS_DIR", 409),
  registryNoMatchingFiles: spec("CODEC_ERR_REGISTRY_NO_MATCHING_FILES", 400),
  registryHubNotFound: spec("CODEC_ERR_REGISTRY_HUB_NOT_FOUND", 404),
  registryHubUnauthorized: spec("CODEC_ERR_REGISTRY_HUB_UNAUTHORIZED", 401),
  registryHubForbidden: spec("CODEC_ERR_REGISTRY_HUB_FORBIDDEN", 403),
  registryHubFailed: spec("CODEC_ERR_REGISTRY_HUB_FAILED", 502),
  registryHubUnreachable: spec("CODEC_ERR_REGISTRY_HUB_UNREACHABLE", 502),
  registryChecksumMismatch: spec("CODEC_ERR_REGISTRY_CHECKSUM_MISMATCH", 502),
  registryInsufficientStorage: spec("CODEC_ERR_REGISTRY_INSUFFICIENT_STORAGE", 507),
  registryUploadTooLarge: spec("CODEC_ERR_REGISTRY_UPLOAD_TOO_LARGE", 413),
  registryArchiveInvalid: spec("CODEC_ERR_REGISTRY_ARCHIVE_INVALID", 400),
  registryArchiveUnsafe: spec("CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE", 400),
  registryArchiveTooLarge: spec("CODEC_ERR_REGISTRY_ARCHIVE_TOO_LARGE", 400),
  jobNotFound: spec("CODEC_ERR_JOB_NOT_FOUND", 404),
  jobAlreadyFinished: spec("CODEC_ERR_JOB_ALREADY_FINISHED", 409),
  jobCancelled: spec("CODEC_ERR_JOB_CANCELLED", 409),
  internal: spec("CODEC_ERR_SERVER_INTERNAL", 500),
} as const satisfies Record<string, ErrorSpec>;

/** Options that attach a request field, extra response headers or a cause to an error. */
export interface HttpErrorOptions {
  /** The request field the error is about, e.g. `max_tokens` or `messages.0.content`. */
  param?: string;
  /** The offending value, kept for logs; it is not echoed to clients unless put in the message. */
  value?: unknown;
  /** Extra response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

const HTTP_ERROR_BRAND = Symbol.for("codec-serve.HttpError");

/** An error that leaves the server as an HTTP response with a catalogue code. */
export class HttpError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly param: string | null;
  readonly value: unknown;
  readonly headers: Readonly<Record<string, string>>;

  constructor(errorSpec: ErrorSpec, message: string, options: HttpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HttpError";
    this.code = errorSpec.code;
    this.statusCode = errorSpec.status;
    this.param = options.param ?? null;
    this.value = options.value;
    this.headers = options.headers ?? {};
  }

  get [HTTP_ERROR_BRAND](): true {
    return true;
  }

  /** Recognises an HttpError even when two copies of this module are loaded. */
  static isHttpError(value: unknown): value is HttpError {
    return typeof value === "object" && value !== null && HTTP_ERROR_BRAND in value;
  }
}

/** Builds the 400 error for one invalid request field. */
export function invalidParam(param: string, message: string, value?: unknown): HttpError {
  return new HttpError(ERRORS.requestInvalidParam, message, { param, value });
}

/** Builds the 400 error for a request field this server does not implement. */
export function unsupportedParam(param: string, message: string, value?: unknown): HttpError {
  return new HttpError(ERRORS.requestUnsupportedParam, message, { param, value });
}
