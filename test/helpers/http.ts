/** Sends a JSON POST and returns the response. */
export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Reads a whole SSE body and returns the `data:` payloads in order. */
export async function readSseData(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const dataLines = block.split("\n").filter((line) => line.startsWith("data: "));
      return dataLines.map((line) => line.slice("data: ".length)).join("\n");
    });
}

/** Reads a whole response body as bytes. */
export async function readBytes(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}
