import { invalidParam } from "../../../http/errors.js";
import { validateModelName } from "../model-name.js";

/** The Hugging Face Hub used when `HF_ENDPOINT` is not set. */
export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

/**
 * One part of a repo id, as the Hub accepts it: 1 to 96 letters, digits, `_`, `-` or `.`,
 * starting and ending with a letter, digit or `_`.
 */
const REPO_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;
/** Branch, tag or commit names: letters, digits and `._-/`, a subset of what git allows in ref names. */
const REVISION = /^[A-Za-z0-9_][A-Za-z0-9._\-/]{0,254}$/;

/**
 * Checks a Hub repo id (`owner/name`, or a bare `name` for the Hub's oldest models). `--`
 * and `..` are rejected, as the Hub does, which also keeps the directory name unambiguous.
 */
export function validateRepoId(repoId: unknown): string {
  if (typeof repoId !== "string" || repoId === "") {
    throw invalidParam(
      "repo_id",
      "repo_id is required: a Hugging Face repo id such as 'Qwen/Qwen2.5-0.5B-Instruct-GGUF'",
      repoId,
    );
  }
  const parts = repoId.split("/");
  const valid =
    parts.length <= 2 &&
    parts.every((part) => REPO_PART.test(part)) &&
    !repoId.includes("--") &&
    !repoId.includes("..") &&
    !repoId.endsWith(".git");
  if (!valid) {
    throw invalidParam(
      "repo_id",
      `invalid repo_id ${JSON.stringify(repoId)}: expected 'owner/name' made of letters, digits, '_', '-' and '.', without '--' or '..'`,
      repoId,
    );
  }
  return repoId;
}

/** Checks a revision (branch, tag, commit or `refs/pr/N`); `undefined` and `null` mean the default branch. */
export function validateRevision(revision: unknown): string | undefined {
  if (revision === undefined || revision === null) return undefined;
  const valid =
    typeof revision === "string" &&
    REVISION.test(revision) &&
    !revision.includes("..") &&
    !revision.includes("//") &&
    !revision.endsWith("/");
  if (!valid) {
    throw invalidParam(
      "revision",
      `invalid revision ${JSON.stringify(revision)}: expected a branch, tag or commit of letters, digits and '._-/'`,
      revision,
    );
  }
  return revision;
}

/**
 * Returns the registry name of a pulled repo: `owner--name`, plus `@revision` when a revision is
 * given, with each `/` written as `--` (`Qwen/Qwen2.5-7B@refs/pr/1` → `Qwen--Qwen2.5-7B@refs--pr--1`).
 */
export function hubModelName(repoId: string, revision: string | undefined): string {
  const base = repoId.replaceAll("/", "--");
  const name = revision === undefined ? base : `${base}@${revision.replaceAll("/", "--")}`;
  return validateModelName(name, "repo_id");
}

/**
 * Parses `HF_ENDPOINT` (an http or https URL) into an origin plus path without a trailing
 * slash. User info in the URL is rejected, because it would be a credential in the logs.
 */
export function parseHubEndpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(
      `HF_ENDPOINT ${JSON.stringify(value)} is not a URL; expected e.g. ${DEFAULT_HUB_ENDPOINT}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`HF_ENDPOINT must be an http or https URL, got ${url.protocol}`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new Error(
      "HF_ENDPOINT must not contain a user name or password; pass the token in HF_TOKEN",
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}
