import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { createBrotliDecompress } from "node:zlib";

import { request } from "undici";

import {
  decodeResponse,
  readZstdDictHash,
  type ContentDecoder,
} from "../src/protocol/content-encoding.js";
import {
  CodecContentEncodingError,
  CodecZstdDictError,
} from "../src/protocol/content-encoding-errors.js";
import { Detokenizer } from "../src/protocol/detokenizer.js";
import { discoverZstdDict } from "../src/protocol/discover.js";
import { CodecDiscoveryNotFoundError } from "../src/protocol/discovery-errors.js";
import { CodecMapHashMismatchError } from "../src/protocol/errors.js";
import type { DecodableStreamFormat } from "../src/protocol/frame.js";
import { CodecHttpError } from "../src/protocol/http-errors.js";
import { loadMap } from "../src/protocol/load-map.js";
import { encodeMsgpackFrame } from "../src/protocol/msgpack-frame.js";
import type { TokenizerMap } from "../src/protocol/tokenizer-map.js";
import { decompressZstd } from "../src/protocol/zstd-decoder.js";
import { postJson, readSseData } from "./helpers/http.js";
import { startTestSupervisor, type TestSupervisor } from "./helpers/test-supervisor.js";

const FORMATS = ["msgpack", "protobuf", "msgpack-delta"] as const;
const ENCODINGS = ["identity", "gzip", "br", "zstd"] as const;

/** A sampled completion that every request repeats exactly through its seed. */
const COMPLETION = { prompt: "Hello", max_tokens: 24, temperature: 1, top_k: 50, seed: 1234 };

let server: TestSupervisor;
let map: TokenizerMap;
let mapHash: string;
let dictionaries: Map<string, string>;

/** Node's brotli decoder, for raw bodies: Node 20 has no brotli DecompressionStream. */
const brotli: ContentDecoder = (body) =>
  Readable.from(body).pipe(createBrotliDecompress()) as AsyncIterable<Uint8Array>;

before(async () => {
  server = await startTestSupervisor();
  const models = (await (await fetch(`${server.baseUrl}/v1/models`)).json()) as {
    data: Array<{ codec: { map_url: string; map_hash: string } }>;
  };
  const codec = models.data[0]!.codec;
  mapHash = codec.map_hash;
  map = await loadMap({ url: `${server.baseUrl}${codec.map_url}`, hash: mapHash, cache: false });
  dictionaries = new Map((map.zstd_dictionaries ?? []).map((entry) => [entry.format, entry.hash]));
});

after(() => server.close());

const fetchZstdDictionary = (hash: string) => discoverZstdDict({ origin: server.baseUrl, hash });

function completionRequest(format: string, encoding: string): Promise<Response> {
  return postJson(
    `${server.baseUrl}/v1/completions`,
    { ...COMPLETION, stream_format: format },
    { "Accept-Encoding": encoding },
  );
}

/** Sends the request with undici's `request`, which leaves the body compressed, as a Response. */
async function rawCompletion(format: string, encoding: string): Promise<Response> {
  const response = await request(`${server.baseUrl}/v1/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Accept-Encoding": encoding },
    body: JSON.stringify({ ...COMPLETION, stream_format: format }),
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (typeof value === "string") headers.set(name, value);
  }
  return new Response(Readable.toWeb(response.body) as ReadableStream<Uint8Array>, {
    status: response.statusCode,
    headers,
  });
}

async function decodeIds(
  response: Response,
  format: DecodableStreamFormat,
  encodedBody?: boolean,
): Promise<number[]> {
  const ids: number[] = [];
  for await (const frame of decodeResponse(response, format, {
    fetchZstdDictionary,
    zstd: decompressZstd,
    contentDecoders: { br: brotli },
    ...(encodedBody === undefined ? {} : { encodedBody }),
  })) {
    ids.push(...frame.ids);
  }
  return ids;
}

describe("every format and encoding through the supervisor", () => {
  let reference: number[];

  before(async () => {
    reference = await decodeIds(await completionRequest("msgpack", "identity"), "msgpack");
    assert.equal(reference.length, COMPLETION.max_tokens);
  });

  test("shipped dictionaries match the demo model", () => {
    assert.deepEqual([...dictionaries.keys()].sort(), ["msgpack", "protobuf"]);
  });

  for (const format of FORMATS) {
    for (const encoding of ENCODINGS) {
      test(`${format} with ${encoding} through fetch`, async () => {
        const response = await completionRequest(format, encoding);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("vary"), "Accept-Encoding");
        assert.equal(
          response.headers.get("content-encoding"),
          encoding === "identity" ? null : encoding,
        );
        const dictionaryFormat = format === "protobuf" ? "protobuf" : "msgpack";
        assert.equal(
          response.headers.get("codec-zstd-dict"),
          encoding === "zstd" ? dictionaries.get(dictionaryFormat) : null,
        );
        assert.deepEqual(await decodeIds(response, format), reference);
      });

      test(`${format} with ${encoding} from raw bytes`, async () => {
        const response = await rawCompletion(format, encoding);
        assert.equal(
          response.headers.get("content-encoding"),
          encoding === "identity" ? null : encoding,
        );
        assert.deepEqual(await decodeIds(response, format, true), reference);
      });
    }
  }

  test("SSE and JSON carry the same text", async () => {
    const text = new Detokenizer(map).render(reference, { partial: false });
    const sse = await postJson(
      `${server.baseUrl}/v1/completions`,
      { ...COMPLETION, stream: true },
      { "Accept-Encoding": "gzip, br, zstd" },
    );
    assert.equal(sse.headers.get("content-encoding"), null);
    const chunks = (await readSseData(sse)).filter((data) => data !== "[DONE]");
    const sseText = chunks
      .map(
        (data) => (JSON.parse(data) as { choices: Array<{ text: string }> }).choices[0]?.text ?? "",
      )
      .join("");
    assert.equal(sseText, text);

    const json = await postJson(`${server.baseUrl}/v1/completions`, COMPLETION);
    assert.equal(
      ((await json.json()) as { choices: Array<{ text: string }> }).choices[0]!.text,
      text,
    );
  });

  test("zstd falls back to br for browsers", async () => {
    const response = await postJson(
      `${server.baseUrl}/v1/completions`,
      { ...COMPLETION, stream_format: "msgpack" },
      { "Accept-Encoding": "zstd, br", "Sec-Fetch-Dest": "empty", "Sec-Fetch-Mode": "cors" },
    );
    assert.equal(response.headers.get("content-encoding"), "br");
    assert.deepEqual(await decodeIds(response, "msgpack"), reference);
  });

  test("the first frame is not held back", async () => {
    const response = await rawCompletion("msgpack", "zstd");
    const reader = response.body!.getReader();
    const first = await reader.read();
    // The frame header and the first frame's block arrive before the stream ends.
    assert.ok(first.value !== undefined);
    assert.ok(first.value.length > 0);
    assert.ok(first.value.length < 64, `the first read has ${first.value.length} bytes`);
    await reader.cancel();
  });
});

describe("client errors for compressed responses", () => {
  function zstdResponse(headers: Record<string, string>): Response {
    const body = encodeMsgpackFrame({
      ids: [],
      done: true,
      finish_reason: "stop",
    }) as Uint8Array<ArrayBuffer>;
    return new Response(body, { headers });
  }

  async function drain(
    response: Response,
    options: Parameters<typeof decodeResponse>[2] = {},
  ): Promise<void> {
    for await (const _frame of decodeResponse(response, "msgpack", {
      zstd: decompressZstd,
      ...options,
    })) {
      // Drained for its errors.
    }
  }

  test("zstd without Codec-Zstd-Dict", async () => {
    await assert.rejects(drain(zstdResponse({ "Content-Encoding": "zstd" })), (error: unknown) => {
      assert.ok(error instanceof CodecZstdDictError);
      assert.equal(error.problem, "missing");
      return true;
    });
  });

  test("malformed Codec-Zstd-Dict", async () => {
    for (const header of ["abc", "sha256:1234", `md5:${"a".repeat(64)}`, "a".repeat(64)]) {
      assert.throws(
        () =>
          readZstdDictHash(new Headers({ "Content-Encoding": "zstd", "Codec-Zstd-Dict": header })),
        (error: unknown) => error instanceof CodecZstdDictError && error.problem === "malformed",
      );
    }
  });

  test("Codec-Zstd-Dict on a non-zstd response", async () => {
    const headers = { "Content-Encoding": "gzip", "Codec-Zstd-Dict": `sha256:${"a".repeat(64)}` };
    await assert.rejects(drain(zstdResponse(headers)), (error: unknown) => {
      assert.ok(error instanceof CodecZstdDictError);
      assert.equal(error.problem, "unexpected");
      return true;
    });
    assert.throws(
      () => readZstdDictHash(new Headers({ "Codec-Zstd-Dict": `sha256:${"a".repeat(64)}` })),
      (error: unknown) => error instanceof CodecZstdDictError && error.problem === "unexpected",
    );
  });

  test("unknown dictionary hash without a resolver", async () => {
    const headers = { "Content-Encoding": "zstd", "Codec-Zstd-Dict": `sha256:${"b".repeat(64)}` };
    await assert.rejects(drain(zstdResponse(headers)), (error: unknown) => {
      assert.ok(error instanceof CodecZstdDictError);
      assert.equal(error.problem, "unknown");
      return true;
    });
  });

  test("unknown dictionary hash on the server", async () => {
    const headers = { "Content-Encoding": "zstd", "Codec-Zstd-Dict": `sha256:${"c".repeat(64)}` };
    await assert.rejects(
      drain(zstdResponse(headers), { fetchZstdDictionary }),
      (error: unknown) => {
        assert.ok(error instanceof CodecZstdDictError);
        assert.equal(error.problem, "unknown");
        assert.ok(error.cause instanceof CodecDiscoveryNotFoundError);
        return true;
      },
    );
  });

  test("tokenizer map with a wrong pinned hash", async () => {
    const wrong = `sha256:${"0".repeat(64)}`;
    const models = (await (await fetch(`${server.baseUrl}/v1/models`)).json()) as {
      data: Array<{ codec: { map_url: string } }>;
    };
    await assert.rejects(
      loadMap({
        url: `${server.baseUrl}${models.data[0]!.codec.map_url}`,
        hash: wrong,
        cache: false,
      }),
      (error: unknown) => error instanceof CodecMapHashMismatchError && error.actual === mapHash,
    );
  });

  test("a zstd response without a zstd decoder", async () => {
    const response = await completionRequest("msgpack", "zstd");
    assert.equal(response.headers.get("content-encoding"), "zstd");
    await assert.rejects(
      async () => {
        for await (const _frame of decodeResponse(response, "msgpack", { fetchZstdDictionary })) {
          // Fails before the first frame.
        }
      },
      (error: unknown) =>
        error instanceof CodecContentEncodingError &&
        /codec-serve\/client\/zstd/.test(error.message),
    );
  });

  test("error status raises CodecHttpError", async () => {
    const response = await postJson(
      `${server.baseUrl}/v1/completions`,
      { prompt: "Hi", max_tokens: -1, stream_format: "msgpack" },
      { "Accept-Encoding": "identity" },
    );
    await assert.rejects(drain(response), (error: unknown) => {
      assert.ok(error instanceof CodecHttpError);
      assert.equal(error.code, "CODEC_ERR_HTTP_STATUS");
      assert.equal(error.status, 400);
      assert.equal(error.param, "max_tokens");
      assert.equal(error.serverCode, "CODEC_ERR_REQUEST_INVALID_PARAM");
      assert.match(error.message, /HTTP 400: .*max_tokens/);
      return true;
    });
    await assert.rejects(
      drain(new Response("upstream down", { status: 502 })),
      (error: unknown) =>
        error instanceof CodecHttpError && error.serverMessage === "upstream down",
    );
  });

  test("the server still serves", async () => {
    const response = await completionRequest("protobuf", "zstd");
    assert.equal((await decodeIds(response, "protobuf")).length, COMPLETION.max_tokens);
  });
});
