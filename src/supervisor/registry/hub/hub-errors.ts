import type { IncomingHttpHeaders } from "node:http";

import { ERRORS, HttpError } from "../../../http/errors.js";

/** The repo, revision and file of a Hub request, for the error message. */
export interface HubRequestContext {
  repoId: string;
  revision: string | undefined;
  /** The file being downloaded, when the request was a download. */
  file?: string;
  hasToken: boolean;
}

/** HTTP statuses after which the same request may succeed later. */
const TRANSIENT_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * A failure worth retrying (a network error, a timeout, or a 429 or 5xx response). `final`
 * is the error reported when the retries run out.
 */
export class TransientHubError extends Error {
  constructor(
    readonly final: HttpError,
    options?: { cause?: unknown },
  ) {
    super(final.message, options);
    this.name = "TransientHubError";
  }
}

/**
 * Maps a Hub error response to a catalogue error. The Hub names the reason in the
 * `X-Error-Code` header (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, `GatedRepo`),
 * as huggingface_hub's `hf_raise_for_status` reads it; without it the status decides. The
 * Hub responds with 401 both for a private repo without a token and for a repo that does not
 * exist, so the message covers both. Transient statuses come back as TransientHubError.
 */
export function hubResponseError(
  status: number,
  headers: IncomingHttpHeaders,
  context: HubRequestContext,
): HttpError | TransientHubError {
  const errorCode = headerValue(headers, "x-error-code");
  const target = describeTarget(context);
  const tokenHint = context.hasToken
    ? ""
    : "; if the repo is private or gated, pass a token in the request or set HF_TOKEN";

  if (errorCode === "RevisionNotFound") {
    return new HttpError(
      ERRORS.registryHubNotFound,
      `revision '${context.revision ?? "main"}' of repo '${context.repoId}' not found on the Hub`,
      {
        param: "revision",
        value: context.revision,
      },
    );
  }
  if (errorCode === "RepoNotFound") {
    return new HttpError(
      ERRORS.registryHubNotFound,
      `repo '${context.repoId}' or revision '${context.revision ?? "main"}' not found on the Hub${tokenHint}`,
      {
        param: "repo_id",
        value: context.repoId,
      },
    );
  }
  if (errorCode === "EntryNotFound") {
    return new HttpError(ERRORS.registryHubNotFound, `${target} not found on the Hub`, {
      param: "repo_id",
      value: context.repoId,
    });
  }
  if (errorCode === "GatedRepo" || status === 401 || status === 403)
    return accessError(status, errorCode, context);
  if (status === 404) {
    return new HttpError(
      ERRORS.registryHubNotFound,
      `repo '${context.repoId}' or revision '${context.revision ?? "main"}' not found on the Hub${tokenHint}`,
      {
        param: "repo_id",
        value: context.repoId,
      },
    );
  }

  const failure = new HttpError(
    ERRORS.registryHubFailed,
    `the Hub responded with HTTP ${status} for ${target}`,
    { value: status },
  );
  return TRANSIENT_STATUSES.has(status) ? new TransientHubError(failure) : failure;
}

function accessError(
  status: number,
  errorCode: string | undefined,
  context: HubRequestContext,
): HttpError {
  const gated = errorCode === "GatedRepo";
  const kind = gated ? "gated" : "private or gated";
  if (!context.hasToken) {
    return new HttpError(
      ERRORS.registryHubUnauthorized,
      `repo '${context.repoId}' is ${kind} and needs a Hugging Face token: pass "token" in the request or set HF_TOKEN on the supervisor`,
      { param: "token" },
    );
  }
  if (status === 401) {
    return new HttpError(
      ERRORS.registryHubUnauthorized,
      `the Hub rejected the token for repo '${context.repoId}'; check that the token is valid`,
      {
        param: "token",
      },
    );
  }
  return new HttpError(
    ERRORS.registryHubForbidden,
    `the token has no access to ${kind} repo '${context.repoId}'; request access on the repo's Hub page or use another token`,
    { param: "token" },
  );
}

function describeTarget(context: HubRequestContext): string {
  const revision = context.revision === undefined ? "" : `@${context.revision}`;
  return context.file === undefined
    ? `repo '${context.repoId}${revision}'`
    : `file '${context.file}' of repo '${context.repoId}${revision}'`;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
