import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  CodecFrameTooLargeError,
  CodecInvalidArgumentError,
  CodecMalformedFrameError,
  CodecStreamMissingDoneError,
  CodecStreamTruncatedError,
  decodeStream,
  encodeMsgpackFrame,
  encodeProtobufFrame,
} from "../src/protocol/index.js";
import type { BinaryStreamFormat, CodecFrame } from "../src/protocol/index.js";
import { concat, fromHex } from "./helpers/bytes.js";

async function* chunksOf(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    yield part;
  }
}

/** A ReadableStream over `parts` that records whether it was cancelled. */
function readableOf(parts: Uint8Array[]): {
  stream: ReadableStream<Uint8Array>;
  cancelled: () => boolean;
} {
  let wasCancelled = false;
  let index = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[index++];
      if (part === undefined) {
        controller.close();
      } else {
        controller.enqueue(part);
      }
    },
    cancel() {
      wasCancelled = true;
    },
  });
  return { stream, cancelled: () => wasCancelled };
}

async function collect(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  format: BinaryStreamFormat,
): Promise<CodecFrame[]> {
  const frames: CodecFrame[] = [];
  for await (const frame of decodeStream(body, format)) {
    frames.push(frame);
  }
  return frames;
}

/** Splits `bytes` into chunks of `size` bytes. */
function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) {
    parts.push(bytes.slice(offset, offset + size));
  }
  return parts;
}

const FRAMES: CodecFrame[] = [
  { ids: [9707], done: false },
  { ids: [], done: false },
  { ids: [1234, 5678, 2 ** 31, 2 ** 32 - 1], done: false },
  {
    ids: [13],
    done: false,
    // A 55-byte arguments string, so the msgpack form uses str8.
    tool_calls: [
      {
        arguments_json: '{"name": "get_weather", "arguments": {"city": "Tokyo"}}',
        name: "get_weather",
        id: "tc_00000001",
      },
    ],
  },
  // More than 15 IDs, so the msgpack form uses array16.
  { ids: Array.from({ length: 20 }, (_, index) => 1000 * index), done: false },
  { ids: [3456], done: true, finish_reason: "length" },
];

const ENCODERS: Record<BinaryStreamFormat, (frame: CodecFrame) => Uint8Array> = {
  msgpack: encodeMsgpackFrame,
  protobuf: encodeProtobufFrame,
};

for (const format of ["msgpack", "protobuf"] as const) {
  const encoded = FRAMES.map(ENCODERS[format]);
  const body = concat(encoded);
  const frameStarts = encoded.map((_, index) =>
    encoded.slice(0, index).reduce((sum, frame) => sum + frame.length, 0),
  );

  describe(`decodeStream (${format})`, () => {
    it("decodes a body in one chunk", async () => {
      assert.deepEqual(await collect(chunksOf([body]), format), FRAMES);
    });

    it("decodes a body split at every offset", async () => {
      for (let split = 1; split < body.length; split++) {
        const parts = [body.slice(0, split), body.slice(split)];
        assert.deepEqual(await collect(chunksOf(parts), format), FRAMES, `split at ${split}`);
      }
    });

    it("decodes one-byte chunks", async () => {
      assert.deepEqual(await collect(chunksOf(chunked(body, 1)), format), FRAMES);
    });

    it("decodes a ReadableStream in one-byte chunks", async () => {
      const { stream } = readableOf(chunked(body, 1));
      assert.deepEqual(await collect(stream, format), FRAMES);
    });

    it("stops after done and cancels the body", async () => {
      const trailing = fromHex("c1 c1 c1 ff ff ff ff");
      const { stream, cancelled } = readableOf([body, trailing, trailing]);
      assert.deepEqual(await collect(stream, format), FRAMES);
      assert.ok(cancelled());
    });

    it("ignores trailing bytes in the done chunk", async () => {
      const parts = [concat([body, fromHex("c1 00 00 00 ff 01")])];
      assert.deepEqual(await collect(chunksOf(parts), format), FRAMES);
    });

    it("cancels the body when the caller stops early", async () => {
      const { stream, cancelled } = readableOf(chunked(body, 3));
      for await (const frame of decodeStream(stream, format)) {
        assert.deepEqual(frame, FRAMES[0]);
        break;
      }
      assert.ok(cancelled());
    });

    it("reports truncation inside every frame", async () => {
      for (let cut = 1; cut < body.length; cut++) {
        const frameIndex = frameStarts.findLastIndex((start) => start <= cut);
        const frameStart = frameStarts[frameIndex] as number;
        const atBoundary = frameStart === cut;

        await assert.rejects(
          collect(chunksOf(chunked(body.slice(0, cut), 7)), format),
          (error: unknown) => {
            if (atBoundary) {
              assert.ok(error instanceof CodecStreamMissingDoneError, `cut at ${cut}`);
              assert.equal(error.framesDecoded, frameIndex);
              assert.equal(error.bytesRead, cut);
            } else {
              assert.ok(error instanceof CodecStreamTruncatedError, `cut at ${cut}`);
              assert.equal(error.format, format);
              assert.equal(error.offset, frameStart);
              assert.equal(error.receivedBytes, cut - frameStart);
              if (format === "protobuf" && cut - frameStart >= 4) {
                assert.equal(error.expectedBytes, encoded[frameIndex]?.length);
              }
            }
            return true;
          },
        );
      }
    });

    it("reports a missing done frame", async () => {
      const withoutDone = concat(encoded.slice(0, -1));
      await assert.rejects(collect(chunksOf([withoutDone]), format), (error: unknown) => {
        assert.ok(error instanceof CodecStreamMissingDoneError);
        assert.equal(error.code, "CODEC_ERR_STREAM_MISSING_DONE");
        assert.equal(error.framesDecoded, FRAMES.length - 1);
        assert.equal(error.bytesRead, withoutDone.length);
        return true;
      });
    });

    it("reports an empty body as missing done", async () => {
      await assert.rejects(collect(chunksOf([]), format), CodecStreamMissingDoneError);
    });

    it("rejects frames over maxFrameBytes", async () => {
      const stream = decodeStream(chunksOf([body]), format, { maxFrameBytes: 19 });
      await assert.rejects(
        (async () => {
          for await (const _frame of stream) {
            // Frames before the large one decode normally.
          }
        })(),
        (error: unknown) =>
          error instanceof CodecFrameTooLargeError && error.offset === frameStarts[2],
      );
    });
  });
}

describe("decodeStream errors", () => {
  it("reads the vLLM done=false form", async () => {
    const body = fromHex("00 00 00 0d 0a 09 d1 86 03 d2 86 03 d3 86 03 10 00 00 00 00 02 10 01");
    assert.deepEqual(await collect(chunksOf([body]), "protobuf"), [
      { ids: [50001, 50002, 50003], done: false },
      { ids: [], done: true },
    ]);
  });

  it("rejects a msgpack frame that is not a map", async () => {
    const body = concat([encodeMsgpackFrame({ ids: [1], done: false }), fromHex("93 01 02 03")]);
    await assert.rejects(collect(chunksOf([body]), "msgpack"), (error: unknown) => {
      assert.ok(error instanceof CodecMalformedFrameError);
      assert.equal(error.offset, 13);
      assert.match(error.message, /starts with byte 0x93/);
      return true;
    });
  });

  it("rejects the unused msgpack byte 0xc1", async () => {
    await assert.rejects(
      collect(chunksOf([fromHex("82 a3 69 64 73 c1")]), "msgpack"),
      (error: unknown) => {
        assert.ok(error instanceof CodecMalformedFrameError);
        assert.equal(error.offset, 5);
        return true;
      },
    );
  });

  it("rejects an unknown protobuf wire type with its stream offset", async () => {
    const first = encodeProtobufFrame({ ids: [1], done: false });
    const body = concat([first, fromHex("00 00 00 02 4b 00")]);
    await assert.rejects(collect(chunksOf([body]), "protobuf"), (error: unknown) => {
      assert.ok(error instanceof CodecMalformedFrameError);
      assert.equal(error.offset, first.length + 4);
      assert.match(error.message, /wire type 3/);
      return true;
    });
  });

  it("rejects an invalid msgpack ID in a stream", async () => {
    const body = fromHex("82 a3 69 64 73 91 ff a4 64 6f 6e 65 c3");
    await assert.rejects(collect(chunksOf([body]), "msgpack"), CodecMalformedFrameError);
  });

  it("rejects an unknown format", async () => {
    const stream = decodeStream(chunksOf([]), "json" as BinaryStreamFormat);
    await assert.rejects(stream.next(), CodecInvalidArgumentError);
  });

  it("rejects non-byte chunks", async () => {
    const body = (async function* () {
      yield "text" as unknown as Uint8Array;
    })();
    await assert.rejects(collect(body, "msgpack"), CodecInvalidArgumentError);
  });
});

describe("protobuf-delta", () => {
  it("reads plain protobuf frames", async () => {
    const bytes = concat(FRAMES.map((frame) => encodeProtobufFrame(frame)));
    const frames: CodecFrame[] = [];
    for await (const frame of decodeStream(chunksOf(chunked(bytes, 3)), "protobuf-delta")) {
      frames.push(frame);
    }
    assert.deepEqual(
      frames.map((frame) => frame.ids),
      FRAMES.map((frame) => frame.ids),
    );
  });
});
