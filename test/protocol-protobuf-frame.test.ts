import assert from "node:assert/strict";
import { describe, it } from "node:test";

import protobuf from "protobufjs";

import {
  CODEC_PROTO_SCHEMA,
  CodecMalformedFrameError,
  CodecMalformedRequestError,
  decodeProtobufFrameMessage,
  decodeProtobufRequest,
  encodeMsgpackRequest,
  encodeProtobufFrame,
  encodeProtobufFrameMessage,
  encodeProtobufRequest,
} from "../src/protocol/index.js";
import type { CodecFrame } from "../src/protocol/index.js";
import { fromHex, toHex } from "./helpers/bytes.js";

/** Asserts a malformed-frame error at the given byte offset, with a message matching `reason`. */
function assertMalformed(bytes: Uint8Array, offset: number, reason: RegExp): void {
  assert.throws(
    () => decodeProtobufFrameMessage(bytes),
    (error: unknown) => {
      assert.ok(error instanceof CodecMalformedFrameError);
      assert.equal(error.offset, offset);
      assert.match(error.message, reason);
      return true;
    },
  );
}

const WEATHER_CALL = {
  arguments_json: '{"name": "get_weather", "arguments": {"city": "Tokyo"}}',
  name: "get_weather",
  id: "tc_00000001",
};

/** Frames and their exact bytes, 4-byte length prefix included, as sglang writes them. */
const WORKED_EXAMPLES: { name: string; frame: CodecFrame; hex: string }[] = [
  {
    name: "three IDs, canonical",
    frame: { ids: [50001, 50002, 50003], done: false },
    hex: "00 00 00 0b 0a 09 d1 86 03 d2 86 03 d3 86 03",
  },
  {
    name: "terminal frame",
    frame: { ids: [3456], done: true, finish_reason: "length" },
    hex: "00 00 00 0e 0a 02 80 1b 10 01 1a 06 6c 65 6e 67 74 68",
  },
  {
    name: "terminal error frame",
    frame: { ids: [], done: true, finish_reason: "error" },
    hex: "00 00 00 09 10 01 1a 05 65 72 72 6f 72",
  },
  {
    name: "tool-call frame",
    frame: { ids: [13], done: false, tool_calls: [WEATHER_CALL] },
    hex:
      "00 00 00 58 0a 01 0d 22 53 0a 0b 67 65 74 5f 77 65 61 74 68 65 72 12 37 7b 22 6e 61 6d 65 22 " +
      "3a 20 22 67 65 74 5f 77 65 61 74 68 65 72 22 2c 20 22 61 72 67 75 6d 65 6e 74 73 22 3a 20 7b " +
      "22 63 69 74 79 22 3a 20 22 54 6f 6b 79 6f 22 7d 7d 1a 0b 74 63 5f 30 30 30 30 30 30 30 31",
  },
];

describe("encodeProtobufFrame", () => {
  for (const example of WORKED_EXAMPLES) {
    it(`writes exact bytes: ${example.name}`, () => {
      assert.equal(toHex(encodeProtobufFrame(example.frame)), example.hex);
    });
  }

  it("pins the worked example sizes", () => {
    const sizes = WORKED_EXAMPLES.map((example) => encodeProtobufFrame(example.frame).length);
    assert.deepEqual(sizes, [15, 18, 13, 92]);
  });

  it("writes an empty non-final frame as a zero prefix", () => {
    assert.equal(toHex(encodeProtobufFrame({ ids: [], done: false })), "00 00 00 00");
  });

  it("message form drops only the prefix", () => {
    for (const example of WORKED_EXAMPLES) {
      assert.equal(toHex(encodeProtobufFrameMessage(example.frame)), example.hex.slice(12));
    }
  });

  it("writes large IDs as positive varints", () => {
    const bytes = encodeProtobufFrameMessage({ ids: [2 ** 31, 2 ** 32 - 1], done: false });
    assert.equal(toHex(bytes), "0a 0a 80 80 80 80 08 ff ff ff ff 0f");
  });

  it("leaves out empty tool-call name and id", () => {
    const bytes = encodeProtobufFrameMessage({
      ids: [],
      done: false,
      tool_calls: [{ arguments_json: "", name: "", id: "" }],
    });
    assert.equal(toHex(bytes), "22 02 12 00");
  });

  it("rejects invalid IDs", () => {
    for (const id of [-1, 2.5, 2 ** 32]) {
      assert.throws(
        () => encodeProtobufFrame({ ids: [id], done: false }),
        CodecMalformedFrameError,
      );
    }
  });
});

describe("decodeProtobufFrameMessage", () => {
  for (const example of WORKED_EXAMPLES) {
    it(`reads worked example: ${example.name}`, () => {
      const bytes = fromHex(example.hex);
      assert.deepEqual(decodeProtobufFrameMessage(bytes.subarray(4)), example.frame);
    });
  }

  it("reads both done=false encodings", () => {
    const expected = { ids: [50001, 50002, 50003], done: false };
    const canonical = fromHex("0a 09 d1 86 03 d2 86 03 d3 86 03");
    const vllm = fromHex("0a 09 d1 86 03 d2 86 03 d3 86 03 10 00");
    assert.deepEqual(decodeProtobufFrameMessage(canonical), expected);
    assert.deepEqual(decodeProtobufFrameMessage(vllm), expected);
  });

  it("keeps IDs of 2^31 and up positive", () => {
    const frame = decodeProtobufFrameMessage(fromHex("0a 0a 80 80 80 80 08 ff ff ff ff 0f"));
    assert.deepEqual(frame.ids, [2147483648, 4294967295]);
  });

  it("rejects an ID of 2^32", () => {
    assertMalformed(
      fromHex("0a 05 80 80 80 80 10"),
      2,
      /ids\[0\] is 4294967296, larger than a uint32/,
    );
  });

  it("reads unpacked IDs", () => {
    assert.deepEqual(
      decodeProtobufFrameMessage(fromHex("08 01 08 96 01 0a 01 02")).ids,
      [1, 150, 2],
    );
  });

  it("skips unknown fields of wire types 0, 1, 2 and 5", () => {
    const bytes = fromHex(
      [
        "48 96 01", // field 9, varint
        "0a 01 07", // ids [7]
        "51 01 02 03 04 05 06 07 08", // field 10, fixed64
        "5a 03 61 62 63", // field 11, length-delimited
        "10 01", // done
        "65 01 02 03 04", // field 12, fixed32
        "22 05 12 01 78 40 01", // tool call: arguments_json "x", then field 8 varint
      ].join(" "),
    );
    assert.deepEqual(decodeProtobufFrameMessage(bytes), {
      ids: [7],
      done: true,
      tool_calls: [{ arguments_json: "x" }],
    });
  });

  it("rejects unknown wire types", () => {
    for (const [tag, wireType] of [
      ["4b", 3],
      ["4c", 4],
      ["4e", 6],
      ["4f", 7],
    ] as const) {
      assertMalformed(fromHex(`0a 01 07 ${tag} 00`), 3, new RegExp(`wire type ${wireType}`));
    }
  });

  it("rejects a known field with the wrong wire type", () => {
    assertMalformed(fromHex("12 01 01"), 0, /field 2 \(done\) has wire type 2/);
    assertMalformed(fromHex("18 01"), 0, /field 3 \(finish_reason\) has wire type 0/);
  });

  it("rejects truncated fields", () => {
    assertMalformed(fromHex("0a 05 01 02"), 1, /length 5 runs past the end/);
    assertMalformed(fromHex("0a 01 80"), 2, /varint runs past the end/);
    assertMalformed(fromHex("51 01 02"), 0, /field 10 runs past the end/);
  });

  it("rejects an overlong varint", () => {
    assertMalformed(fromHex("10 80 80 80 80 80 80 80 80 80 80 01"), 1, /longer than 10 bytes/);
  });

  it("rejects field number 0", () => {
    assertMalformed(fromHex("00 01"), 0, /field number 0/);
  });

  it("rejects invalid UTF-8", () => {
    assertMalformed(fromHex("1a 02 c3 28"), 1, /finish_reason is not valid UTF-8/);
  });

  it("adds the stream offset to errors", () => {
    assert.throws(
      () => decodeProtobufFrameMessage(fromHex("0a 01 07 4b"), 100),
      (error: unknown) => error instanceof CodecMalformedFrameError && error.offset === 103,
    );
  });
});

describe("CODEC_PROTO_SCHEMA", () => {
  const root = protobuf.parse(CODEC_PROTO_SCHEMA, { keepCase: true }).root.resolveAll();
  const frameType = root.lookupType("CodecFrame");

  it("declares the wire field numbers", () => {
    const fields = (name: string) =>
      Object.fromEntries(
        root
          .lookupType(name)
          .fieldsArray.map((field) => [field.name, [field.id, field.type, field.repeated]]),
      );
    assert.deepEqual(fields("CodecFrame"), {
      ids: [1, "uint32", true],
      done: [2, "bool", false],
      finish_reason: [3, "string", false],
      tool_calls: [4, "ToolCall", true],
    });
    assert.deepEqual(fields("ToolCall"), {
      name: [1, "string", false],
      arguments_json: [2, "string", false],
      id: [3, "string", false],
    });
    assert.deepEqual(fields("CodecRequest"), {
      prompt_ids: [1, "uint32", true],
      max_tokens: [2, "uint32", false],
      temperature: [3, "float", false],
      stop: [4, "string", true],
      stream_format: [5, "string", false],
    });
    assert.ok(frameType.fields.ids?.packed);
  });

  it("protobufjs reads our frames", () => {
    for (const example of WORKED_EXAMPLES) {
      const decoded = frameType.toObject(
        frameType.decode(encodeProtobufFrameMessage(example.frame)),
        {
          defaults: true,
        },
      );
      assert.deepEqual(decoded.ids, example.frame.ids);
      assert.equal(decoded.done, example.frame.done);
      assert.equal(decoded.finish_reason ?? undefined, example.frame.finish_reason);
      assert.deepEqual(decoded.tool_calls?.length ?? 0, example.frame.tool_calls?.length ?? 0);
    }
  });

  it("we read protobufjs frames", () => {
    const message = frameType.fromObject({
      ids: [1, 2 ** 31 + 5],
      done: true,
      finish_reason: "stop",
      tool_calls: [{ arguments_json: "{}", name: "f" }],
    });
    const bytes = frameType.encode(message).finish();
    assert.deepEqual(decodeProtobufFrameMessage(bytes), {
      ids: [1, 2 ** 31 + 5],
      done: true,
      finish_reason: "stop",
      tool_calls: [{ arguments_json: "{}", name: "f" }],
    });
  });
});

describe("CodecRequest codecs", () => {
  it("writes the protobuf worked example", () => {
    const bytes = encodeProtobufRequest({
      prompt_ids: [1, 2, 3, 4567],
      max_tokens: 256,
      temperature: 0.7,
      stop: ["\n"],
      stream_format: "protobuf",
    });
    assert.equal(
      toHex(bytes),
      "0a 05 01 02 03 d7 23 10 80 02 1d 33 33 33 3f 22 01 0a 2a 08 70 72 6f 74 6f 62 75 66",
    );
  });

  it("reads the protobuf worked example", () => {
    const bytes = fromHex(
      "0a 05 01 02 03 d7 23 10 80 02 1d 33 33 33 3f 22 01 0a 2a 08 70 72 6f 74 6f 62 75 66",
    );
    assert.deepEqual(decodeProtobufRequest(bytes), {
      prompt_ids: [1, 2, 3, 4567],
      max_tokens: 256,
      temperature: Math.fround(0.7),
      stop: ["\n"],
      stream_format: "protobuf",
    });
  });

  it("writes the msgpack worked example", () => {
    const bytes = encodeMsgpackRequest({
      prompt_ids: [1, 2, 3, 4567],
      max_tokens: 256,
      stream_format: "msgpack",
    });
    assert.equal(
      toHex(bytes),
      "83 aa 70 72 6f 6d 70 74 5f 69 64 73 94 01 02 03 cd 11 d7 aa 6d 61 78 5f 74 6f 6b 65 6e 73 " +
        "cd 01 00 ad 73 74 72 65 61 6d 5f 66 6f 72 6d 61 74 a7 6d 73 67 70 61 63 6b",
    );
  });

  it("leaves absent fields undefined", () => {
    assert.deepEqual(decodeProtobufRequest(encodeProtobufRequest({ prompt_ids: [5] })), {
      prompt_ids: [5],
    });
    assert.deepEqual(decodeProtobufRequest(new Uint8Array(0)), { prompt_ids: [] });
  });

  it("rejects a malformed request", () => {
    assert.throws(
      () => decodeProtobufRequest(fromHex("0a 05 01")),
      (error: unknown) => error instanceof CodecMalformedRequestError && error.offset === 1,
    );
    assert.throws(
      () => decodeProtobufRequest(fromHex("15 00 00")),
      /field 2 \(max_tokens\) has wire type 5/,
    );
  });
});
