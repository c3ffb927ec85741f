import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { encode } from "@msgpack/msgpack";

import {
  CodecMalformedFrameError,
  decodeMsgpackFrame,
  decodeMsgpackFrameBytes,
  encodeMsgpackFrame,
} from "../src/protocol/index.js";
import type { CodecFrame } from "../src/protocol/index.js";
import { fromHex, toHex } from "./helpers/bytes.js";

const WEATHER_CALL = {
  arguments_json: '{"name": "get_weather", "arguments": {"city": "Tokyo"}}',
  name: "get_weather",
  id: "tc_00000001",
};

/** Frames and their exact bytes as the sglang, vLLM and libcodec encoders write them. */
const WORKED_EXAMPLES: { name: string; frame: CodecFrame; hex: string }[] = [
  {
    name: "one uint16 ID",
    frame: { ids: [9707], done: false },
    hex: "82 a3 69 64 73 91 cd 25 eb a4 64 6f 6e 65 c2",
  },
  {
    name: "two IDs",
    frame: { ids: [1234, 5678], done: false },
    hex: "82 a3 69 64 73 92 cd 04 d2 cd 16 2e a4 64 6f 6e 65 c2",
  },
  {
    name: "terminal frame",
    frame: { ids: [3456], done: true, finish_reason: "length" },
    hex: "83 a3 69 64 73 91 cd 0d 80 a4 64 6f 6e 65 c3 ad 66 69 6e 69 73 68 5f 72 65 61 73 6f 6e a6 6c 65 6e 67 74 68",
  },
  {
    name: "terminal error frame",
    frame: { ids: [], done: true, finish_reason: "error" },
    hex: "83 a3 69 64 73 90 a4 64 6f 6e 65 c3 ad 66 69 6e 69 73 68 5f 72 65 61 73 6f 6e a5 65 72 72 6f 72",
  },
  {
    name: "tool-call frame",
    frame: { ids: [13], done: false, tool_calls: [WEATHER_CALL] },
    hex:
      "83 a3 69 64 73 91 0d a4 64 6f 6e 65 c2 aa 74 6f 6f 6c 5f 63 61 6c 6c 73 91 83 ae 61 72 67 75 " +
      "6d 65 6e 74 73 5f 6a 73 6f 6e d9 37 7b 22 6e 61 6d 65 22 3a 20 22 67 65 74 5f 77 65 61 74 68 " +
      "65 72 22 2c 20 22 61 72 67 75 6d 65 6e 74 73 22 3a 20 7b 22 63 69 74 79 22 3a 20 22 54 6f 6b " +
      "79 6f 22 7d 7d a4 6e 61 6d 65 ab 67 65 74 5f 77 65 61 74 68 65 72 a2 69 64 ab 74 63 5f 30 30 " +
      "30 30 30 30 30 31",
  },
];

describe("encodeMsgpackFrame", () => {
  for (const example of WORKED_EXAMPLES) {
    it(`writes exact bytes: ${example.name}`, () => {
      assert.equal(toHex(encodeMsgpackFrame(example.frame)), example.hex);
    });
  }

  it("pins the worked example sizes", () => {
    const sizes = WORKED_EXAMPLES.map((example) => encodeMsgpackFrame(example.frame).length);
    assert.deepEqual(sizes, [15, 18, 36, 32, 130]);
  });

  it("uses the smallest integer forms", () => {
    const cases: [number, string][] = [
      [0, "00"],
      [127, "7f"],
      [128, "cc 80"],
      [255, "cc ff"],
      [256, "cd 01 00"],
      [65535, "cd ff ff"],
      [65536, "ce 00 01 00 00"],
      [2 ** 31, "ce 80 00 00 00"],
      [2 ** 32 - 1, "ce ff ff ff ff"],
    ];
    for (const [id, idHex] of cases) {
      const bytes = encodeMsgpackFrame({ ids: [id], done: false });
      assert.equal(toHex(bytes), `82 a3 69 64 73 91 ${idHex} a4 64 6f 6e 65 c2`, `ID ${id}`);
    }
  });

  it("switches to array16 above 15 IDs", () => {
    const bytes = encodeMsgpackFrame({ ids: Array.from({ length: 16 }, () => 1), done: false });
    assert.equal(toHex(bytes.subarray(5, 8)), "dc 00 10");
  });

  it("leaves out empty tool_calls", () => {
    const bytes = encodeMsgpackFrame({ ids: [1], done: false, tool_calls: [] });
    assert.equal(toHex(bytes), "82 a3 69 64 73 91 01 a4 64 6f 6e 65 c2");
  });

  it("writes tool-call keys in order", () => {
    const bytes = encodeMsgpackFrame({
      ids: [],
      done: false,
      tool_calls: [{ id: "tc_1", arguments_json: "", name: "f" }],
    });
    const decoded = decodeMsgpackFrameBytes(bytes);
    assert.deepEqual(Object.keys(decoded.tool_calls?.[0] ?? {}), ["arguments_json", "name", "id"]);
    assert.ok(
      toHex(bytes).endsWith(
        "ae 61 72 67 75 6d 65 6e 74 73 5f 6a 73 6f 6e a0 a4 6e 61 6d 65 a1 66 a2 69 64 a4 74 63 5f 31",
      ),
    );
  });

  it("rejects invalid IDs", () => {
    for (const id of [-1, 1.5, 2 ** 32, Number.NaN]) {
      assert.throws(
        () => encodeMsgpackFrame({ ids: [5, id], done: false }),
        (error: unknown) => error instanceof CodecMalformedFrameError && Object.is(error.value, id),
        `ID ${id}`,
      );
    }
  });
});

describe("decodeMsgpackFrame", () => {
  for (const example of WORKED_EXAMPLES) {
    it(`reads worked example: ${example.name}`, () => {
      assert.deepEqual(decodeMsgpackFrameBytes(fromHex(example.hex)), example.frame);
    });
  }

  it("round-trips large IDs", () => {
    const frame: CodecFrame = {
      ids: [0, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1],
      done: true,
      finish_reason: "stop",
    };
    assert.deepEqual(decodeMsgpackFrameBytes(encodeMsgpackFrame(frame)), frame);
  });

  it("accepts explicit nil finish_reason", () => {
    const bytes = encode({ ids: [1], done: false, finish_reason: null });
    assert.deepEqual(decodeMsgpackFrameBytes(bytes), { ids: [1], done: false });
  });

  it("finds keys by name and ignores unknown keys", () => {
    const value = { extra: [1, 2], finish_reason: "stop", done: true, ids: [7], usage: { n: 1 } };
    assert.deepEqual(decodeMsgpackFrame(value), { ids: [7], done: true, finish_reason: "stop" });
  });

  it("reads tool_calls with nil name and id", () => {
    const value = {
      ids: [],
      done: false,
      tool_calls: [{ arguments_json: "{}", name: null, id: null }],
    };
    assert.deepEqual(decodeMsgpackFrame(value), {
      ids: [],
      done: false,
      tool_calls: [{ arguments_json: "{}" }],
    });
  });

  it("rejects negative, fractional and oversized IDs", () => {
    const bad: unknown[] = [-1, 0.5, 2 ** 32, 2 ** 53, "12", null];
    for (const id of bad) {
      assert.throws(
        () => decodeMsgpackFrame({ ids: [1, id], done: false }),
        (error: unknown) =>
          error instanceof CodecMalformedFrameError &&
          error.value === id &&
          /ids\[1\]/.test(error.message),
        `ID ${String(id)}`,
      );
    }
  });

  it("rejects negative IDs from the wire", () => {
    // fixmap 2, "ids": [-1 as negative fixint], "done": false
    const bytes = fromHex("82 a3 69 64 73 91 ff a4 64 6f 6e 65 c2");
    assert.throws(() => decodeMsgpackFrameBytes(bytes), CodecMalformedFrameError);
  });

  it("rejects a missing ids or done", () => {
    assert.throws(() => decodeMsgpackFrame({ done: true }), /"ids" is missing/);
    assert.throws(() => decodeMsgpackFrame({ ids: [] }), /"done" is missing/);
  });

  it("names a delta frame in the error", () => {
    const delta = { base_id: 0, ids_delta: [2, 8, 4], done: false, finish_reason: null };
    assert.throws(() => decodeMsgpackFrame(delta), /msgpack-delta/);
  });

  it("rejects wrong value types", () => {
    assert.throws(() => decodeMsgpackFrame([1, 2]), CodecMalformedFrameError);
    assert.throws(() => decodeMsgpackFrame({ ids: [], done: 1 }), CodecMalformedFrameError);
    assert.throws(
      () => decodeMsgpackFrame({ ids: [], done: true, finish_reason: 3 }),
      /finish_reason/,
    );
    assert.throws(() => decodeMsgpackFrame({ ids: [], done: false, tool_calls: {} }), /tool_calls/);
    assert.throws(
      () => decodeMsgpackFrame({ ids: [], done: false, tool_calls: [{ arguments_json: 5 }] }),
      /tool_calls\[0\]\.arguments_json/,
    );
  });

  it("rejects bytes with trailing data", () => {
    const bytes = fromHex("82 a3 69 64 73 90 a4 64 6f 6e 65 c2 00");
    assert.throws(() => decodeMsgpackFrameBytes(bytes), CodecMalformedFrameError);
  });
});
