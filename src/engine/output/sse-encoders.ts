import type { ErrorEnvelope } from "../../http/envelope.js";
import type { GenerationResult } from "../generate.js";
import type { Release } from "../stop-filter.js";
import type { BodyChunk, ResponseIdentity, StreamEncoder } from "./stream-encoder.js";

const SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8";
const SSE_HEADERS = { "Cache-Control": "no-cache", "X-Accel-Buffering": "no" };
const DONE = "data: [DONE]\n\n";

function event(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** After headers, an error is one `data:` event holding the envelope, then `[DONE]`. */
function errorEvent(envelope: ErrorEnvelope): string {
  return event(envelope) + DONE;
}

/**
 * OpenAI `text_completion` chunks. With `include_usage`, every chunk carries
 * `usage: null` and one last chunk with no choices carries the usage.
 */
export class CompletionSseEncoder implements StreamEncoder {
  readonly contentType = SSE_CONTENT_TYPE;
  readonly headers = SSE_HEADERS;
  readonly #identity: ResponseIdentity;
  readonly #includeUsage: boolean;

  constructor(identity: ResponseIdentity, includeUsage: boolean) {
    this.#identity = identity;
    this.#includeUsage = includeUsage;
  }

  open(): undefined {
    return undefined;
  }

  chunk(release: Release): BodyChunk | undefined {
    if (release.text === "") return undefined;
    return event(this.#payload([this.#choice(release.text, null)]));
  }

  close(result: GenerationResult): BodyChunk {
    let body = event(this.#payload([this.#choice(result.tail.text, result.finishReason)]));
    if (this.#includeUsage) body += event({ ...this.#payload([]), usage: result.usage });
    return body + DONE;
  }

  fail(envelope: ErrorEnvelope): BodyChunk {
    return errorEvent(envelope);
  }

  #choice(text: string, finishReason: string | null) {
    return { index: 0, text, logprobs: null, finish_reason: finishReason };
  }

  #payload(choices: unknown[]) {
    return {
      ...this.#identity,
      object: "text_completion",
      choices,
      ...(this.#includeUsage ? { usage: null } : {}),
    };
  }
}

/** OpenAI `chat.completion.chunk` events: a role delta first, then content deltas. */
export class ChatSseEncoder implements StreamEncoder {
  readonly contentType = SSE_CONTENT_TYPE;
  readonly headers = SSE_HEADERS;
  readonly #identity: ResponseIdentity;
  readonly #includeUsage: boolean;

  constructor(identity: ResponseIdentity, includeUsage: boolean) {
    this.#identity = identity;
    this.#includeUsage = includeUsage;
  }

  open(): BodyChunk {
    return event(this.#payload([this.#choice({ role: "assistant", content: "" }, null)]));
  }

  chunk(release: Release): BodyChunk | undefined {
    if (release.text === "") return undefined;
    return event(this.#payload([this.#choice({ content: release.text }, null)]));
  }

  close(result: GenerationResult): BodyChunk {
    let body = "";
    if (result.tail.text !== "") body += event(this.#payload([this.#choice({ content: result.tail.text }, null)]));
    body += event(this.#payload([this.#choice({}, result.finishReason)]));
    if (this.#includeUsage) body += event({ ...this.#payload([]), usage: result.usage });
    return body + DONE;
  }

  fail(envelope: ErrorEnvelope): BodyChunk {
    return errorEvent(envelope);
  }

  #choice(delta: Record<string, string>, finishReason: string | null) {
    return { index: 0, delta, logprobs: null, finish_reason: finishReason };
  }

  #payload(choices: unknown[]) {
    return {
      ...this.#identity,
      object: "chat.completion.chunk",
      choices,
      ...(this.#includeUsage ? { usage: null } : {}),
    };
  }
}
