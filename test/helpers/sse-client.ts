import { createParser } from "eventsource-parser";

/** One received server-sent event, with its JSON payload parsed. */
export interface ReceivedEvent {
  id: string | undefined;
  type: string;
  payload: { type: string; at: string; data: any };
}

/** An open SSE connection that collects events until it is closed. */
export interface SseSubscription {
  events: ReceivedEvent[];
  /** Raw text received, comments included. */
  text(): string;
  /** Resolves with the first collected event matching `predicate`, or fails after `timeoutMs`. */
  waitFor(predicate: (event: ReceivedEvent) => boolean, timeoutMs?: number): Promise<ReceivedEvent>;
  close(): void;
}

/** Opens `url` as an event stream and collects what arrives. */
export async function subscribe(
  url: string,
  headers: Record<string, string> = {},
): Promise<SseSubscription> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: "text/event-stream", ...headers },
    signal: controller.signal,
  });
  if (!response.ok || response.body === null)
    throw new Error(`event stream answered HTTP ${response.status}`);

  const events: ReceivedEvent[] = [];
  let raw = "";
  const parser = createParser({
    onEvent(message) {
      events.push({
        id: message.id,
        type: message.event ?? "message",
        payload: JSON.parse(message.data),
      });
    },
  });
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        raw += text;
        parser.feed(text);
      }
    } catch {
      // The stream ends with an abort when the test closes it.
    }
  })();

  return {
    events,
    text: () => raw,
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(predicate);
        if (found !== undefined) return found;
        if (Date.now() > deadline)
          throw new Error(
            `no matching event within ${timeoutMs} ms; got ${events.map((event) => event.type).join(", ")}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => controller.abort(),
  };
}
