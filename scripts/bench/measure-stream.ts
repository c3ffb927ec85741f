/** Wire bytes and timings of one streamed request. */
export interface StreamMeasurement {
  bodyBytes: number;
  /** Milliseconds from sending the request to the response headers. */
  headersMs: number;
  /** Milliseconds from sending the request to the first body byte. */
  firstByteMs: number;
  totalMs: number;
  /** Milliseconds from the first body byte to the last. */
  streamMs: number;
}

/** Posts `body` to `url` and reads the whole response, timing it. */
export async function measureStream(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<StreamMeasurement> {
  const startedAt = performance.now();
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const headersAt = performance.now();
  if (!response.ok || response.body === null)
    throw new Error(`HTTP ${response.status}: ${await response.text()}`);

  const reader = response.body.getReader();
  let bodyBytes = 0;
  let firstByteAt: number | undefined;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    firstByteAt ??= performance.now();
    bodyBytes += read.value.byteLength;
  }
  const endedAt = performance.now();
  return {
    bodyBytes,
    headersMs: headersAt - startedAt,
    firstByteMs: (firstByteAt ?? endedAt) - startedAt,
    totalMs: endedAt - startedAt,
    streamMs: endedAt - (firstByteAt ?? endedAt),
  };
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
