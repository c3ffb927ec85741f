import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";

import { request } from "undici";

import { codecConfigFromEnv, type CodecServerConfig } from "../src/engine/codec-config.js";
import { filterCodecHeaders, parseClientVersion } from "../src/engine/codec-version.js";
import { decodeStream } from "../src/protocol/decode-stream.js";
import type { CodecFrame } from "../src/protocol/frame.js";
import { CODEC_PROTO_SCHEMA } from "../src/protocol/protobuf-schema.js";
import { postJson } from "./helpers/http.js";
import { startTestEngine, type TestEngine } from "./helpers/test-engine.js";
import { fromHex as hex } from "./helpers/bytes.js";

const OFF: CodecServerConfig = codecConfigFromEnv({});

/** The worked CodecRequest examples: protobuf without a prefix, and msgpack. */
const PROTOBUF_EXAMPLE = hex(
  "0a 05 01 02 03 d7 23 10 80 02 1d 33 33 33 3f 22 01 0a 2a 08 70 72 6f 74 6f 62 75 66",
);
const MSGPACK_EXAMPLE = hex(
  "83 aa 70 72 6f 6d 70 74 5f 69 64 73 94 01 02 03 cd 11 d7 aa 6d 61 78 5f 74 6f 6b 65 6e 73 cd 01 00 ad 73 74 72 65 61 6d 5f 66 6f 72 6d 61 74 a7 6d 73 67 70 61 63 6b",
);

let server: TestEngine;

before(async () => {
  server = await startTestEngine({ codec: OFF, contextSize: 512 });
});

after(() => server.close());

function postCodec(
  body: Uint8Array,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${server.baseUrl}/v1/completions/codec`, {
    method: "POST",
    headers: { "Content-Type": contentType, "Accept-Encoding": "identity", ...headers },
    body: body as Uint8Array<ArrayBuffer>,
  });
}

async function frames(
  response: Response,
  format: "msgpack" | "protobuf" | "msgpack-delta",
): Promise<CodecFrame[]> {
  const collected: CodecFrame[] = [];
  for await (const frame of decodeStream(response.body!, format)) collected.push(frame);
  return collected;
}

function generatedIds(collected: CodecFrame[]): number[] {
  return collected.flatMap((frame) => frame.ids);
}

async function expectError(
  response: Response,
  status: number,
  code: string,
): Promise<Record<string, unknown>> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  const body = JSON.parse(text) as { error: Record<string, unknown> };
  assert.equal(body.error.code, code);
  return body.error;
}

describe("POST /v1/completions/codec", () => {
  test("accepts the protobuf example body", async () => {
    // The example requests 256 tokens at temperature 0.7 with the stop string "\n".
    const response = await postCodec(PROTOBUF_EXAMPLE, "application/x-protobuf");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/x-protobuf");
    const collected = await frames(response, "protobuf");
    assert.equal(collected.at(-1)?.done, true);
    assert.ok(generatedIds(collected).length <= 256);
  });

  test("accepts the length-prefixed protobuf form", async () => {
    // prompt_ids [9707, 11], max_tokens 4, temperature 0.0, stream_format "protobuf".
    const message = hex("0a 03 eb 4b 0b 10 04 1d 00 00 00 00 2a 08 70 72 6f 74 6f 62 75 66");
    const prefixed = new Uint8Array(4 + message.length);
    new DataView(prefixed.buffer).setUint32(0, message.length, false);
    prefixed.set(message, 4);
    const withPrefix = generatedIds(
      await frames(await postCodec(prefixed, "application/x-protobuf"), "protobuf"),
    );
    const without = generatedIds(
      await frames(await postCodec(message, "application/x-protobuf"), "protobuf"),
    );
    assert.equal(withPrefix.length, 4);
    assert.deepEqual(withPrefix, without);
  });

  test("accepts the msgpack example body with defaults", async () => {
    const response = await postCodec(MSGPACK_EXAMPLE, "application/x-msgpack");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/x-msgpack");
    const collected = await frames(response, "msgpack");
    // max_tokens 256 and the server's default temperature of 1.
    assert.equal(generatedIds(collected).length, 256);
    assert.equal(collected.at(-1)?.finish_reason, "length");
  });

  test("treats an unknown Content-Type as msgpack", async () => {
    const response = await postCodec(MSGPACK_EXAMPLE, "application/octet-stream");
    assert.equal(response.status, 200);
    await response.arrayBuffer();
  });

  test("streams the requested format, not the body's", async () => {
    const body = hex("0a 02 01 02 10 03 2a 07 6d 73 67 70 61 63 6b");
    const response = await postCodec(body, "application/x-protobuf");
    assert.equal(response.headers.get("content-type"), "application/x-msgpack");
    assert.equal(generatedIds(await frames(response, "msgpack")).length, 3);
  });

  test("streams msgpack-delta and declines protobuf-delta", async () => {
    const delta = await postCodec(
      hex("0a 02 01 02 10 03 2a 0d 6d 73 67 70 61 63 6b 2d 64 65 6c 74 61"),
      "application/x-protobuf",
    );
    assert.equal(delta.headers.get("content-type"), "application/x-msgpack");
    const bytes = new Uint8Array(await delta.arrayBuffer());
    // The first delta frame is a map of 4 entries starting with the key "base_id".
    assert.deepEqual(
      [...bytes.subarray(0, 9)],
      [0x84, 0xa7, ...new TextEncoder().encode("base_id")],
    );

    const declined = await postCodec(
      hex("0a 02 01 02 10 03 2a 0e 70 72 6f 74 6f 62 75 66 2d 64 65 6c 74 61"),
      "application/x-protobuf",
    );
    assert.equal(declined.headers.get("content-type"), "application/x-protobuf");
    assert.equal(generatedIds(await frames(declined, "protobuf")).length, 3);
  });

  test("delta and plain frames carry the same IDs", async () => {
    const request = (format: string) => ({
      prompt: [9707, 11],
      max_tokens: 6,
      temperature: 1,
      seed: 5,
      stream_format: format,
    });
    const plain = await postJson(`${server.baseUrl}/v1/completions`, request("msgpack"), {
      "Accept-Encoding": "identity",
    });
    const delta = await postJson(`${server.baseUrl}/v1/completions`, request("msgpack-delta"), {
      "Accept-Encoding": "identity",
    });
    assert.deepEqual(
      generatedIds(await frames(delta, "msgpack-delta")),
      generatedIds(await frames(plain, "msgpack")),
    );
  });
});

describe("bad binary bodies", () => {
  const cases: Array<{ name: string; body: Uint8Array; type: string; code: string }> = [
    {
      name: "empty body",
      body: new Uint8Array(0),
      type: "application/x-msgpack",
      code: "CODEC_ERR_REQUEST_INVALID_BINARY_BODY",
    },
    {
      name: "truncated msgpack",
      body: MSGPACK_EXAMPLE.subarray(0, 20),
      type: "application/x-msgpack",
      code: "CODEC_ERR_REQUEST_INVALID_BINARY_BODY",
    },
    {
      name: "msgpack that is not a map",
      body: hex("93 01 02 03"),
      type: "application/x-msgpack",
      code: "CODEC_ERR_REQUEST_INVALID_BINARY_BODY",
    },
    {
      name: "msgpack without prompt_ids",
      body: hex("81 a1 61 01"),
      type: "application/x-msgpack",
      code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    },
    {
      name: "msgpack negative ID",
      body: hex("81 aa 70 72 6f 6d 70 74 5f 69 64 73 92 01 ff"),
      type: "application/x-msgpack",
      code: "CODEC_ERR_REQUEST_INVALID_TOKEN_ID",
    },
    {
      name: "msgpack ID of 2^32",
      body: hex("81 aa 70 72 6f 6d 70 74 5f 69 64 73 91 cf 00 00 00 01 00 00 00 00"),
      type: "application/x-msgpack",
      code: "CODEC_ERR_REQUEST_INVALID_TOKEN_ID",
    },
    {
      name: "msgpack ID beyond the vocabulary",
      body: hex("81 aa 70 72 6f 6d 70 74 5f 69 64 73 91 ce 00 10 00 00"),
      type: "application/x-msgpack",
      code: "CODEC_ERR_REQUEST_TOKEN_OUT_OF_VOCAB",
    },
    {
      name: "truncated protobuf",
      body: PROTOBUF_EXAMPLE.subarray(0, 5),
      type: "application/x-protobuf",
      code: "CODEC_ERR_REQUEST_INVALID_BINARY_BODY",
    },
    {
      name: "protobuf wire type 3",
      body: hex("0a 01 05 0b 00"),
      type: "application/x-protobuf",
      code: "CODEC_ERR_REQUEST_INVALID_BINARY_BODY",
    },
    {
      name: "protobuf wire type 7",
      body: hex("0a 01 05 0f"),
      type: "application/x-protobuf",
      code: "CODEC_ERR_REQUEST_INVALID_BINARY_BODY",
    },
    {
      name: "protobuf ID of 2^32",
      body: hex("0a 05 80 80 80 80 10"),
      type: "application/x-protobuf",
      code: "CODEC_ERR_REQUEST_INVALID_TOKEN_ID",
    },
    {
      name: "protobuf wrong wire type for max_tokens",
      body: hex("0a 01 05 12 00"),
      type: "application/x-protobuf",
      code: "CODEC_ERR_REQUEST_INVALID_BINARY_BODY",
    },
    {
      name: "json stream_format",
      body: hex(
        "82 aa 70 72 6f 6d 70 74 5f 69 64 73 91 01 ad 73 74 72 65 61 6d 5f 66 6f 72 6d 61 74 a4 6a 73 6f 6e",
      ),
      type: "application/x-msgpack",
      code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    },
    {
      name: "unknown stream_format",
      body: hex("0a 01 05 2a 03 78 6d 6c"),
      type: "application/x-protobuf",
      code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    },
  ];
  for (const { name, body, type, code } of cases) {
    test(`rejects ${name}`, async () => {
      await expectError(await postCodec(body, type), 400, code);
    });
  }

  test("error messages name byte offsets", async () => {
    const prefixed = await expectError(
      await postCodec(hex("00 00 00 09 0a 01 05"), "application/x-protobuf"),
      400,
      "CODEC_ERR_REQUEST_INVALID_BINARY_BODY",
    );
    assert.match(String(prefixed.message), /the prefix is 9 and 3 bytes follow it/);

    const trailing = await expectError(
      await postCodec(hex("81 aa 70 72 6f 6d 70 74 5f 69 64 73 91 01 c0"), "application/x-msgpack"),
      400,
      "CODEC_ERR_REQUEST_INVALID_BINARY_BODY",
    );
    assert.match(String(trailing.message), /at byte 14: 1 more byte follows the map/);

    const truncated = await expectError(
      await postCodec(MSGPACK_EXAMPLE.subarray(0, 20), "application/x-msgpack"),
      400,
      "CODEC_ERR_REQUEST_INVALID_BINARY_BODY",
    );
    assert.match(String(truncated.message), /truncated; it ends at byte 20/);

    const notMap = await expectError(
      await postCodec(hex("93 01 02 03"), "application/x-msgpack"),
      400,
      "CODEC_ERR_REQUEST_INVALID_BINARY_BODY",
    );
    assert.match(String(notMap.message), /starts with byte 0x93, which is not a msgpack map/);

    const outOfVocab = await expectError(
      await postCodec(
        hex("81 aa 70 72 6f 6d 70 74 5f 69 64 73 91 ce 00 10 00 00"),
        "application/x-msgpack",
      ),
      400,
      "CODEC_ERR_REQUEST_TOKEN_OUT_OF_VOCAB",
    );
    assert.equal(outOfVocab.param, "prompt_ids");
  });

  test("no Content-Type means msgpack", async () => {
    const response = await fetch(`${server.baseUrl}/v1/completions/codec`, {
      method: "POST",
      headers: { "Accept-Encoding": "identity", "Content-Type": "" },
      body: hex("81 aa 70 72 6f 6d 70 74 5f 69 64 73 91 01") as Uint8Array<ArrayBuffer>,
    });
    assert.equal(response.status, 200);
    await response.arrayBuffer();
  });

  test("reduces a 64-bit msgpack seed modulo 2^32", async () => {
    // {prompt_ids: [1], max_tokens: 3, temperature: 1, seed: 2^32 + 7} and the same with seed 7.
    const body = (seed: string) =>
      hex(
        `84 aa 70 72 6f 6d 70 74 5f 69 64 73 91 01 aa 6d 61 78 5f 74 6f 6b 65 6e 73 03 ab 74 65 6d 70 65 72 61 74 75 72 65 01 a4 73 65 65 64 ${seed}`,
      );
    const big = await postCodec(body("cf 00 00 00 01 00 00 00 07"), "application/x-msgpack");
    const small = await postCodec(body("07"), "application/x-msgpack");
    assert.equal(big.status, 200);
    assert.deepEqual(
      generatedIds(await frames(big, "msgpack")),
      generatedIds(await frames(small, "msgpack")),
    );
  });

  test("serves after bad bodies", async () => {
    const response = await postCodec(hex("0a 01 05 10 02"), "application/x-protobuf");
    assert.equal(generatedIds(await frames(response, "msgpack")).length, 2);
  });
});

describe("tool_watcher validation", () => {
  const base = { prompt: [9707], max_tokens: 2, stream_format: "msgpack" };
  const cases: Array<{ name: string; body: Record<string, unknown>; code: string; param: string }> =
    [
      {
        name: "non-integer start_id",
        body: { ...base, tool_watcher: { start_id: 1.5, end_id: 2 } },
        code: "CODEC_ERR_REQUEST_INVALID_PARAM",
        param: "tool_watcher.start_id",
      },
      {
        name: "string end_id",
        body: { ...base, tool_watcher: { start_id: 1, end_id: "2" } },
        code: "CODEC_ERR_REQUEST_INVALID_PARAM",
        param: "tool_watcher.end_id",
      },
      {
        name: "missing end_id",
        body: { ...base, tool_watcher: { start_id: 1 } },
        code: "CODEC_ERR_REQUEST_INVALID_PARAM",
        param: "tool_watcher.end_id",
      },
      {
        name: "equal markers",
        body: { ...base, tool_watcher: { start_id: 1, end_id: 1 } },
        code: "CODEC_ERR_REQUEST_INVALID_PARAM",
        param: "tool_watcher",
      },
      {
        name: "marker beyond the vocabulary",
        body: { ...base, tool_watcher: { start_id: 1, end_id: 999_999 } },
        code: "CODEC_ERR_REQUEST_TOKEN_OUT_OF_VOCAB",
        param: "tool_watcher.end_id",
      },
      {
        name: "json stream_format",
        body: { ...base, stream_format: "json", tool_watcher: { start_id: 1, end_id: 2 } },
        code: "CODEC_ERR_REQUEST_INVALID_PARAM",
        param: "tool_watcher",
      },
      {
        name: "default stream_format",
        body: { prompt: "Hi", tool_watcher: { start_id: 1, end_id: 2 } },
        code: "CODEC_ERR_REQUEST_INVALID_PARAM",
        param: "tool_watcher",
      },
    ];
  for (const { name, body, code, param } of cases) {
    test(`rejects ${name}`, async () => {
      const error = await expectError(
        await postJson(`${server.baseUrl}/v1/completions`, body),
        400,
        code,
      );
      assert.equal(error.param, param);
    });
  }

  test("rejects json tool_watcher on chat", async () => {
    const body = {
      messages: [{ role: "user", content: "Hi" }],
      tool_watcher: { start_id: 1, end_id: 2 },
    };
    await expectError(
      await postJson(`${server.baseUrl}/v1/chat/completions`, body),
      400,
      "CODEC_ERR_REQUEST_INVALID_PARAM",
    );
  });
});

describe("discovery", () => {
  test("serves the .proto schema", async () => {
    const response = await fetch(`${server.baseUrl}/codec/schema`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await response.text(), CODEC_PROTO_SCHEMA);
  });

  test("index.json points at the served map", async () => {
    const response = await fetch(`${server.baseUrl}/.well-known/codec/index.json`);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.equal(
      response.headers.get("cache-control"),
      "public, max-age=300, stale-while-revalidate=86400",
    );
    const index = (await response.json()) as {
      codec_version: string;
      maps: Array<{ id: string; url: string; hash: string }>;
    };
    assert.equal(index.codec_version, "0.5");
    const pointer = index.maps[0]!;
    const map = await fetch(pointer.url, { headers: { "Accept-Encoding": "identity" } });
    assert.equal(map.status, 200);
    assert.equal(map.headers.get("etag"), `"${pointer.hash}"`);
    const revalidated = await fetch(pointer.url, {
      headers: { "If-None-Match": `"${pointer.hash}"`, "Accept-Encoding": "identity" },
    });
    assert.equal(revalidated.status, 304);
  });

  test("map served compressed with weak ETag", async () => {
    const pointer = (
      (await (await fetch(`${server.baseUrl}/.well-known/codec/index.json`)).json()) as {
        maps: Array<{ url: string; hash: string }>;
      }
    ).maps[0]!;
    const identity = Buffer.from(
      await (
        await fetch(pointer.url, { headers: { "Accept-Encoding": "identity" } })
      ).arrayBuffer(),
    );
    for (const coding of ["gzip", "br"]) {
      const response = await request(pointer.url, { headers: { "Accept-Encoding": coding } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers["content-encoding"], coding);
      assert.equal(response.headers.vary, "Accept-Encoding");
      assert.equal(response.headers.etag, `W/"${pointer.hash}"`);
      const compressed = Buffer.from(await response.body.arrayBuffer());
      assert.ok(compressed.length < identity.length / 2);
      const plain = coding === "gzip" ? gunzipSync(compressed) : brotliDecompressSync(compressed);
      assert.ok(plain.equals(identity));
    }

    // Weak comparison: either form of the tag, alone or in a list, revalidates either coding.
    for (const [header, coding] of [
      [`W/"${pointer.hash}"`, "identity"],
      [`"other", "${pointer.hash}"`, "gzip"],
      ["*", "br"],
    ] as const) {
      const response = await fetch(pointer.url, {
        headers: { "If-None-Match": header, "Accept-Encoding": coding },
      });
      assert.equal(response.status, 304, header);
    }
    const changed = await fetch(pointer.url, { headers: { "If-None-Match": `"sha256:other"` } });
    assert.equal(changed.status, 200);
    await changed.arrayBuffer();
  });

  test("wrong methods get 405", async () => {
    for (const [method, path, allow] of [
      ["GET", "/v1/completions", "POST"],
      ["PUT", "/v1/completions/codec", "POST"],
      ["POST", "/health", "GET, HEAD"],
      ["DELETE", "/codec/schema", "GET, HEAD"],
    ] as const) {
      const response = await fetch(`${server.baseUrl}${path}`, { method });
      assert.equal(response.status, 405, `${method} ${path}`);
      assert.equal(response.headers.get("allow"), allow);
      const body = (await response.json()) as { error: { code: string } };
      assert.equal(body.error.code, "CODEC_ERR_ROUTE_METHOD_NOT_ALLOWED");
    }
  });

  test("map lists the shipped dictionaries", async () => {
    const index = (await (
      await fetch(`${server.baseUrl}/.well-known/codec/index.json`)
    ).json()) as { maps: Array<{ url: string }> };
    const map = (await (await fetch(index.maps[0]!.url)).json()) as {
      zstd_dictionaries?: Array<{ format: string; url: string; hash: string; size_bytes: number }>;
    };
    const dictionaries = map.zstd_dictionaries ?? [];
    assert.deepEqual(dictionaries.map((entry) => entry.format).sort(), ["msgpack", "protobuf"]);
    for (const entry of dictionaries) {
      const response = await fetch(`${server.baseUrl}${entry.url}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/octet-stream");
      assert.equal(response.headers.get("access-control-allow-origin"), "*");
      const bytes = new Uint8Array(await response.arrayBuffer());
      assert.equal(bytes.length, entry.size_bytes);
      const digest = Buffer.from(await crypto.subtle.digest("SHA-256", bytes)).toString("hex");
      assert.equal(`sha256:${digest}`, entry.hash);
      assert.equal(entry.url, `/.well-known/codec/dicts/${digest}.zstd`);
    }
  });

  test("unknown dictionary is 404", async () => {
    const response = await fetch(
      `${server.baseUrl}/.well-known/codec/dicts/${"0".repeat(64)}.zstd`,
    );
    await expectError(response, 404, "CODEC_ERR_DICT_NOT_FOUND");
  });

  test("version policy is 404 when off", async () => {
    const response = await fetch(`${server.baseUrl}/.well-known/codec/version-policy.json`);
    assert.equal(response.status, 404);
  });
});

describe("Codec-Client-Version", () => {
  const valid: Array<[string, string]> = [
    ["0.4", "0.4"],
    ["v0.5", "0.5"],
    ["0.3.7", "0.3"],
    [" 1.0 ", "1.0"],
  ];
  for (const [header, expected] of valid) {
    test(`parses ${JSON.stringify(header)}`, () => {
      assert.equal(parseClientVersion(header).text, expected);
    });
  }

  test("missing header means 0.2", () => {
    assert.equal(parseClientVersion(undefined).text, "0.2");
  });

  for (const header of ["banana", "0", "0.x", "1.2.3.4", "", "vv0.4"]) {
    test(`rejects ${JSON.stringify(header)}`, async () => {
      const response = await postJson(
        `${server.baseUrl}/v1/completions`,
        { prompt: "Hi", max_tokens: 1 },
        { "Codec-Client-Version": header },
      );
      const error = await expectError(response, 400, "CODEC_ERR_REQUEST_INVALID_CLIENT_VERSION");
      assert.equal(error.param, "Codec-Client-Version");
    });
  }

  test("filters headers newer than the client", () => {
    const headers = {
      "Codec-Zstd-Dict": "sha256:x",
      "Codec-Safety-Policy": "p",
      "Codec-Other": "kept",
      Vary: "Accept-Encoding",
    };
    assert.deepEqual(Object.keys(filterCodecHeaders(headers, parseClientVersion("0.3"))), [
      "Codec-Zstd-Dict",
      "Codec-Other",
      "Vary",
    ]);
    assert.deepEqual(Object.keys(filterCodecHeaders(headers, parseClientVersion("0.1"))), [
      "Codec-Other",
      "Vary",
    ]);
    assert.equal(Object.keys(filterCodecHeaders(headers, parseClientVersion("0.4"))).length, 4);
  });

  test("never refuses a version when nothing is mandatory", async () => {
    const response = await postJson(
      `${server.baseUrl}/v1/completions`,
      { prompt: "Hi", max_tokens: 1 },
      { "Codec-Client-Version": "0.1" },
    );
    assert.equal(response.status, 200);
    await response.text();
  });

  test("a 0.1 client never gets zstd", async () => {
    const response = await postJson(
      `${server.baseUrl}/v1/completions`,
      { prompt: "Hi", max_tokens: 2, stream_format: "msgpack" },
      { "Codec-Client-Version": "0.1", "Accept-Encoding": "zstd, gzip" },
    );
    assert.equal(response.headers.get("content-encoding"), "gzip");
    assert.equal(response.headers.get("codec-zstd-dict"), null);
    await response.arrayBuffer();
  });
});

describe("version policy", () => {
  let strict: TestEngine;
  let advisory: TestEngine;

  before(async () => {
    const policy = {
      ...OFF,
      requiredFeatures: ["safety-policy-enforcement"],
      deploymentId: "test-deploy",
    };
    strict = await startTestEngine({
      codec: { ...policy, versionPolicy: "strict" },
      contextSize: 256,
      parallel: 1,
    });
    advisory = await startTestEngine({
      codec: { ...policy, versionPolicy: "advisory" },
      contextSize: 256,
      parallel: 1,
    });
  });

  after(async () => {
    await strict.close();
    await advisory.close();
  });

  test("strict refuses an old client with 426", async () => {
    const response = await postJson(
      `${strict.baseUrl}/v1/completions`,
      { prompt: "Hi", max_tokens: 1 },
      { "Codec-Client-Version": "0.3" },
    );
    assert.equal(response.status, 426);
    assert.equal(response.headers.get("codec-min-version"), "0.4");
    assert.equal(response.headers.get("codec-required-features"), "safety-policy-enforcement");
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.error, "codec_version_required");
    assert.equal(body.minimum_version, "0.4");
    assert.deepEqual(body.required_features, ["safety-policy-enforcement"]);
    assert.equal(body.client_version, "0.3");
    assert.equal(body.deployment_id, "test-deploy");
  });

  test("strict refuses a Codec request without the header", async () => {
    const response = await postJson(`${strict.baseUrl}/v1/completions`, {
      prompt: "Hi",
      max_tokens: 1,
      stream_format: "msgpack",
    });
    assert.equal(response.status, 426);
    assert.equal(((await response.json()) as Record<string, unknown>).client_version, "0.2");

    const codec = await fetch(`${strict.baseUrl}/v1/completions/codec`, {
      method: "POST",
      headers: { "Content-Type": "application/x-protobuf" },
      body: hex("0a 01 05 10 01") as Uint8Array<ArrayBuffer>,
    });
    assert.equal(codec.status, 426);
    await codec.text();
  });

  test("strict serves plain OpenAI requests", async () => {
    const completion = await postJson(`${strict.baseUrl}/v1/completions`, {
      prompt: "Hi",
      max_tokens: 1,
    });
    assert.equal(completion.status, 200);
    await completion.text();
    const chat = await postJson(`${strict.baseUrl}/v1/chat/completions`, {
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 1,
      stream: true,
    });
    assert.equal(chat.status, 200);
    await chat.text();
  });

  test("strict serves a new enough client", async () => {
    const response = await postJson(
      `${strict.baseUrl}/v1/completions`,
      { prompt: "Hi", max_tokens: 1 },
      { "Codec-Client-Version": "0.4" },
    );
    assert.equal(response.status, 200);
    await response.text();
  });

  test("advisory publishes the policy without refusing", async () => {
    const policy = await fetch(`${advisory.baseUrl}/.well-known/codec/version-policy.json`);
    assert.equal(policy.status, 200);
    assert.equal(policy.headers.get("access-control-allow-origin"), "*");
    assert.deepEqual(await policy.json(), {
      minimum_version: "0.4",
      required_features: ["safety-policy-enforcement"],
      deployment_id: "test-deploy",
    });
    const response = await postJson(
      `${advisory.baseUrl}/v1/completions`,
      { prompt: "Hi", max_tokens: 1 },
      { "Codec-Client-Version": "0.1" },
    );
    assert.equal(response.status, 200);
    await response.text();
  });
});
