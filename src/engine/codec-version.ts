/**
 * Codec version signalling on the engine: the `Codec-Client-Version` request header, the 426
 * refusal when a mandatory feature is not met, and the filtering of `Codec-*` response headers
 * by the version the client announced.
 */
import type { FastifyReply } from "fastify";

import { ERRORS, HttpError } from "../http/errors.js";
import { FRAME_STREAM_FORMATS } from "../protocol/frame.js";
import type { CodecServerConfig } from "./codec-config.js";

/** A client's Codec version; the patch number is ignored. */
export interface ClientVersion {
  major: number;
  minor: number;
  /** `major.minor`, as echoed in 426 bodies. */
  text: string;
}

/** Assumed when the header is missing, as the sglang Codec engine does. */
export const DEFAULT_CLIENT_VERSION: ClientVersion = { major: 0, minor: 2, text: "0.2" };

const VERSION_PATTERN = /^v?(\d{1,4})\.(\d{1,4})(?:\.\d{1,6})?$/i;

/** Version that introduced each `Codec-*` response header; headers not listed always pass. */
const HEADER_FLOORS: ReadonlyMap<string, readonly [number, number]> = new Map([
  ["codec-tokenizer-map", [0, 2]],
  ["codec-zstd-dict", [0, 2]],
  ["codec-latent-map", [0, 3]],
  ["codec-map", [0, 3]],
  ["codec-safety-policy", [0, 4]],
  ["codec-safety-policy-hash", [0, 4]],
  ["codec-session", [0, 6]],
]);

/**
 * Parses `Codec-Client-Version`: `major.minor`, optionally with a leading `v` and a patch number
 * that is ignored. A missing header means 0.2.
 *
 * @throws HttpError 400 `CODEC_ERR_REQUEST_INVALID_CLIENT_VERSION` for any other value
 */
export function parseClientVersion(header: string | string[] | undefined): ClientVersion {
  if (header === undefined) return DEFAULT_CLIENT_VERSION;
  const value = Array.isArray(header) ? header.join(",") : header;
  const match = VERSION_PATTERN.exec(value.trim());
  if (match === null) {
    throw new HttpError(
      ERRORS.requestInvalidClientVersion,
      `invalid Codec-Client-Version '${value.slice(0, 40)}': send a bare minor version such as 0.5`,
      { param: "Codec-Client-Version", value },
    );
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return { major, minor, text: `${major}.${minor}` };
}

/** `stream_format` values that make a JSON-route request a Codec request. */
const BINARY_STREAM_FORMATS: ReadonlySet<unknown> = new Set(FRAME_STREAM_FORMATS);

/**
 * Returns whether a request to `/v1/completions` or `/v1/chat/completions` uses Codec: it sends
 * `Codec-Client-Version`, or its JSON body requests a binary `stream_format`. Only Codec requests
 * are subject to the version policy, because the policy is about Codec features and plain OpenAI
 * clients send no version. Every `/v1/completions/codec` request is a Codec request.
 */
export function isCodecRequest(
  versionHeader: string | string[] | undefined,
  body: unknown,
): boolean {
  if (versionHeader !== undefined) return true;
  if (typeof body !== "object" || body === null) return false;
  return BINARY_STREAM_FORMATS.has((body as { stream_format?: unknown }).stream_format);
}

/** Returns whether `version` is older than `major.minor`. */
export function isOlderThan(
  version: ClientVersion,
  [major, minor]: readonly [number, number],
): boolean {
  return version.major < major || (version.major === major && version.minor < minor);
}

/** The fields of a 426 refusal, in the shape upstream Codec clients parse. */
export interface VersionRequiredBody {
  error: "codec_version_required";
  minimum_version: string;
  required_features: string[];
  client_version: string;
  docs_url?: string;
  deployment_id?: string;
  /** This server's catalogue code, alongside the upstream fields. */
  code: string;
  message: string;
}

/**
 * Returns the 426 body when the strict policy refuses this client: its version is below the
 * minimum and the deployment makes at least one feature mandatory. A version mismatch alone,
 * with nothing mandatory, is never refused. Callers apply it to Codec requests only
 * (see {@link isCodecRequest}).
 */
export function versionRefusal(
  config: CodecServerConfig,
  client: ClientVersion,
): VersionRequiredBody | undefined {
  if (config.versionPolicy !== "strict" || config.requiredFeatures.length === 0) return undefined;
  const [major, minor] = config.minimumVersion.split(".").map(Number) as [number, number];
  if (!isOlderThan(client, [major, minor])) return undefined;

  return {
    error: "codec_version_required",
    minimum_version: config.minimumVersion,
    required_features: config.requiredFeatures,
    client_version: client.text,
    ...(config.docsUrl === undefined ? {} : { docs_url: config.docsUrl }),
    ...(config.deploymentId === undefined ? {} : { deployment_id: config.deploymentId }),
    code: ERRORS.codecVersionRequired.code,
    message:
      `this deployment requires Codec client version ${config.minimumVersion} or newer with ` +
      `${config.requiredFeatures.join(", ")}; the client sent ${client.text}. Upgrade the client.`,
  };
}

/** Sends a 426 with `Codec-Min-Version` and `Codec-Required-Features`. */
export async function sendVersionRequired(
  reply: FastifyReply,
  body: VersionRequiredBody,
): Promise<void> {
  await reply
    .code(426)
    .header("Codec-Min-Version", body.minimum_version)
    .header("Codec-Required-Features", body.required_features.join(", "))
    .type("application/json")
    .send(body);
}

/** Removes `Codec-*` headers newer than the client's version. */
export function filterCodecHeaders(
  headers: Record<string, string>,
  client: ClientVersion,
): Record<string, string> {
  const filtered: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const floor = HEADER_FLOORS.get(name.toLowerCase());
    if (floor === undefined || !isOlderThan(client, floor)) filtered[name] = value;
  }
  return filtered;
}

/** Returns the document served at `/.well-known/codec/version-policy.json`, or undefined for a 404. */
export function versionPolicyDocument(
  config: CodecServerConfig,
): Record<string, unknown> | undefined {
  if (config.versionPolicy === "off" || config.requiredFeatures.length === 0) return undefined;
  return {
    minimum_version: config.minimumVersion,
    required_features: config.requiredFeatures,
    deployment_id: config.deploymentId ?? null,
    ...(config.docsUrl === undefined ? {} : { docs_url: config.docsUrl }),
  };
}
