import type { ErrorEnvelope } from "../../http/envelope.js";
import type { GenerationResult, Usage } from "../generate.js";
import type { Release } from "../stop-filter.js";
import type { BodyChunk, ResponseIdentity, StreamEncoder } from "./stream-encoder.js";

const DONE = "data: [DONE]\n\n";

function event(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/**
 * OpenAI chunk events of one `object` type. With `include_usage`, every chunk carries
 * `usage: null` and one last chunk with no choices carries the usage. After headers, an
 * error is one `data:` event holding the envelope, then `[DONE]`.
 */
abstract class OpenAiSseEncoder implements StreamEncoder {
  readonly contentType = "text/event-stream; charset=utf-8";
  readonly headers = { "Cache-Control": "no-cache", "X-Accel-Buffering": "no" };
  readonly #identity: ResponseIdentity;
  readonly #includeUsage: boolean;
  readonly #object: string;

  protected constructor(identity: ResponseIdentity, includeUsage: boolean, object: string) {
    this.#identity = identity;
    this.#includeUsage = includeUsage;
    this.#object = object;
  }

  abstract open(): BodyChunk | undefined;
  abstract chunk(release: Release): BodyChunk | undefined;
  abstract close(result: GenerationResult): BodyChunk;

  fail(envelope: ErrorEnvelope): BodyChunk {
    return event(envelope) + DONE;
  }

  /** Builds one chunk event with these choices. */
  protected choicesEvent(choices: unknown[]): string {
    return event({
      ...this.#identity,
      object: this.#object,
      choices,
      ...(this.#includeUsage ? { usage: null } : {}),
    });
  }

  /** Builds the closing events: the usage chunk when requested, then `[DONE]`. */
  protected end(usage: Usage): string {
    const usageEvent = this.#includeUsage
      ? event({ ...this.#identity, object: this.#object, choices: [], usage })
      : "";
    return usageEvent + DONE;
  }
}

/** OpenAI `text_completion` chunks. */
export class CompletionSseEncoder extends OpenAiSseEncoder {
  constructor(identity: ResponseIdentity, includeUsage: boolean) {
    super(identity, includeUsage, "text_completion");
  }

  open(): undefined {
    return undefined;
  }

  chunk(release: Release): BodyChunk | undefined {
    if (release.text === "") return undefined;
    return this.choicesEvent([choice(release.text, null)]);
  }

  close(result: GenerationResult): BodyChunk {
    return (
      this.choicesEvent([choice(result.tail.text, result.finishReason)]) + this.end(result.usage)
    );
  }
}

/** OpenAI `chat.completion.chunk` events: a role delta first, then content deltas. */
export class ChatSseEncoder extends OpenAiSseEncoder {
  constructor(identity: ResponseIdentity, includeUsage: boolean) {
    super(identity, includeUsage, "chat.completion.chunk");
  }

  open(): BodyChunk {
    return this.choicesEvent([delta({ role: "assistant", content: "" }, null)]);
  }

  chunk(release: Release): BodyChunk | undefined {
    if (release.text === "") return undefined;
    return this.choicesEvent([delta({ content: release.text }, null)]);
  }

  close(result: GenerationResult): BodyChunk {
    const tail =
      result.tail.text === ""
        ? ""
        : this.choicesEvent([delta({ content: result.tail.text }, null)]);
    return tail + this.choicesEvent([delta({}, result.finishReason)]) + this.end(result.usage);
  }
}

function choice(text: string, finishReason: string | null) {
  return { index: 0, text, logprobs: null, finish_reason: finishReason };
}

function delta(content: Record<string, string>, finishReason: string | null) {
  return { index: 0, delta: content, logprobs: null, finish_reason: finishReason };
}
