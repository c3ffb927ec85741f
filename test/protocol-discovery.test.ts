import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingHttpHeaders, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";

import {
  clearMapCache,
  CODEC_CLIENT_VERSION,
  CodecDictHashMismatchError,
  CodecDiscoveryFetchError,
  CodecDiscoveryIdMismatchError,
  CodecDiscoveryNotFoundError,
  CodecDiscoveryPointerError,
  CodecInvalidArgumentError,
  CodecInvalidMapError,
  CodecMapHashMismatchError,
  CodecVersionPolicyError,
  CodecVersionRequiredError,
  discoverMap,
  discoverZstdDict,
  fetchVersionPolicy,
  parseVersionRequired,
  serializeTokenizerMapBytes,
  throwIfVersionRequired,
  wellKnownMapUrl,
  withCodecClientVersion,
} from "../src/protocol/index.js";
import type { TokenizerMap } from "../src/protocol/index.js";

/** One canned response of the test server. */
interface Route {
  status: number;
  body: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function mapNamed(id: string): TokenizerMap {
  return { id, version: "2", vocab_size: 3, vocab: { a: 0, b: 1, ab: 2 }, merges: ["a b"] };
}

const routes = new Map<string, Route>();
const requestHeaders = new Map<string, IncomingHttpHeaders>();
let server: Server;
let origin: string;

const mapBytes = serializeTokenizerMapBytes(mapNamed("test/pointer"));
const dictBytes = new TextEncoder().encode("a zstd dictionary stands here");
const dictHex = sha256Hex(dictBytes);

function json(value: unknown, status = 200): Route {
  return { status, body: JSON.stringify(value), contentType: "application/json" };
}

function pointer(id: string, fields: Record<string, unknown> = {}): Route {
  return json({
    id,
    url: `${origin}/cdn/map.json`,
    hash: `sha256:${sha256Hex(mapBytes)}`,
    ...fields,
  });
}

before(async () => {
  server = createServer((request, response) => {
    const path = request.url ?? "/";
    requestHeaders.set(path, request.headers);
    const route = routes.get(path) ?? { status: 404, body: "not found", contentType: "text/plain" };
    response.writeHead(route.status, {
      "Content-Type": route.contentType ?? "application/octet-stream",
      ...route.headers,
    });
    response.end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  routes.set("/cdn/map.json", { status: 200, body: mapBytes, contentType: "application/json" });
  routes.set("/.well-known/codec/maps/test/pointer.json", pointer("test/pointer"));
  routes.set("/.well-known/codec/maps/test/inline.json", json(mapNamed("test/inline")));
  routes.set("/.well-known/codec/maps/test/inline-wrong-id.json", json(mapNamed("test/other")));
  routes.set("/.well-known/codec/maps/test/pointer-wrong-id.json", pointer("test/other"));
  routes.set(
    "/.well-known/codec/maps/test/bad-hash.json",
    pointer("test/bad-hash", { hash: "sha256:1234" }),
  );
  routes.set(
    "/.well-known/codec/maps/test/stale-hash.json",
    pointer("test/stale-hash", { hash: `sha256:${"0".repeat(64)}` }),
  );
  routes.set(
    "/.well-known/codec/maps/test/ftp-url.json",
    pointer("test/ftp-url", { url: "ftp://127.0.0.1/map.json" }),
  );
  routes.set("/.well-known/codec/maps/test/not-json.json", {
    status: 200,
    body: "{ not json",
    contentType: "application/json",
  });
  routes.set("/.well-known/codec/maps/test/server-error.json", { status: 500, body: "boom" });
  routes.set(`/.well-known/codec/dicts/${dictHex}.zstd`, { status: 200, body: dictBytes });
  routes.set(`/.well-known/codec/dicts/${"a".repeat(64)}.zstd`, { status: 200, body: dictBytes });
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  clearMapCache();
  requestHeaders.clear();
});

describe("discoverMap", () => {
  it("follows a pointer and verifies its hash", async () => {
    const map = await discoverMap({ origin, id: "test/pointer" });
    assert.equal(map.id, "test/pointer");
    assert.deepEqual(map.merges, ["a b"]);
  });

  it("sends no Codec-Client-Version on map fetches", async () => {
    await discoverMap({ origin, id: "test/pointer" });
    const documentHeaders = requestHeaders.get("/.well-known/codec/maps/test/pointer.json");
    const mapHeaders = requestHeaders.get("/cdn/map.json");
    assert.equal(documentHeaders?.["codec-client-version"], undefined);
    assert.equal(mapHeaders?.["codec-client-version"], undefined);
  });

  it("returns an inline map", async () => {
    const map = await discoverMap({ origin: `${origin}/`, id: "test/inline" });
    assert.equal(map.id, "test/inline");
  });

  it("raises not found on 404", async () => {
    await assert.rejects(discoverMap({ origin, id: "test/missing" }), CodecDiscoveryNotFoundError);
  });

  it("rejects an inline map with another id", async () => {
    await assert.rejects(
      discoverMap({ origin, id: "test/inline-wrong-id" }),
      (error: unknown) =>
        error instanceof CodecDiscoveryIdMismatchError &&
        error.expected === "test/inline-wrong-id" &&
        error.actual === "test/other",
    );
  });

  it("rejects a pointer with another id", async () => {
    await assert.rejects(
      discoverMap({ origin, id: "test/pointer-wrong-id" }),
      CodecDiscoveryIdMismatchError,
    );
  });

  it("rejects a malformed pointer hash", async () => {
    await assert.rejects(
      discoverMap({ origin, id: "test/bad-hash" }),
      (error: unknown) => error instanceof CodecDiscoveryPointerError && error.field === "hash",
    );
  });

  it("rejects a pointer whose hash does not match", async () => {
    await assert.rejects(discoverMap({ origin, id: "test/stale-hash" }), CodecMapHashMismatchError);
  });

  it("rejects a non-http pointer url", async () => {
    await assert.rejects(
      discoverMap({ origin, id: "test/ftp-url" }),
      (error: unknown) => error instanceof CodecDiscoveryPointerError && error.field === "url",
    );
  });

  it("rejects a body that is not JSON", async () => {
    await assert.rejects(discoverMap({ origin, id: "test/not-json" }), CodecDiscoveryFetchError);
  });

  it("reports a server error with its status", async () => {
    await assert.rejects(
      discoverMap({ origin, id: "test/server-error" }),
      (error: unknown) => error instanceof CodecDiscoveryFetchError && error.status === 500,
    );
  });

  it("rejects invalid ids before fetching", () => {
    for (const id of ["../etc", "/abs", "trailing/", "Upper/case", "a/../b", "", "space id"]) {
      assert.throws(
        () => wellKnownMapUrl(origin, id),
        CodecInvalidArgumentError,
        JSON.stringify(id),
      );
    }
    assert.equal(
      wellKnownMapUrl("https://maps.example/", "qwen/qwen2.5-v1_0"),
      "https://maps.example/.well-known/codec/maps/qwen/qwen2.5-v1_0.json",
    );
  });

  it("rejects a pointer to a pointer", async () => {
    const chainBytes = new TextEncoder().encode(
      JSON.stringify({
        id: "test/chain",
        url: `${origin}/cdn/map.json`,
        hash: `sha256:${sha256Hex(mapBytes)}`,
      }),
    );
    routes.set("/cdn/pointer-again.json", {
      status: 200,
      body: chainBytes,
      contentType: "application/json",
    });
    routes.set(
      "/.well-known/codec/maps/test/chain.json",
      json({
        id: "test/chain",
        url: `${origin}/cdn/pointer-again.json`,
        hash: `sha256:${sha256Hex(chainBytes)}`,
      }),
    );
    await assert.rejects(discoverMap({ origin, id: "test/chain" }), CodecInvalidMapError);
  });
});

describe("discoverZstdDict", () => {
  it("returns bytes whose hash matches", async () => {
    assert.deepEqual(await discoverZstdDict({ origin, hash: `sha256:${dictHex}` }), dictBytes);
    assert.deepEqual(await discoverZstdDict({ origin, hash: dictHex.toUpperCase() }), dictBytes);
  });

  it("rejects bytes with another hash", async () => {
    await assert.rejects(
      discoverZstdDict({ origin, hash: "a".repeat(64) }),
      (error: unknown) =>
        error instanceof CodecDictHashMismatchError && error.actual === `sha256:${dictHex}`,
    );
  });

  it("raises not found on 404", async () => {
    await assert.rejects(
      discoverZstdDict({ origin, hash: "b".repeat(64) }),
      CodecDiscoveryNotFoundError,
    );
  });
});

describe("fetchVersionPolicy", () => {
  const path = "/.well-known/codec/version-policy.json";

  it("returns null on 404", async () => {
    routes.delete(path);
    assert.equal(await fetchVersionPolicy({ origin }), null);
  });

  it("returns the policy on 200", async () => {
    const policy = {
      minimum_version: "0.4",
      required_features: ["safety-policy-enforcement"],
      deployment_id: null,
    };
    routes.set(path, json(policy));
    assert.deepEqual(await fetchVersionPolicy({ origin }), policy);
    assert.equal(requestHeaders.get(path)?.["codec-client-version"], undefined);
  });

  it("rejects a policy without required_features", async () => {
    routes.set(path, json({ minimum_version: "0.4" }));
    await assert.rejects(fetchVersionPolicy({ origin }), CodecVersionPolicyError);
  });

  it("rejects a policy with a numeric minimum_version", async () => {
    routes.set(path, json({ minimum_version: 0.4, required_features: [] }));
    await assert.rejects(fetchVersionPolicy({ origin }), CodecVersionPolicyError);
  });

  it("rejects a body that is not JSON", async () => {
    routes.set(path, { status: 200, body: "<html>", contentType: "text/html" });
    await assert.rejects(fetchVersionPolicy({ origin }), CodecVersionPolicyError);
  });
});

describe("426 responses", () => {
  it("parses a JSON body", async () => {
    routes.set(
      "/v1/completions",
      json(
        {
          error: "codec_version_required",
          minimum_version: "0.4",
          required_features: ["safety-policy-enforcement", "mandatory-classifier"],
          client_version: "0.2",
          docs_url: "https://docs.example/version-negotiation/",
          deployment_id: "prod-eu",
        },
        426,
      ),
    );
    const response = await fetch(
      `${origin}/v1/completions`,
      withCodecClientVersion({ method: "POST", body: "{}" }),
    );
    assert.equal(
      requestHeaders.get("/v1/completions")?.["codec-client-version"],
      CODEC_CLIENT_VERSION,
    );

    const error = await parseVersionRequired(response);
    assert.ok(error instanceof CodecVersionRequiredError);
    assert.equal(error.minimumVersion, "0.4");
    assert.deepEqual(error.requiredFeatures, ["safety-policy-enforcement", "mandatory-classifier"]);
    assert.equal(error.clientVersion, "0.2");
    assert.equal(error.docsUrl, "https://docs.example/version-negotiation/");
    assert.equal(error.deploymentId, "prod-eu");
    assert.equal((error.body as { error: string }).error, "codec_version_required");
  });

  it("throws on a body that is not JSON", async () => {
    routes.set("/v1/plain", {
      status: 426,
      body: "Upgrade Required",
      contentType: "text/plain",
      headers: {
        "Codec-Min-Version": "0.4",
        "Codec-Required-Features": "safety-policy-enforcement, mandatory-classifier",
      },
    });
    const response = await fetch(`${origin}/v1/plain`);
    await assert.rejects(
      throwIfVersionRequired(response),
      (error: unknown) =>
        error instanceof CodecVersionRequiredError &&
        error.minimumVersion === "0.4" &&
        error.requiredFeatures.length === 2 &&
        error.clientVersion === CODEC_CLIENT_VERSION &&
        error.body === "Upgrade Required",
    );
  });

  it("returns null for other statuses", async () => {
    routes.set("/v1/ok", json({ ok: true }));
    const response = await fetch(`${origin}/v1/ok`);
    assert.equal(await parseVersionRequired(response), null);
    assert.deepEqual(await response.json(), { ok: true });
  });

  it("keeps a version header the caller set", () => {
    const init = withCodecClientVersion({ headers: { "Codec-Client-Version": "0.3" } });
    assert.equal(new Headers(init.headers).get("codec-client-version"), "0.3");
  });
});
