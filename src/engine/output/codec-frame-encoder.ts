import type { ErrorEnvelope } from "../../http/envelope.js";
import { BINARY_CONTENT_TYPES, type BinaryStreamFormat, type CodecFrame } from "../../protocol/frame.js";
import { encodeMsgpackFrame } from "../../protocol/msgpack-frame.js";
import { encodeProtobufFrame } from "../../protocol/protobuf-frame.js";
import type { GenerationResult } from "../generate.js";
import type { Release } from "../stop-filter.js";
import type { BodyChunk, StreamEncoder } from "./stream-encoder.js";

/**
 * Codec binary frames: one frame per release carrying its token IDs, then a terminal
 * frame with `done: true` and the finish reason. An error after headers becomes the
 * terminal frame `{ids: [], done: true, finish_reason: "error"}`, as upstream engines send.
 */
export class CodecFrameEncoder implements StreamEncoder {
  readonly contentType: string;
  readonly headers = { "Cache-Control": "no-cache", Vary: "Accept-Encoding" };
  readonly #encodeFrame: (frame: CodecFrame) => Uint8Array;

  constructor(format: BinaryStreamFormat) {
    this.contentType = BINARY_CONTENT_TYPES[format];
    this.#encodeFrame = format === "msgpack" ? encodeMsgpackFrame : encodeProtobufFrame;
  }

  open(): undefined {
    return undefined;
  }

  chunk(release: Release): BodyChunk | undefined {
    if (release.ids.length === 0) return undefined;
    return this.#encodeFrame({ ids: release.ids, done: false });
  }

  close(result: GenerationResult): BodyChunk {
    return this.#encodeFrame({ ids: result.tail.ids, done: true, finish_reason: result.finishReason });
  }

  fail(_envelope: ErrorEnvelope): BodyChunk {
    return this.#encodeFrame({ ids: [], done: true, finish_reason: "error" });
  }
}
