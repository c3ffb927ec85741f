import { ERRORS, HttpError } from "../../http/errors.js";

/**
 * Parses a buffered request body as JSON whatever its Content-Type, as OpenAI-compatible
 * servers do (`curl -d` sends `application/x-www-form-urlencoded`).
 */
export function readJsonBody(body: unknown): unknown {
  if (!(body instanceof Uint8Array) || body.byteLength === 0) {
    throw new HttpError(ERRORS.requestInvalidJson, "request body is empty; send a JSON object");
  }

  const text = new TextDecoder().decode(body);
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpError(ERRORS.requestInvalidJson, `request body is not valid JSON: ${reason}`, {
      cause: error,
    });
  }
}
