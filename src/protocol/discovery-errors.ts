/**
 * Errors raised by `.well-known/codec/` discovery and by version signalling. Their codes are
 * listed in `CODEC_ERROR_CODES` in errors.ts.
 */
import { CodecError, describeValue } from "./errors.js";

/** A `.well-known/codec/` document or dictionary returned HTTP 404. */
export class CodecDiscoveryNotFoundError extends CodecError {
  static readonly code = "CODEC_ERR_DISCOVERY_NOT_FOUND";
  declare readonly code: "CODEC_ERR_DISCOVERY_NOT_FOUND";
  override readonly name = "CodecDiscoveryNotFoundError";
  readonly url: string;

  /** Creates the error for the URL that returned 404. */
  constructor(url: string) {
    super(
      CodecDiscoveryNotFoundError.code,
      `Not found: ${url} returned HTTP 404. Check the origin and the map id or dictionary hash.`,
    );
    this.url = url;
  }
}

/** A discovery fetch failed: a network error, a status other than 2xx or 404, or a body that is not JSON. */
export class CodecDiscoveryFetchError extends CodecError {
  static readonly code = "CODEC_ERR_DISCOVERY_FETCH_FAILED";
  declare readonly code: "CODEC_ERR_DISCOVERY_FETCH_FAILED";
  override readonly name = "CodecDiscoveryFetchError";
  readonly url: string;
  /** The HTTP status, when a response arrived. */
  readonly status: number | undefined;

  /** Creates the error. `failure` describes the failure, e.g. `the server returned HTTP 500`. */
  constructor(url: string, status: number | undefined, failure: string, cause?: unknown) {
    super(
      CodecDiscoveryFetchError.code,
      `Failed to fetch ${url}: ${failure}.`,
      cause === undefined ? undefined : { cause },
    );
    this.url = url;
    this.status = status;
  }
}

/**
 * A well-known map document has the pointer shape (`id`, `url`, `hash`, no `vocab` or `tokens`)
 * but a field is invalid: `url` is not an absolute http(s) URL or `hash` is not `sha256:<64 hex>`.
 */
export class CodecDiscoveryPointerError extends CodecError {
  static readonly code = "CODEC_ERR_DISCOVERY_POINTER_INVALID";
  declare readonly code: "CODEC_ERR_DISCOVERY_POINTER_INVALID";
  override readonly name = "CodecDiscoveryPointerError";
  /** URL of the pointer document. */
  readonly url: string;
  /** The pointer field that is invalid. */
  readonly field: string;
  readonly value: unknown;

  /** Creates the error. `problem` states the rule the field breaks. */
  constructor(url: string, field: string, value: unknown, problem: string) {
    super(
      CodecDiscoveryPointerError.code,
      `Invalid map pointer at ${url}: ${field} ${problem} (received ${describeValue(value)}).`,
    );
    this.url = url;
    this.field = field;
    this.value = value;
  }
}

/** The `id` of a well-known pointer or inline map differs from the id requested. */
export class CodecDiscoveryIdMismatchError extends CodecError {
  static readonly code = "CODEC_ERR_DISCOVERY_ID_MISMATCH";
  declare readonly code: "CODEC_ERR_DISCOVERY_ID_MISMATCH";
  override readonly name = "CodecDiscoveryIdMismatchError";
  readonly url: string;
  /** The id requested. */
  readonly expected: string;
  /** The id in the document. */
  readonly actual: string;

  /** Creates the error from the requested id and the id found in the document. */
  constructor(url: string, expected: string, actual: string) {
    super(
      CodecDiscoveryIdMismatchError.code,
      `The document at ${url} is for map ${JSON.stringify(actual)}, not the requested ${JSON.stringify(expected)}. ` +
        `The origin serves the wrong file at this path.`,
    );
    this.url = url;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The sha256 of a fetched zstd dictionary differs from the hash in its URL. */
export class CodecDictHashMismatchError extends CodecError {
  static readonly code = "CODEC_ERR_DICT_HASH_MISMATCH";
  declare readonly code: "CODEC_ERR_DICT_HASH_MISMATCH";
  override readonly name = "CodecDictHashMismatchError";
  readonly url: string;
  /** The hash requested, `sha256:<64 lowercase hex>`. */
  readonly expected: string;
  /** The hash of the bytes received, in the same form. */
  readonly actual: string;

  /** Creates the error from the requested and the computed hash. */
  constructor(url: string, expected: string, actual: string) {
    super(
      CodecDictHashMismatchError.code,
      `Hash mismatch for the zstd dictionary at ${url}: expected ${expected}, got ${actual}. ` +
        `Do not use these bytes; the origin serves a wrong or corrupted dictionary.`,
    );
    this.url = url;
    this.expected = expected;
    this.actual = actual;
  }
}

/** `.well-known/codec/version-policy.json` exists but lacks `minimum_version` or `required_features`. */
export class CodecVersionPolicyError extends CodecError {
  static readonly code = "CODEC_ERR_VERSION_POLICY_INVALID";
  declare readonly code: "CODEC_ERR_VERSION_POLICY_INVALID";
  override readonly name = "CodecVersionPolicyError";
  readonly url: string;
  /** The parsed document. */
  readonly document: unknown;

  /** Creates the error. `problem` names the missing or invalid field. */
  constructor(url: string, document: unknown, problem: string) {
    super(
      CodecVersionPolicyError.code,
      `Invalid version policy at ${url}: ${problem} (received ${describeValue(document)}).`,
    );
    this.url = url;
    this.document = document;
  }
}

/** The fields of a Codec `426 Upgrade Required` response. */
export interface VersionRequiredDetails {
  /** Lowest client version the server accepts, e.g. `0.4`. */
  minimumVersion: string;
  /** Features the server requires, e.g. `safety-policy-enforcement`. May hold values this client does not know. */
  requiredFeatures: string[];
  /** The client version the server saw, or this client's version when the body does not say. */
  clientVersion: string;
  docsUrl: string | undefined;
  deploymentId: string | undefined;
  /** The parsed JSON body, or the raw text when the body is not JSON. */
  body: unknown;
}

/**
 * The server refused the request with HTTP 426 because this client's Codec version is below
 * what the deployment requires. Do not retry the same request: upgrade the client or enable the
 * required features.
 */
export class CodecVersionRequiredError extends CodecError {
  static readonly code = "CODEC_ERR_VERSION_REQUIRED";
  declare readonly code: "CODEC_ERR_VERSION_REQUIRED";
  override readonly name = "CodecVersionRequiredError";
  readonly minimumVersion: string;
  readonly requiredFeatures: string[];
  readonly clientVersion: string;
  readonly docsUrl: string | undefined;
  readonly deploymentId: string | undefined;
  /** The parsed JSON body, or the raw text when the body is not JSON. */
  readonly body: unknown;

  /** Creates the error from the parsed response fields. */
  constructor(details: VersionRequiredDetails) {
    const features =
      details.requiredFeatures.length > 0
        ? ` with features ${details.requiredFeatures.join(", ")}`
        : "";
    const docs = details.docsUrl === undefined ? "" : ` See ${details.docsUrl}.`;
    super(
      CodecVersionRequiredError.code,
      `The Codec server requires client version ${details.minimumVersion}${features}; ` +
        `this client sent ${details.clientVersion}. Upgrade the client before retrying.${docs}`,
    );
    this.minimumVersion = details.minimumVersion;
    this.requiredFeatures = details.requiredFeatures;
    this.clientVersion = details.clientVersion;
    this.docsUrl = details.docsUrl;
    this.deploymentId = details.deploymentId;
    this.body = details.body;
  }
}
