import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { parseCorsOrigins } from "../src/supervisor/cors.js";
import { startTestSupervisor, type TestSupervisor } from "./helpers/test-supervisor.js";

let server: TestSupervisor;

before(async () => {
  server = await startTestSupervisor({ initialModel: "none" });
  await server.supervisor.initialLoad;
});

after(() => server.close());

function inject(options: {
  method: "GET" | "POST" | "OPTIONS";
  url: string;
  headers?: Record<string, string>;
}) {
  return server.supervisor.app.inject(options);
}

const preflight = (url: string, origin: string) =>
  inject({
    method: "OPTIONS",
    url,
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type",
    },
  });

test("local page may call inference routes", async () => {
  const response = await preflight("/v1/completions", "http://localhost:5173");
  assert.equal(response.statusCode, 204);
  assert.equal(response.headers["access-control-allow-origin"], "http://localhost:5173");
  assert.match(String(response.headers["access-control-allow-headers"]), /Codec-Client-Version/);

  const get = await inject({
    method: "GET",
    url: "/v1/models",
    headers: { Origin: "http://127.0.0.1:3000" },
  });
  assert.equal(get.headers["access-control-allow-origin"], "http://127.0.0.1:3000");
  assert.match(String(get.headers["access-control-expose-headers"]), /Codec-Zstd-Dict/);
});

test("other websites get no cors headers", async () => {
  const response = await preflight("/v1/completions", "https://example.com");
  assert.equal(response.headers["access-control-allow-origin"], undefined);
});

test("admin routes never get cors headers", async () => {
  const response = await preflight("/admin/load", "http://localhost:5173");
  assert.equal(response.headers["access-control-allow-origin"], undefined);
});

test("cross-origin admin requests are rejected", async () => {
  const crossOrigin = await inject({
    method: "POST",
    url: "/admin/stop",
    headers: { Origin: "http://localhost:5173" },
  });
  assert.equal(crossOrigin.statusCode, 403);
  assert.equal(crossOrigin.json().error.code, "CODEC_ERR_AUTH_CROSS_ORIGIN");

  const encoded = await inject({
    method: "POST",
    url: "/%61dmin/stop",
    headers: { Origin: "https://example.com" },
  });
  assert.equal(encoded.statusCode, 403);

  const sameOrigin = await inject({
    method: "POST",
    url: "/admin/stop",
    headers: { Origin: "http://localhost:80", Host: "localhost:80" },
  });
  assert.equal(sameOrigin.statusCode, 200);
  const noOrigin = await inject({ method: "POST", url: "/admin/stop" });
  assert.equal(noOrigin.statusCode, 200);
});

test("cors origins parse from the environment", () => {
  assert.equal(parseCorsOrigins("*"), "*");
  assert.deepEqual(parseCorsOrigins("none"), []);
  assert.deepEqual(parseCorsOrigins("https://a.example/, http://b.example:8080"), [
    "https://a.example",
    "http://b.example:8080",
  ]);
  assert.ok(Array.isArray(parseCorsOrigins(undefined)));
});
