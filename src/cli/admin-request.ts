import { Option } from "commander";

/** Options every admin client command takes: the server URL and the admin token. */
export interface AdminClientFlags {
  url: string;
  adminToken?: string;
}

/** `--url`, defaulting to `CODEC_URL` or the local supervisor. */
export function urlOption(): Option {
  return new Option("--url <url>", "supervisor base URL")
    .env("CODEC_URL")
    .default("http://127.0.0.1:8080");
}

/** `--admin-token`, defaulting to `CODEC_ADMIN_TOKEN`, for a supervisor that requires one. */
export function adminTokenOption(): Option {
  return new Option("--admin-token <token>", "bearer token for /admin routes").env(
    "CODEC_ADMIN_TOKEN",
  );
}

/** Joins the base URL and a path. */
export function adminUrl(flags: AdminClientFlags, path: string): string {
  return `${flags.url.replace(/\/+$/, "")}${path}`;
}

/** Headers for an admin request: the bearer token when one is set. */
export function adminHeaders(
  flags: AdminClientFlags,
  extra: Record<string, string> = {},
): Record<string, string> {
  return flags.adminToken === undefined || flags.adminToken === ""
    ? { ...extra }
    : { ...extra, authorization: `Bearer ${flags.adminToken}` };
}

/** Error codes of the supervisor's admin authentication, which the admin token option fixes. */
const ADMIN_TOKEN_CODES = new Set([
  "CODEC_ERR_AUTH_MISSING_CREDENTIALS",
  "CODEC_ERR_AUTH_INVALID_CREDENTIALS",
]);

/**
 * Builds the error message of a failed response from the envelope's message and code when it
 * has them. A rejected admin token gets a hint about `--admin-token`.
 */
export function describeFailure(status: number, text: string): string {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const envelope = JSON.parse(text) as { error?: { message?: string; code?: string } };
    code = envelope.error?.code;
    message = envelope.error?.message;
  } catch {
    // Not JSON: the raw text follows.
  }
  const description =
    message === undefined
      ? `HTTP ${status}: ${text.slice(0, 500)}`
      : `${message} (HTTP ${status}${code === undefined ? "" : `, ${code}`})`;
  const tokenRejected = code === undefined ? status === 401 : ADMIN_TOKEN_CODES.has(code);
  return tokenRejected
    ? `${description}; pass the server's admin token with --admin-token or set CODEC_ADMIN_TOKEN`
    : description;
}

/** Network error codes that mean no server listens at the URL. */
const CONNECT_ERROR_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"]);

/**
 * Sends an admin request with `fetch`. A connection that fails becomes an AdminRequestError
 * naming the URL, with a hint about `--url` when no server listens there.
 */
export async function adminFetch(
  flags: AdminClientFlags,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  try {
    return await fetch(adminUrl(flags, path), init);
  } catch (error) {
    throw connectionFailure(flags, error);
  }
}

/** Builds the error for a request that reached no server, e.g. `connect ECONNREFUSED 127.0.0.1:8080`. */
export function connectionFailure(flags: AdminClientFlags, error: unknown): ServerUnreachableError {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = String((cause as { code?: unknown } | undefined)?.code ?? "");
  const reason = cause instanceof Error ? cause.message : String(cause);
  const hint = CONNECT_ERROR_CODES.has(code)
    ? "; is the server running (codec-serve serve)? Pass its address with --url or set CODEC_URL"
    : "";
  return new ServerUnreachableError(`could not reach the server at ${flags.url}: ${reason}${hint}`);
}

/** Raised for a failed admin request; the CLI prints its message and exits with 1. */
export class AdminRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AdminRequestError";
  }
}

/** Raised when no server could be reached; commands put their own "… failed:" prefix before the message. */
export class ServerUnreachableError extends AdminRequestError {
  constructor(message: string) {
    super(message);
    this.name = "ServerUnreachableError";
  }
}
