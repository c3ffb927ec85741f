/** Reading of error response bodies that may or may not be JSON. */

/** The text of a response body and its parsed JSON, or the text again when it is not JSON. */
export interface ResponseBody {
  text: string;
  body: unknown;
}

/** Reads the whole body of `response`; a body that cannot be read counts as empty. */
export async function readResponseBody(response: Response): Promise<ResponseBody> {
  const text = await response.text().catch(() => "");
  try {
    return { text, body: JSON.parse(text) as unknown };
  } catch {
    return { text, body: text };
  }
}
