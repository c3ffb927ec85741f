import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";

import type { FastifyInstance } from "fastify";

import { createApp } from "../src/http/create-app.js";
import { listeningPort } from "../src/http/listen-address.js";
import { createLogger } from "../src/http/logger.js";
import type { BackendState } from "../src/supervisor/backend-state.js";
import { BackendProxy } from "../src/supervisor/proxy.js";
import { registerProxyRoutes, type ProxyTarget } from "../src/supervisor/routes/proxy-routes.js";

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

let upstream: Server;
let upstreamHandler: Handler = (_request, response) => response.end("unset");
let app: FastifyInstance;
let proxy: BackendProxy;
let baseUrl: string;
const target: { state: BackendState; origin: string; current: undefined; lastError: string | undefined } = {
  state: "ready",
  origin: "",
  current: undefined,
  lastError: undefined,
};

before(async () => {
  upstream = createServer((request, response) => upstreamHandler(request, response));
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  target.origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  const log = createLogger("supervisor", "silent");
  app = createApp({ logger: log, source: "supervisor" });
  proxy = new BackendProxy(log);
  await registerProxyRoutes(app, target as ProxyTarget, proxy);
  await app.listen({ host: "127.0.0.1", port: 0 });
  baseUrl = `http://127.0.0.1:${listeningPort(app)}`;
});

after(async () => {
  await app.close();
  await proxy.close();
  upstream.closeAllConnections();
  upstream.close();
});

/** A promise with its resolve function, for handing events between the two servers. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

test("response chunks are relayed without buffering", async () => {
  const clientGotFirst = deferred();
  upstreamHandler = (_request, response) => {
    response.writeHead(200, { "content-type": "application/x-msgpack" });
    response.write("first");
    // The second chunk is only written once the client has read the first one.
    void clientGotFirst.promise.then(() => response.end("second"));
  };

  const response = await fetch(`${baseUrl}/v1/completions`, { method: "POST", body: "{}" });
  assert.equal(response.headers.get("content-type"), "application/x-msgpack");
  const reader = response.body!.getReader();
  const first = await reader.read();
  assert.equal(new TextDecoder().decode(first.value), "first");
  clientGotFirst.resolve();
  let rest = "";
  for (let read = await reader.read(); !read.done; read = await reader.read()) rest += new TextDecoder().decode(read.value);
  assert.equal(rest, "second");
});

test("request body is streamed to the backend", async () => {
  const upstreamGotFirst = deferred();
  const upstreamBody = deferred<string>();
  upstreamHandler = (request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
      if (body.startsWith("part-one")) upstreamGotFirst.resolve();
    });
    request.on("end", () => {
      upstreamBody.resolve(body);
      response.end("ok");
    });
  };

  // The client sends the second half only after the backend has received the first.
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(new TextEncoder().encode("part-one;"));
      await upstreamGotFirst.promise;
      controller.enqueue(new TextEncoder().encode("part-two"));
      controller.close();
    },
  });
  const response = await fetch(`${baseUrl}/v1/completions/codec`, {
    method: "POST",
    body,
    headers: { "content-type": "application/x-msgpack" },
    duplex: "half",
  } as RequestInit);
  assert.equal(await response.text(), "ok");
  assert.equal(await upstreamBody.promise, "part-one;part-two");
});

test("client disconnect aborts the upstream request", async () => {
  const upstreamClosed = deferred();
  upstreamHandler = (_request, response) => {
    response.writeHead(200, { "content-type": "text/event-stream" });
    response.write("data: 1\n\n");
    response.on("close", () => upstreamClosed.resolve());
  };

  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/v1/completions`, { method: "POST", body: "{}", signal: controller.signal });
  const reader = response.body!.getReader();
  await reader.read();
  controller.abort();
  await upstreamClosed.promise;
});

test("headers are filtered and forwarded", async () => {
  const seen = deferred<IncomingMessage["headers"]>();
  upstreamHandler = (request, response) => {
    seen.resolve(request.headers);
    response.writeHead(201, { "x-engine": "yes", "keep-alive": "timeout=5", "set-cookie": ["a=1", "b=2"] });
    response.end("created");
  };

  const response = await fetch(`${baseUrl}/v1/models?x=1`, {
    headers: { "x-custom": "kept", "proxy-authorization": "Basic c2VjcmV0", "x-request-id": "req-abc" },
  });
  assert.equal(response.status, 201);
  assert.equal(await response.text(), "created");
  assert.equal(response.headers.get("x-engine"), "yes");
  // The supervisor's own connection may announce a keep-alive; the backend's value must not leak.
  assert.notEqual(response.headers.get("keep-alive"), "timeout=5");
  assert.deepEqual(response.headers.getSetCookie(), ["a=1", "b=2"]);
  assert.equal(response.headers.get("x-request-id"), "req-abc");

  const headers = await seen.promise;
  assert.equal(headers["x-custom"], "kept");
  assert.equal(headers["proxy-authorization"], undefined);
  assert.equal(headers["x-request-id"], "req-abc");
  assert.equal(headers["x-forwarded-for"], "127.0.0.1");
  assert.equal(headers["x-forwarded-proto"], "http");
});

test("path and query reach the backend", async () => {
  const seen = deferred<string>();
  upstreamHandler = (request, response) => {
    seen.resolve(`${request.method} ${request.url}`);
    response.end();
  };
  await (await fetch(`${baseUrl}/.well-known/codec/maps/a/b.json?v=2`)).arrayBuffer();
  assert.equal(await seen.promise, "GET /.well-known/codec/maps/a/b.json?v=2");
});

test("unreachable backend is a 502 envelope", async () => {
  const origin = target.origin;
  target.origin = "http://127.0.0.1:1";
  try {
    const response = await fetch(`${baseUrl}/v1/models`);
    assert.equal(response.status, 502);
    const body = (await response.json()) as any;
    assert.equal(body.error.code, "CODEC_ERR_PROXY_BACKEND_UNREACHABLE");
    assert.equal(body.error.source, "supervisor");
  } finally {
    target.origin = origin;
  }
});

test("no backend is a 503 envelope", async () => {
  for (const [state, code] of [
    ["stopped", "CODEC_ERR_PROXY_NO_BACKEND"],
    ["starting", "CODEC_ERR_PROXY_BACKEND_STARTING"],
    ["failed", "CODEC_ERR_PROXY_NO_BACKEND"],
  ] as const) {
    target.state = state;
    target.lastError = "exited with code 1";
    const response = await fetch(`${baseUrl}/v1/completions`, { method: "POST", body: "{}" });
    assert.equal(response.status, 503, state);
    const body = (await response.json()) as any;
    assert.equal(body.error.code, code, state);
    if (state === "starting") assert.equal(response.headers.get("retry-after"), "2");
    if (state === "failed") assert.match(body.error.message, /exited with code 1/);
  }
  target.state = "ready";
});

test("backend dying mid-stream ends the client stream", async () => {
  upstreamHandler = (request, response) => {
    response.writeHead(200, { "content-type": "text/event-stream" });
    response.write("data: 1\n\n");
    setTimeout(() => request.socket.destroy(), 50);
  };
  const response = await fetch(`${baseUrl}/v1/completions`, { method: "POST", body: "{}" });
  await assert.rejects(response.text());
});
