import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingHttpHeaders, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";

import {
  clearMapCache,
  CodecInvalidArgumentError,
  CodecInvalidHashError,
  CodecInvalidMapError,
  CodecMapFetchError,
  CodecMapHashMismatchError,
  CodecUnsupportedHashAlgorithmError,
  loadMap,
  normalizeMapHash,
  sha256Hex,
} from "../src/protocol/index.js";

const MAP_BYTES = new TextEncoder().encode(
  JSON.stringify({ id: "test/tiny", version: "2", vocab_size: 2, vocab: { a: 0, b: 1 } }) + "\n",
);
const MAP_HEX = createHash("sha256").update(MAP_BYTES).digest("hex");

describe("sha256Hex", () => {
  it("matches node:crypto", async () => {
    assert.equal(await sha256Hex(MAP_BYTES), MAP_HEX);
  });

  it("hashes the empty input", async () => {
    assert.equal(
      await sha256Hex(new Uint8Array(0)),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });

  it("hashes a view into a larger buffer", async () => {
    const padded = new Uint8Array(MAP_BYTES.length + 10);
    padded.set(MAP_BYTES, 5);
    assert.equal(await sha256Hex(padded.subarray(5, 5 + MAP_BYTES.length)), MAP_HEX);
  });
});

describe("normalizeMapHash", () => {
  it("accepts prefixed and bare forms", () => {
    const expected = `sha256:${MAP_HEX}`;
    assert.equal(normalizeMapHash(`sha256:${MAP_HEX}`), expected);
    assert.equal(normalizeMapHash(MAP_HEX), expected);
    assert.equal(normalizeMapHash(MAP_HEX.toUpperCase()), expected);
    assert.equal(normalizeMapHash(`SHA256:${MAP_HEX.toUpperCase()}`), expected);
  });

  it("rejects other algorithms", () => {
    for (const hash of [
      `sha512:${MAP_HEX}${MAP_HEX}`,
      `md5:${MAP_HEX.slice(0, 32)}`,
      `sha-256:${MAP_HEX}`,
    ]) {
      assert.throws(
        () => normalizeMapHash(hash),
        (error: unknown) =>
          error instanceof CodecUnsupportedHashAlgorithmError &&
          error.algorithm === hash.split(":")[0],
      );
    }
  });

  it("rejects malformed digests", () => {
    for (const hash of [
      "",
      "sha256:",
      MAP_HEX.slice(1),
      `${MAP_HEX}0`,
      `sha256:${MAP_HEX.replace(/./, "g")}`,
    ]) {
      assert.throws(
        () => normalizeMapHash(hash),
        (error: unknown) => error instanceof CodecInvalidHashError && error.hash === hash,
      );
    }
  });
});

describe("loadMap", () => {
  let server: Server;
  let baseUrl: string;
  const requests: { url: string; headers: IncomingHttpHeaders }[] = [];

  before(async () => {
    server = createServer((request, response) => {
      requests.push({ url: request.url ?? "", headers: request.headers });
      if (request.url === "/maps/tiny.json") {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(MAP_BYTES);
      } else if (request.url === "/maps/broken.json") {
        response.writeHead(200, { "content-type": "application/json" });
        response.end("{ not json");
      } else {
        response.writeHead(404);
        response.end("not found");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    requests.length = 0;
    clearMapCache();
  });

  it("fetches and verifies a pinned map", async () => {
    const map = await loadMap({ url: `${baseUrl}/maps/tiny.json`, hash: `sha256:${MAP_HEX}` });
    assert.deepEqual(map.vocab, { a: 0, b: 1 });
    assert.equal(requests.length, 1);
  });

  it("sends no Codec-Client-Version header", async () => {
    await loadMap({ url: `${baseUrl}/maps/tiny.json`, hash: MAP_HEX });
    const headers = requests[0]?.headers ?? {};
    assert.equal(headers["codec-client-version"], undefined);
    assert.deepEqual(
      Object.keys(headers).filter((name) => name.startsWith("codec-")),
      [],
    );
  });

  it("rejects a hash mismatch with both hashes", async () => {
    const wrong = "ab".repeat(32);
    const url = `${baseUrl}/maps/tiny.json`;
    await assert.rejects(loadMap({ url, hash: wrong }), (error: unknown) => {
      assert.ok(error instanceof CodecMapHashMismatchError);
      assert.equal(error.expected, `sha256:${wrong}`);
      assert.equal(error.actual, `sha256:${MAP_HEX}`);
      assert.equal(error.url, url);
      return true;
    });
  });

  it("rejects an unsupported algorithm before fetching", async () => {
    await assert.rejects(
      loadMap({ url: `${baseUrl}/maps/tiny.json`, hash: `sha1:${MAP_HEX.slice(0, 40)}` }),
      CodecUnsupportedHashAlgorithmError,
    );
    assert.equal(requests.length, 0);
  });

  it("caches by url and hash", async () => {
    const options = { url: `${baseUrl}/maps/tiny.json`, hash: MAP_HEX };
    const [first, second] = await Promise.all([loadMap(options), loadMap(options)]);
    const third = await loadMap({ ...options, hash: `sha256:${MAP_HEX}` });
    assert.equal(first, second);
    assert.equal(first, third);
    assert.equal(requests.length, 1);

    await loadMap({ ...options, cache: false });
    assert.equal(requests.length, 2);
  });

  it("does not cache failures", async () => {
    const url = `${baseUrl}/maps/tiny.json`;
    await assert.rejects(loadMap({ url, hash: "00".repeat(32) }), CodecMapHashMismatchError);
    await assert.rejects(loadMap({ url, hash: "00".repeat(32) }), CodecMapHashMismatchError);
    assert.equal(requests.length, 2);
  });

  it("reports an HTTP error status", async () => {
    const url = `${baseUrl}/maps/missing.json`;
    await assert.rejects(loadMap({ url, hash: MAP_HEX }), (error: unknown) => {
      assert.ok(error instanceof CodecMapFetchError);
      assert.equal(error.status, 404);
      assert.equal(error.url, url);
      return true;
    });
  });

  it("reports a refused connection", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/map.json`;
    await new Promise((resolve) => closed.close(resolve));

    await assert.rejects(loadMap({ url }), (error: unknown) => {
      assert.ok(error instanceof CodecMapFetchError);
      assert.equal(error.status, undefined);
      assert.ok(error.cause instanceof Error);
      return true;
    });
  });

  it("rejects a body that is not JSON", async () => {
    await assert.rejects(loadMap({ url: `${baseUrl}/maps/broken.json` }), (error: unknown) => {
      assert.ok(error instanceof CodecInvalidMapError);
      assert.equal(error.field, "$");
      assert.match(error.message, /valid JSON/);
      return true;
    });
  });

  it("uses a custom fetch", async () => {
    const seen: string[] = [];
    const customFetch: typeof fetch = async (input, init) => {
      seen.push(String(input));
      return fetch(input, init);
    };
    await loadMap({ url: `${baseUrl}/maps/tiny.json`, hash: MAP_HEX, fetch: customFetch });
    assert.deepEqual(seen, [`${baseUrl}/maps/tiny.json`]);
  });

  it("verifies given bytes without fetching", async () => {
    const map = await loadMap({ bytes: MAP_BYTES, hash: MAP_HEX });
    assert.equal(map.id, "test/tiny");
    await assert.rejects(
      loadMap({ bytes: MAP_BYTES.subarray(1), hash: MAP_HEX }),
      CodecMapHashMismatchError,
    );
    assert.equal(requests.length, 0);
  });

  it("rejects invalid UTF-8 bytes", async () => {
    await assert.rejects(loadMap({ bytes: Uint8Array.of(0x7b, 0xff, 0x7d) }), CodecInvalidMapError);
  });

  it("requires url or bytes", async () => {
    await assert.rejects(loadMap({ hash: MAP_HEX }), CodecInvalidArgumentError);
  });
});
