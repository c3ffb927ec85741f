import { ByteQueue } from "./byte-queue.js";
import {
  CodecFrameTooLargeError,
  CodecInvalidArgumentError,
  CodecMalformedFrameError,
  CodecStreamMissingDoneError,
  CodecStreamTruncatedError,
} from "./errors.js";
import type { BinaryStreamFormat, CodecFrame, DecodableStreamFormat } from "./frame.js";
import { decodeMsgpackDeltaFrame, isMsgpackDeltaFrame } from "./msgpack-delta-frame.js";
import { decodeMsgpackFrame, decodeMsgpackValue } from "./msgpack-frame.js";
import { MsgpackValueScanner } from "./msgpack-scanner.js";
import { decodeProtobufFrameMessage, PROTOBUF_PREFIX_BYTES } from "./protobuf-frame.js";

/**
 * Default maximum frame size, 16 MiB. A frame carries the IDs of one engine chunk, usually
 * one token (about 15 bytes), so this is far above any real frame. It only stops a corrupt
 * length from making the decoder buffer without bound.
 */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Options of {@link decodeStream}. */
export interface DecodeStreamOptions {
  /** Largest accepted frame in bytes, the protobuf length prefix included. Defaults to {@link DEFAULT_MAX_FRAME_BYTES}. */
  maxFrameBytes?: number;
}

/** Cuts whole frames off the front of the buffered bytes. */
interface Framer {
  /** Decodes and consumes the next frame, or returns undefined when it is not complete yet. */
  next(queue: ByteQueue): CodecFrame | undefined;
  /** Builds the error for a body that ended with an incomplete frame buffered. */
  truncated(queue: ByteQueue): CodecStreamTruncatedError;
}

/**
 * Decodes a Codec response body into frames, for example `decodeStream(response.body!,
 * "msgpack")` after a `fetch`.
 *
 * Frames may be split across chunks at any byte. Decoding stops right after the frame with
 * `done: true`, ignores any bytes after it and cancels the body. Leaving the loop early also
 * cancels the body. The body must already be decompressed.
 *
 * `"msgpack"` and `"msgpack-delta"` read the same streams: each frame is recognised by its keys
 * (`ids`, or `ids_delta` and `base_id`), because a server may decline the delta format a client
 * asked for, or send it without being asked. Delta frames come out with their IDs restored.
 * `"protobuf-delta"` reads plain protobuf frames, which is what servers send for it.
 * Frames carry `tool_calls` when the server-side ToolWatcher closed a region in that chunk.
 *
 * @example
 * ```ts
 * for await (const frame of decodeStream(response.body!, "protobuf")) {
 *   text += detokenizer.render(frame.ids, { partial: !frame.done });
 * }
 * ```
 * @throws {@link CodecStreamTruncatedError} when the body ends inside a frame
 * @throws {@link CodecStreamMissingDoneError} when the body ends between frames before a `done` frame
 * @throws {@link CodecMalformedFrameError} when a frame does not follow the wire format
 * @throws {@link CodecFrameTooLargeError} when a frame is larger than `maxFrameBytes`
 * @throws {@link CodecInvalidArgumentError} on an unknown format or a chunk that is not a Uint8Array
 */
export async function* decodeStream(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  format: DecodableStreamFormat,
  options: DecodeStreamOptions = {},
): AsyncGenerator<CodecFrame, void, undefined> {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) {
    throw new CodecInvalidArgumentError(
      "options.maxFrameBytes",
      maxFrameBytes,
      "a positive integer",
    );
  }
  const framer = createFramer(format, maxFrameBytes);
  const queue = new ByteQueue();
  let framesDecoded = 0;

  for await (const chunk of readChunks(body)) {
    if (!isUint8Array(chunk)) {
      throw new CodecInvalidArgumentError("body chunk", chunk, "Uint8Array chunks");
    }
    queue.push(chunk);

    let frame = framer.next(queue);
    while (frame !== undefined) {
      framesDecoded++;
      yield frame;
      if (frame.done) {
        return;
      }
      frame = framer.next(queue);
    }
  }

  if (queue.length > 0) {
    throw framer.truncated(queue);
  }
  throw new CodecStreamMissingDoneError(wireMode(format), framesDecoded, queue.offset);
}

/** Returns the wire mode that errors report. A delta stream is read in its base wire mode. */
function wireMode(format: DecodableStreamFormat): BinaryStreamFormat {
  return format === "protobuf" || format === "protobuf-delta" ? "protobuf" : "msgpack";
}

function createFramer(format: DecodableStreamFormat, maxFrameBytes: number): Framer {
  if (format === "msgpack" || format === "msgpack-delta") {
    return new MsgpackFramer(maxFrameBytes);
  }
  if (format === "protobuf" || format === "protobuf-delta") {
    return new ProtobufFramer(maxFrameBytes);
  }
  throw new CodecInvalidArgumentError(
    "format",
    format,
    `"msgpack", "msgpack-delta", "protobuf" or "protobuf-delta"`,
  );
}

/**
 * Iterates a ReadableStream through its reader, because not every browser makes
 * ReadableStream async-iterable. Stopping early cancels the stream, which closes the
 * connection of a fetch response.
 */
export async function* readChunks(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (!("getReader" in body) || typeof body.getReader !== "function") {
    yield* body as AsyncIterable<Uint8Array>;
    return;
  }

  const reader = body.getReader();
  let finished = false;
  try {
    for (;;) {
      const result = await reader.read();
      if (result.done) {
        finished = true;
        return;
      }
      yield result.value;
    }
  } finally {
    if (!finished) {
      // The caller already has its frames or its error. A failed cancel of an errored or
      // closed body changes nothing for it, so the rejection is dropped.
      await reader.cancel().catch(() => undefined);
    }
    reader.releaseLock();
  }
}

/** msgpack frames have no length prefix: the scanner finds where each map ends. */
class MsgpackFramer implements Framer {
  readonly #scanner = new MsgpackValueScanner();
  readonly #maxFrameBytes: number;
  /** Last ID decoded so far, the base of a delta frame that leaves out `base_id`. */
  #lastId = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  next(queue: ByteQueue): CodecFrame | undefined {
    const bytes = queue.view();
    if (bytes.length === 0) {
      return undefined;
    }
    const head = bytes[0] as number;
    if (!isMsgpackMapHead(head)) {
      throw new CodecMalformedFrameError({
        format: "msgpack",
        reason: `a frame must be a msgpack map, but it starts with byte 0x${head.toString(16).padStart(2, "0")}`,
        offset: queue.offset,
        value: head,
      });
    }

    let length: number;
    try {
      length = this.#scanner.scan(bytes);
    } catch (error) {
      throw new CodecMalformedFrameError({
        format: "msgpack",
        reason: "byte 0xc1 is not a valid msgpack type",
        offset: queue.offset + this.#scanner.scannedBytes,
        cause: error,
      });
    }

    if (length === -1) {
      if (bytes.length > this.#maxFrameBytes) {
        throw new CodecFrameTooLargeError(
          "msgpack",
          queue.offset,
          bytes.length,
          this.#maxFrameBytes,
        );
      }
      return undefined;
    }
    if (length > this.#maxFrameBytes) {
      throw new CodecFrameTooLargeError("msgpack", queue.offset, length, this.#maxFrameBytes);
    }

    const value = decodeMsgpackValue(bytes.subarray(0, length), queue.offset);
    const frame = isMsgpackDeltaFrame(value)
      ? decodeMsgpackDeltaFrame(value, this.#lastId, queue.offset)
      : decodeMsgpackFrame(value, queue.offset);
    this.#lastId = frame.ids.at(-1) ?? this.#lastId;
    queue.consume(length);
    this.#scanner.reset();
    return frame;
  }

  truncated(queue: ByteQueue): CodecStreamTruncatedError {
    return new CodecStreamTruncatedError({
      format: "msgpack",
      offset: queue.offset,
      receivedBytes: queue.length,
    });
  }
}

/** protobuf frames are a 4-byte unsigned big-endian length, then that many message bytes. */
class ProtobufFramer implements Framer {
  readonly #maxFrameBytes: number;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  next(queue: ByteQueue): CodecFrame | undefined {
    const bytes = queue.view();
    if (bytes.length < PROTOBUF_PREFIX_BYTES) {
      return undefined;
    }

    const frameBytes = PROTOBUF_PREFIX_BYTES + readMessageLength(bytes);
    if (frameBytes > this.#maxFrameBytes) {
      throw new CodecFrameTooLargeError("protobuf", queue.offset, frameBytes, this.#maxFrameBytes);
    }
    if (bytes.length < frameBytes) {
      return undefined;
    }

    const message = bytes.subarray(PROTOBUF_PREFIX_BYTES, frameBytes);
    const frame = decodeProtobufFrameMessage(message, queue.offset + PROTOBUF_PREFIX_BYTES);
    queue.consume(frameBytes);
    return frame;
  }

  truncated(queue: ByteQueue): CodecStreamTruncatedError {
    const bytes = queue.view();
    return new CodecStreamTruncatedError({
      format: "protobuf",
      offset: queue.offset,
      receivedBytes: bytes.length,
      expectedBytes:
        bytes.length < PROTOBUF_PREFIX_BYTES
          ? undefined
          : PROTOBUF_PREFIX_BYTES + readMessageLength(bytes),
    });
  }
}

function readMessageLength(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, PROTOBUF_PREFIX_BYTES).getUint32(0, false);
}

/** Checks the tag as well as the prototype, so chunks from another realm (an iframe) pass. */
function isUint8Array(value: unknown): value is Uint8Array {
  return (
    value instanceof Uint8Array || Object.prototype.toString.call(value) === "[object Uint8Array]"
  );
}

/** fixmap (0x80-0x8f), map 16 (0xde) or map 32 (0xdf). */
function isMsgpackMapHead(head: number): boolean {
  return (head >= 0x80 && head <= 0x8f) || head === 0xde || head === 0xdf;
}
