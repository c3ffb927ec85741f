import type { ErrorEnvelope } from "../../http/envelope.js";
import {
  BINARY_CONTENT_TYPES,
  type BinaryStreamFormat,
  type CodecFrame,
  type StreamFormat,
} from "../../protocol/frame.js";
import { MsgpackDeltaEncoder } from "../../protocol/msgpack-delta-frame.js";
import { encodeMsgpackFrame } from "../../protocol/msgpack-frame.js";
import { encodeProtobufFrame } from "../../protocol/protobuf-frame.js";
import type { GenerationResult } from "../generate.js";
import type { Release } from "../stop-filter.js";
import type { BodyChunk, StreamEncoder } from "./stream-encoder.js";
import type { ToolCallDetector } from "./tool-call-detector.js";

/** Returns the binary wire mode sent for a `stream_format`. `protobuf-delta` is declined with plain protobuf. */
export function wireModeOf(format: Exclude<StreamFormat, "json">): BinaryStreamFormat {
  return format === "protobuf" || format === "protobuf-delta" ? "protobuf" : "msgpack";
}

/**
 * Codec binary frames: one frame per release carrying its token IDs, then a terminal frame
 * with `done: true` and the finish reason. With a ToolWatcher, markers and region bodies are
 * withheld, and closed regions travel on their chunk's frame as `tool_calls`. A chunk that leaves
 * nothing to send sends no frame. An error after headers becomes the terminal frame
 * `{ids: [], done: true, finish_reason: "error"}`, as upstream engines send.
 */
export class CodecFrameEncoder implements StreamEncoder {
  readonly contentType: string;
  readonly headers = { "Cache-Control": "no-cache", Vary: "Accept-Encoding" };
  readonly #encodeFrame: (frame: CodecFrame) => Uint8Array;
  readonly #detector: ToolCallDetector | undefined;

  constructor(format: Exclude<StreamFormat, "json">, detector?: ToolCallDetector) {
    const wireMode = wireModeOf(format);
    this.contentType = BINARY_CONTENT_TYPES[wireMode];
    if (format === "msgpack-delta") {
      const delta = new MsgpackDeltaEncoder();
      this.#encodeFrame = (frame) => delta.encode(frame);
    } else {
      this.#encodeFrame = wireMode === "msgpack" ? encodeMsgpackFrame : encodeProtobufFrame;
    }
    this.#detector = detector;
  }

  open(): undefined {
    return undefined;
  }

  chunk(release: Release): BodyChunk | undefined {
    if (release.ids.length === 0) return undefined;
    if (this.#detector === undefined) return this.#encodeFrame({ ids: release.ids, done: false });

    const watched = this.#detector.feed(release.ids);
    if (watched.ids.length === 0 && watched.toolCalls.length === 0) return undefined;
    return this.#encodeFrame({
      ids: watched.ids,
      done: false,
      ...toolCallsField(watched.toolCalls),
    });
  }

  close(result: GenerationResult): BodyChunk {
    if (this.#detector === undefined) {
      return this.#encodeFrame({
        ids: result.tail.ids,
        done: true,
        finish_reason: result.finishReason,
      });
    }
    const watched = this.#detector.feed(result.tail.ids);
    const ids = [...watched.ids, ...this.#detector.end()];
    return this.#encodeFrame({
      ids,
      done: true,
      finish_reason: result.finishReason,
      ...toolCallsField(watched.toolCalls),
    });
  }

  fail(_envelope: ErrorEnvelope): BodyChunk {
    return this.#encodeFrame({ ids: [], done: true, finish_reason: "error" });
  }
}

function toolCallsField(toolCalls: CodecFrame["tool_calls"]): Pick<CodecFrame, "tool_calls"> {
  return toolCalls === undefined || toolCalls.length === 0 ? {} : { tool_calls: toolCalls };
}
