import type { IncomingHttpHeaders } from "node:http";

import type { ErrorEnvelope } from "../../http/envelope.js";
import { encodeMsgpackFrame } from "../../protocol/msgpack-frame.js";
import { MsgpackValueScanner } from "../../protocol/msgpack-scanner.js";
import { encodeProtobufFrame } from "../../protocol/protobuf-frame.js";

/**
 * Splits a streamed response body at message boundaries, so the proxy forwards only whole
 * SSE events or Codec frames. When the backend dies mid-stream, the client has therefore
 * received complete messages only, and the proxy can append a well-formed terminal message.
 */
export interface FrameBoundaries {
  /** Adds upstream bytes and returns the bytes that complete whole messages (possibly empty). */
  push(chunk: Buffer): Buffer;
  /** Returns and drops the bytes of an unfinished message, for a stream that ended cleanly. */
  rest(): Buffer;
  /** The message that ends the stream with an error, in this stream's format. */
  terminalError(envelope: ErrorEnvelope): Buffer;
}

/**
 * Returns a boundary tracker for responses whose framing the proxy knows (SSE, Codec
 * msgpack, Codec protobuf), or `undefined` for anything else. Compressed bodies are never
 * split, since their boundaries are not visible without decompressing them.
 */
export function frameBoundariesFor(headers: IncomingHttpHeaders): FrameBoundaries | undefined {
  const encoding = String(headers["content-encoding"] ?? "identity")
    .trim()
    .toLowerCase();
  if (encoding !== "identity" && encoding !== "") return undefined;

  const contentType = String(headers["content-type"] ?? "")
    .split(";")[0]!
    .trim()
    .toLowerCase();
  switch (contentType) {
    case "text/event-stream":
      return new SseBoundaries();
    case "application/x-msgpack":
      return new MsgpackBoundaries();
    case "application/x-protobuf":
      return new ProtobufBoundaries();
    default:
      return undefined;
  }
}

/** Accumulates bytes until whole messages can be cut from the front. */
abstract class Accumulator implements FrameBoundaries {
  protected pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const complete = this.completeLength();
    const whole = this.pending.subarray(0, complete);
    this.pending = this.pending.subarray(complete);
    this.consumed(complete);
    return whole;
  }

  rest(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }

  /** Bytes at the front of `pending` that form whole messages. */
  protected abstract completeLength(): number;

  /** Called after `count` bytes were cut from the front of `pending`. */
  protected consumed(_count: number): void {}

  abstract terminalError(envelope: ErrorEnvelope): Buffer;
}

/** SSE events end with a blank line (`\n\n`, or `\r\n\r\n`). */
class SseBoundaries extends Accumulator {
  protected completeLength(): number {
    const lf = this.pending.lastIndexOf("\n\n");
    const crlf = this.pending.lastIndexOf("\r\n\r\n");
    return Math.max(lf < 0 ? 0 : lf + 2, crlf < 0 ? 0 : crlf + 4);
  }

  terminalError(envelope: ErrorEnvelope): Buffer {
    return Buffer.from(`data: ${JSON.stringify(envelope)}\n\ndata: [DONE]\n\n`);
  }
}

/** msgpack frames have no length prefix, so a scanner finds where each map ends. */
class MsgpackBoundaries extends Accumulator {
  readonly #scanner = new MsgpackValueScanner();
  /** Offset in `pending` where the frame being scanned starts. */
  #frameStart = 0;

  protected completeLength(): number {
    for (;;) {
      const length = this.#scanner.scan(this.pending.subarray(this.#frameStart));
      if (length < 0) return this.#frameStart;
      this.#frameStart += length;
      this.#scanner.reset();
    }
  }

  protected override consumed(count: number): void {
    this.#frameStart -= count;
  }

  terminalError(_envelope: ErrorEnvelope): Buffer {
    return Buffer.from(encodeMsgpackFrame({ ids: [], done: true, finish_reason: "error" }));
  }
}

/** Protobuf frames start with a 4-byte big-endian length. */
class ProtobufBoundaries extends Accumulator {
  protected completeLength(): number {
    let offset = 0;
    while (this.pending.length - offset >= 4) {
      const frameLength = 4 + this.pending.readUInt32BE(offset);
      if (this.pending.length - offset < frameLength) break;
      offset += frameLength;
    }
    return offset;
  }

  terminalError(_envelope: ErrorEnvelope): Buffer {
    return Buffer.from(encodeProtobufFrame({ ids: [], done: true, finish_reason: "error" }));
  }
}
