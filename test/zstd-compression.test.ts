import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { gunzipSync } from "node:zlib";

import { createBodyCompressor } from "../src/engine/compression/body-compressor.js";
import { chooseContentCoding, parseAcceptEncoding } from "../src/engine/compression/negotiate.js";
import { parseZstdDictionary } from "../src/engine/compression/zstd-dictionary.js";
import { ZstdStreamEncoder } from "../src/engine/compression/zstd-stream-encoder.js";
import { SHIPPED_DICTIONARY_DIR } from "../src/engine/zstd-dictionaries.js";
import { encodeMsgpackFrame } from "../src/protocol/msgpack-frame.js";
import { decompressZstd } from "../src/protocol/zstd-decoder.js";
import { concat } from "./helpers/bytes.js";

async function* chunksOf(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

async function decodeAll(parts: Uint8Array[], dictionary: Uint8Array): Promise<Uint8Array[]> {
  const outputs: Uint8Array[] = [];
  for await (const piece of decompressZstd(chunksOf(parts), dictionary)) outputs.push(piece);
  return outputs;
}

async function shippedDictionary(format: "msgpack" | "protobuf"): Promise<Uint8Array> {
  return new Uint8Array(await readFile(`${SHIPPED_DICTIONARY_DIR}qwen-${format}-v1.zstd`));
}

describe("ZstdStreamEncoder", () => {
  test("each push decodes on its own", async () => {
    const dictionary = await shippedDictionary("msgpack");
    const encoder = new ZstdStreamEncoder(parseZstdDictionary(dictionary));
    const frames = [9707, 11, 1879, 0, 151_645].map((id) =>
      encodeMsgpackFrame({ ids: [id], done: false }),
    );
    const compressed = frames.map((frame) => encoder.push(frame));
    compressed.push(encoder.finish());

    // Decoding the pushes one at a time yields each frame as soon as its push arrives.
    const decoded = await decodeAll(compressed, dictionary);
    assert.deepEqual(decoded, frames);
  });

  test("uses the dictionary and the earlier frames", async () => {
    const dictionary = await shippedDictionary("msgpack");
    const encoder = new ZstdStreamEncoder(parseZstdDictionary(dictionary));
    const frame = encodeMsgpackFrame({ ids: [9707], done: false });
    const first = encoder.push(frame);
    const second = encoder.push(frame);
    assert.ok(second.length < frame.length, `a repeated frame took ${second.length} bytes`);
    assert.ok(first.length > second.length, "the first push carries the frame header");
  });

  test("round-trips large and incompressible input", async () => {
    const dictionary = await shippedDictionary("protobuf");
    const encoder = new ZstdStreamEncoder(parseZstdDictionary(dictionary));
    let state = 7;
    const random = new Uint8Array(300_000).map(
      () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) & 0xff,
    );
    const repetitive = new Uint8Array(1_300_000).map((_, index) => index % 251);
    const parts = [random, repetitive, random.subarray(0, 1000)];
    const compressed = parts.map((part) => encoder.push(part));
    compressed.push(encoder.finish());

    const decoded = concat(await decodeAll(compressed, dictionary));
    assert.equal(decoded.length, 1_601_000);
    assert.deepEqual(decoded, concat(parts));
  });

  test("accepts a raw-content dictionary", async () => {
    const dictionary = new TextEncoder().encode("ids done finish_reason length stop ".repeat(20));
    const parsed = parseZstdDictionary(dictionary);
    assert.equal(parsed.id, 0);
    const encoder = new ZstdStreamEncoder(parsed);
    const input = new TextEncoder().encode("finish_reason length");
    const decoded = await decodeAll([encoder.push(input), encoder.finish()], dictionary);
    assert.deepEqual(concat(decoded), input);
  });

  test("finds the content of a trained dictionary", async () => {
    const dictionary = await shippedDictionary("msgpack");
    const parsed = parseZstdDictionary(dictionary);
    assert.notEqual(parsed.id, 0);
    assert.ok(parsed.content.length > 0);
    assert.ok(parsed.content.length < dictionary.length);
  });
});

describe("body compressors", () => {
  test("gzip output decodes after every push", async () => {
    const compressor = createBodyCompressor("gzip", undefined);
    const first = await compressor.push(new TextEncoder().encode("frame one"));
    const second = await compressor.push(new TextEncoder().encode("frame two"));
    const end = await compressor.finish();
    assert.ok(first.length > 0);
    assert.ok(second.length > 0);
    assert.equal(gunzipSync(concat([first, second, end])).toString(), "frame oneframe two");
  });

  test("zstd needs a dictionary", () => {
    assert.throws(() => createBodyCompressor("zstd", undefined), /dictionary/);
  });
});

describe("Accept-Encoding negotiation", () => {
  const cases: Array<[string | undefined, boolean, string]> = [
    [undefined, true, "identity"],
    ["", true, "identity"],
    ["gzip", true, "gzip"],
    ["gzip, br", true, "br"],
    ["zstd, br, gzip", true, "zstd"],
    ["zstd, br, gzip", false, "br"],
    ["zstd", false, "identity"],
    ["ZSTD;q=0.5, gzip;q=1", true, "zstd"],
    ["br;q=0, gzip", true, "gzip"],
    ["*", true, "zstd"],
    ["*;q=0", true, "identity"],
    ["*, br;q=0", false, "gzip"],
    ["x-gzip", true, "gzip"],
    ["br;q=abc, gzip", true, "gzip"],
    ["identity", true, "identity"],
  ];
  for (const [header, zstdAvailable, expected] of cases) {
    test(`picks ${expected} for ${JSON.stringify(header)} (zstd ${zstdAvailable ? "on" : "off"})`, () => {
      assert.equal(chooseContentCoding(header, zstdAvailable), expected);
    });
  }

  test("parses q-values", () => {
    assert.deepEqual(
      [...parseAcceptEncoding("gzip;q=0.8, br")],
      [
        ["gzip", 0.8],
        ["br", 1],
      ],
    );
  });
});
