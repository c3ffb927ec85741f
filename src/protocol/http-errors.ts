/**
 * Errors for inference responses whose HTTP status is not 2xx, so a client reports the status
 * and the server's message instead of trying to decode an error body as Codec frames.
 */
import { CodecError } from "./errors.js";
import { readResponseBody } from "./response-body.js";
import { parseVersionRequired } from "./version-signaling.js";

const ENVELOPE_FIELDS = ["message", "code", "type", "param"] as const;
type EnvelopeField = (typeof ENVELOPE_FIELDS)[number];

/** Maximum length of a non-envelope body quoted in the message. */
const MAX_QUOTED_BODY = 300;

/** The fields of a non-2xx inference response. */
export interface HttpErrorDetails {
  status: number;
  /** The envelope's `error.message`, or the start of the body when it is not an envelope. */
  serverMessage: string | undefined;
  /** The envelope's `error.code`, e.g. `CODEC_ERR_REQUEST_INVALID_PARAM`. */
  serverCode: string | undefined;
  /** The envelope's `error.type`, e.g. `invalid_request_error`. */
  type: string | undefined;
  /** The envelope's `error.param`: the request field the error is about. */
  param: string | undefined;
  /** The parsed JSON body, or the raw text when the body is not JSON. */
  body: unknown;
}

/**
 * An inference response with a status other than 2xx and 426. When the body is an OpenAI error
 * envelope (`{"error": {"message", "type", "param", "code"}}`), its fields are copied here.
 * The server's own code is `serverCode`, because `code` is this library's stable
 * `CODEC_ERR_HTTP_STATUS`.
 */
export class CodecHttpError extends CodecError {
  static readonly code = "CODEC_ERR_HTTP_STATUS";
  declare readonly code: "CODEC_ERR_HTTP_STATUS";
  override readonly name = "CodecHttpError";
  readonly status: number;
  readonly serverMessage: string | undefined;
  readonly serverCode: string | undefined;
  readonly type: string | undefined;
  readonly param: string | undefined;
  readonly body: unknown;

  /** Creates the error from the status and the body's fields. */
  constructor(details: HttpErrorDetails) {
    const said = details.serverMessage === undefined ? "" : `: ${details.serverMessage}`;
    const labels = [
      ...(details.serverCode === undefined ? [] : [`code ${details.serverCode}`]),
      ...(details.param === undefined ? [] : [`param ${details.param}`]),
    ];
    const labelText = labels.length === 0 ? "" : ` (${labels.join(", ")})`;
    super(
      CodecHttpError.code,
      `The server answered HTTP ${details.status}${said}${labelText}. The body holds no Codec frames.`,
    );
    this.status = details.status;
    this.serverMessage = details.serverMessage;
    this.serverCode = details.serverCode;
    this.type = details.type;
    this.param = details.param;
    this.body = details.body;
  }
}

/**
 * Reads a non-2xx response into a {@link CodecHttpError}, or returns null for a 2xx response
 * without reading the body. A 426 is read by `parseVersionRequired` instead.
 */
export async function parseHttpError(response: Response): Promise<CodecHttpError | null> {
  if (response.ok) {
    return null;
  }

  const { text, body } = await readResponseBody(response);
  const envelope = errorEnvelope(body);
  const quoted = text.trim().slice(0, MAX_QUOTED_BODY);
  return new CodecHttpError({
    status: response.status,
    serverMessage: envelope?.message ?? (quoted === "" ? undefined : quoted),
    serverCode: envelope?.code,
    type: envelope?.type,
    param: envelope?.param,
    body,
  });
}

/**
 * Throws when `response` is not a 2xx response: {@link CodecVersionRequiredError} for a 426,
 * {@link CodecHttpError} for any other status. Returns without reading the body otherwise.
 * Call it on every inference response before reading frames.
 */
export async function throwIfHttpError(response: Response): Promise<void> {
  const versionRequired = await parseVersionRequired(response);
  if (versionRequired !== null) {
    throw versionRequired;
  }
  const error = await parseHttpError(response);
  if (error !== null) {
    throw error;
  }
}

/** Returns the string fields of `{"error": {...}}`, or undefined when `body` has another shape. */
function errorEnvelope(body: unknown): Partial<Record<EnvelopeField, string>> | undefined {
  if (typeof body !== "object" || body === null) {
    return undefined;
  }
  const error = (body as { error?: unknown }).error;
  if (typeof error !== "object" || error === null) {
    return undefined;
  }
  const fields: Partial<Record<EnvelopeField, string>> = {};
  for (const name of ENVELOPE_FIELDS) {
    const value = (error as Record<string, unknown>)[name];
    if (typeof value === "string") {
      fields[name] = value;
    }
  }
  return fields;
}
