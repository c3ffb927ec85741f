import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { decode, Encoder } from "@msgpack/msgpack";

import {
  CodecMalformedFrameError,
  decodeMsgpackDeltaFrame,
  decodeStream,
  encodeMsgpackDeltaFrame,
  encodeMsgpackFrame,
  MsgpackDeltaEncoder,
  zigzagDecode,
  zigzagEncode,
} from "../src/protocol/index.js";
import type { CodecFrame, DecodableStreamFormat } from "../src/protocol/index.js";
import { concat, fromHex } from "./helpers/bytes.js";

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) {
    yield bytes.slice(offset, offset + size);
  }
}

async function collect(
  bytes: Uint8Array,
  format: DecodableStreamFormat,
  chunkSize = 1,
): Promise<CodecFrame[]> {
  const frames: CodecFrame[] = [];
  for await (const frame of decodeStream(chunks(bytes, chunkSize), format)) {
    frames.push(frame);
  }
  return frames;
}

const FIRST_FRAME_HEX =
  "84 a7 62 61 73 65 5f 69 64 00 a9 69 64 73 5f 64 65 6c 74 61 93 02 08 04 a4 64 6f 6e 65 c2 " +
  "ad 66 69 6e 69 73 68 5f 72 65 61 73 6f 6e c0";
const FINAL_FRAME_HEX =
  "84 a7 62 61 73 65 5f 69 64 cd 03 e8 a9 69 64 73 5f 64 65 6c 74 61 94 cd 01 d4 0c 03 7c a4 64 " +
  "6f 6e 65 c3 ad 66 69 6e 69 73 68 5f 72 65 61 73 6f 6e a4 73 74 6f 70";

describe("zigzag", () => {
  it("maps signed values to unsigned", () => {
    assert.deepEqual([0, -1, 1, -2, 2].map(zigzagEncode), [0, 1, 2, 3, 4]);
  });

  it("inverts the encoding", () => {
    for (const value of [0, 1, -1, 4095, -4096, 2 ** 32 - 1, -(2 ** 32 - 1)]) {
      assert.equal(zigzagDecode(zigzagEncode(value)), value);
    }
  });
});

describe("encodeMsgpackDeltaFrame", () => {
  it("encodes a first frame byte for byte", () => {
    const bytes = encodeMsgpackDeltaFrame({ ids: [1, 5, 7], done: false }, 0);
    assert.deepEqual(bytes, fromHex(FIRST_FRAME_HEX));
    assert.equal(bytes.length, 45);
  });

  it("encodes a final frame byte for byte", () => {
    const frame: CodecFrame = { ids: [1234, 1240, 1238, 1300], done: true, finish_reason: "stop" };
    const bytes = encodeMsgpackDeltaFrame(frame, 1000);
    assert.deepEqual(bytes, fromHex(FINAL_FRAME_HEX));
    assert.equal(bytes.length, 54);
  });

  it("rejects a base that is not a uint32", () => {
    assert.throws(
      () => encodeMsgpackDeltaFrame({ ids: [1], done: false }, -1),
      CodecMalformedFrameError,
    );
  });
});

describe("MsgpackDeltaEncoder", () => {
  it("chains bases and keeps them across empty frames", async () => {
    const frames: CodecFrame[] = [
      { ids: [1, 5, 7], done: false },
      { ids: [], done: false },
      { ids: [6, 151643, 3], done: false },
      { ids: [], done: true, finish_reason: "length" },
    ];
    const encoder = new MsgpackDeltaEncoder();
    const encoded = frames.map((frame) => encoder.encode(frame));
    assert.deepEqual(
      encoded.map((bytes) => (decode(bytes) as { base_id: number }).base_id),
      [0, 7, 7, 3],
    );
    assert.deepEqual(await collect(concat(encoded), "msgpack-delta"), frames);
  });
});

describe("decodeStream with delta frames", () => {
  const worked = concat([fromHex(FIRST_FRAME_HEX), fromHex(FINAL_FRAME_HEX)]);

  it("decodes the worked examples split at every byte", async () => {
    assert.deepEqual(await collect(worked, "msgpack-delta"), [
      { ids: [1, 5, 7], done: false },
      { ids: [1234, 1240, 1238, 1300], done: true, finish_reason: "stop" },
    ]);
  });

  it("reads delta frames under the msgpack format", async () => {
    const frames = await collect(worked, "msgpack", 7);
    assert.deepEqual(frames[1]?.ids, [1234, 1240, 1238, 1300]);
  });

  it("reads plain frames under the msgpack-delta format", async () => {
    const plain = concat([
      encodeMsgpackFrame({ ids: [9707], done: false }),
      encodeMsgpackFrame({ ids: [0], done: true, finish_reason: "stop" }),
    ]);
    assert.deepEqual(await collect(plain, "msgpack-delta"), [
      { ids: [9707], done: false },
      { ids: [0], done: true, finish_reason: "stop" },
    ]);
  });

  it("keeps tool calls of delta frames", async () => {
    const call = {
      arguments_json: '{"name": "get_weather"}',
      name: "get_weather",
      id: "tc_00000001",
    };
    const bytes = encodeMsgpackDeltaFrame(
      { ids: [13], done: true, finish_reason: "stop", tool_calls: [call] },
      0,
    );
    assert.deepEqual(await collect(bytes, "msgpack-delta"), [
      { ids: [13], done: true, finish_reason: "stop", tool_calls: [call] },
    ]);
  });

  it("accepts the delta flag form", async () => {
    const encoder = new Encoder();
    const bytes = concat([
      encoder.encode({ delta: true, base_id: 100, ids: [2, 1], done: false }),
      // No base_id: the last ID of the previous frame (100) is the base.
      encoder.encode({ delta: true, ids: [4], done: true, finish_reason: null }),
    ]);
    assert.deepEqual(await collect(bytes, "msgpack-delta"), [
      { ids: [101, 100], done: false },
      { ids: [102], done: true },
    ]);
  });

  it("rejects an ID below zero", async () => {
    const bytes = new Encoder().encode({
      base_id: 0,
      ids_delta: [1],
      done: true,
      finish_reason: null,
    });
    await assert.rejects(collect(bytes, "msgpack-delta"), CodecMalformedFrameError);
  });

  it("decodes a frame value directly", () => {
    const frame = decodeMsgpackDeltaFrame(
      { base_id: 10, ids_delta: [1, 4], done: false, finish_reason: null },
      0,
    );
    assert.deepEqual(frame, { ids: [9, 11], done: false });
  });

  it("rejects a negative delta value", async () => {
    const bytes = new Encoder().encode({
      base_id: 5,
      ids_delta: [-2],
      done: true,
      finish_reason: null,
    });
    await assert.rejects(collect(bytes, "msgpack-delta"), CodecMalformedFrameError);
  });
});
