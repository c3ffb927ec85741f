/**
 * Codec version signalling: the `Codec-Client-Version` request header, the optional
 * `.well-known/codec/version-policy.json` document, and `426 Upgrade Required` refusals.
 */
import { CodecVersionPolicyError, CodecVersionRequiredError } from "./discovery-errors.js";
import { readResponseBody } from "./response-body.js";
import { fetchWellKnown, wellKnownUrl } from "./well-known-fetch.js";

/** The Codec protocol version this library speaks, sent as `Codec-Client-Version`. */
export const CODEC_CLIENT_VERSION = "0.5";

/** Request header that carries the client's Codec version, a bare minor version such as `0.5`. */
export const CODEC_CLIENT_VERSION_HEADER = "Codec-Client-Version";

/** Response header of a 426 with the lowest accepted client version. */
export const CODEC_MIN_VERSION_HEADER = "Codec-Min-Version";

/** Response header of a 426 with the required features, joined by `", "`. */
export const CODEC_REQUIRED_FEATURES_HEADER = "Codec-Required-Features";

/**
 * Returns a copy of `init` whose headers include `Codec-Client-Version`. A value the caller
 * already set is kept, so a test can act as an older client.
 *
 * Use it for requests to inference endpoints only. Map, dictionary and other static fetches
 * must not carry it: a non-standard header makes browsers send a CORS preflight request, which
 * static hosts and CDNs often reject. This library's own static fetches never send it.
 */
export function withCodecClientVersion(
  init: RequestInit = {},
  version: string = CODEC_CLIENT_VERSION,
): RequestInit {
  const headers = new Headers(init.headers);
  if (!headers.has(CODEC_CLIENT_VERSION_HEADER)) {
    headers.set(CODEC_CLIENT_VERSION_HEADER, version);
  }
  return { ...init, headers };
}

/** A deployment's `.well-known/codec/version-policy.json`. */
export interface VersionPolicy {
  /** Lowest client version the deployment accepts, e.g. `0.4`. */
  minimum_version: string;
  /** Features the deployment requires. May hold values this client does not know. */
  required_features: string[];
  deployment_id?: string | null;
  docs_url?: string;
  valid_until?: string;
}

/** Options of {@link fetchVersionPolicy}. */
export interface FetchVersionPolicyOptions {
  /** Origin of the deployment, e.g. `https://api.example.com`. */
  origin: string;
  /** The fetch implementation. Defaults to `globalThis.fetch`. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/**
 * Fetches the deployment's version policy. A deployment that requires nothing returns HTTP 404,
 * and then this returns null.
 *
 * @throws {@link CodecDiscoveryFetchError} on a network error or a status other than 2xx or 404
 * @throws {@link CodecVersionPolicyError} when the body is not JSON with a `minimum_version`
 *   string and a `required_features` string array
 */
export async function fetchVersionPolicy(
  options: FetchVersionPolicyOptions,
): Promise<VersionPolicy | null> {
  const url = wellKnownUrl(options.origin, "version-policy.json");
  const response = await fetchWellKnown(url, options, "application/json");
  if (response === undefined) {
    return null;
  }

  let document: unknown;
  try {
    document = JSON.parse(await response.text());
  } catch (error) {
    if (options.signal?.aborted === true) {
      throw error;
    }
    throw new CodecVersionPolicyError(url, undefined, "the body is not valid JSON");
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new CodecVersionPolicyError(url, document, "the document must be a JSON object");
  }
  const policy = document as Record<string, unknown>;
  if (typeof policy.minimum_version !== "string") {
    throw new CodecVersionPolicyError(url, document, "minimum_version must be a string");
  }
  if (!isStringArray(policy.required_features)) {
    throw new CodecVersionPolicyError(
      url,
      document,
      "required_features must be an array of strings",
    );
  }
  return document as VersionPolicy;
}

/**
 * Reads a `426 Upgrade Required` response into a {@link CodecVersionRequiredError}, or returns
 * null for any other status without reading the body.
 *
 * The fields come from the JSON body (`minimum_version`, `required_features`, `client_version`,
 * `docs_url`, `deployment_id`). When the body is not JSON or lacks a field, the
 * `Codec-Min-Version` and `Codec-Required-Features` headers fill in, then `"unknown"`, an empty
 * list and {@link CODEC_CLIENT_VERSION}. A 426 therefore always yields an error.
 */
export async function parseVersionRequired(
  response: Response,
): Promise<CodecVersionRequiredError | null> {
  if (response.status !== 426) {
    return null;
  }

  // A body that is not JSON stays raw text, and the headers supply the fields.
  const { body } = await readResponseBody(response);
  const fields =
    typeof body === "object" && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : {};

  const headerFeatures = response.headers.get(CODEC_REQUIRED_FEATURES_HEADER);
  return new CodecVersionRequiredError({
    minimumVersion: stringOr(
      fields.minimum_version,
      response.headers.get(CODEC_MIN_VERSION_HEADER) ?? "unknown",
    ),
    requiredFeatures: isStringArray(fields.required_features)
      ? fields.required_features
      : splitFeatures(headerFeatures),
    clientVersion: stringOr(fields.client_version, CODEC_CLIENT_VERSION),
    docsUrl: typeof fields.docs_url === "string" ? fields.docs_url : undefined,
    deploymentId: typeof fields.deployment_id === "string" ? fields.deployment_id : undefined,
    body,
  });
}

/**
 * Throws a {@link CodecVersionRequiredError} when `response` is a 426, and otherwise returns
 * without reading the body. Call it on every inference response before reading frames.
 */
export async function throwIfVersionRequired(response: Response): Promise<void> {
  const error = await parseVersionRequired(response);
  if (error !== null) {
    throw error;
  }
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

function splitFeatures(header: string | null): string[] {
  if (header === null) {
    return [];
  }
  return header
    .split(",")
    .map((feature) => feature.trim())
    .filter((feature) => feature.length > 0);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}
