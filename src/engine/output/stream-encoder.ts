import type { ErrorEnvelope } from "../../http/envelope.js";
import type { GenerationResult } from "../generate.js";
import type { Release } from "../stop-filter.js";

/** One piece of a streamed response body. */
export type BodyChunk = string | Uint8Array;

/**
 * Turns a generation into one wire format (SSE or Codec frames). Every streamed
 * response, whatever its format, goes through the same calls in the same order:
 * `open` once, `chunk` per release, then exactly one of `close` or `fail`.
 */
export interface StreamEncoder {
  readonly contentType: string;
  /** Headers beyond Content-Type, e.g. `Vary`. */
  readonly headers: Readonly<Record<string, string>>;
  open(): BodyChunk | undefined;
  chunk(release: Release): BodyChunk | undefined;
  close(result: GenerationResult): BodyChunk;
  /** The terminal chunk for an error after headers were sent. */
  fail(envelope: ErrorEnvelope): BodyChunk;
}

/** Identity of a response, repeated in every OpenAI chunk. */
export interface ResponseIdentity {
  id: string;
  /** Unix time in seconds. */
  created: number;
  model: string;
}
