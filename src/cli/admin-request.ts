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

/** Builds the error message of a failed response from the envelope's message and code when it has them. */
export function describeFailure(status: number, text: string): string {
  try {
    const envelope = JSON.parse(text) as { error?: { message?: string; code?: string } };
    if (envelope.error?.message !== undefined) {
      return `${envelope.error.message} (HTTP ${status}${envelope.error.code === undefined ? "" : `, ${envelope.error.code}`})`;
    }
  } catch {
    // Not JSON: the raw text follows.
  }
  return `HTTP ${status}: ${text.slice(0, 500)}`;
}

/** Raised for a failed admin request; the CLI prints its message and exits with 1. */
export class AdminRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AdminRequestError";
  }
}
