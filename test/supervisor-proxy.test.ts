import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";

import type { FastifyInstance } from "fastify";

import { createApp } from "../src/http/create-app.js";
import { ERRORS, HttpError } from "../src/http/errors.js";
import { decodeStream } from "../src/protocol/decode-stream.js";
import type { CodecFrame } from "../src/protocol/frame.js";
import { encodeMsgpackFrame } from "../src/protocol/msgpack-frame.js";
import { encodeProtobufFrame } from "../src/protocol/protobuf-frame.js";
import { listeningPort } from "../src/http/listen-address.js";
import { createLogger } from "../src/http/logger.js";
import { BackendProxy } from "../src/supervisor/proxy/backend-proxy.js";
import { registerProxyRoutes, type ProxyTarget } from "../src/supervisor/routes/proxy-routes.js";

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

let upstream: Server;
let upstreamHandler: Handler = (_request, response) => response.end("unset");
let app: FastifyInstance;
let proxy: BackendProxy;
let baseUrl: string;
/** A route that always points at the upstream server, unless a test sets `failure`. */
const target = {
  origin: "",
  failure: undefined as HttpError | undefined,
  released: 0,
  async route() {
    if (this.failure !== undefined) throw this.failure;
    return { origin: this.origin, release: () => void this.released++ };
  },
  async confirmUnreachable() {
    return false;
  },
};

before(async () => {
  upstream = createServer((request, response) => upstreamHandler(request, response));
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  target.origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  const log = createLogger("supervisor", "silent");
  app = createApp({ logger: log, source: "supervisor" });
  proxy = new BackendProxy(log);
  await registerProxyRoutes(app, target satisfies ProxyTarget, proxy);
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
  for (let read = await reader.read(); !read.done; read = await reader.read())
    rest += new TextDecoder().decode(read.value);
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
  const response = await fetch(`${baseUrl}/v1/completions`, {
    method: "POST",
    body: "{}",
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  await reader.read();
  controller.abort();
  await upstreamClosed.promise;
});

test("headers are filtered and forwarded", async () => {
  const seen = deferred<IncomingMessage["headers"]>();
  upstreamHandler = (request, response) => {
    seen.resolve(request.headers);
    response.writeHead(201, {
      "x-engine": "yes",
      "keep-alive": "timeout=5",
      "set-cookie": ["a=1", "b=2"],
    });
    response.end("created");
  };

  const response = await fetch(`${baseUrl}/v1/models?x=1`, {
    headers: {
      "x-custom": "kept",
      "proxy-authorization": "Basic c2VjcmV0",
      "x-request-id": "req-abc",
    },
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

test("inbound forwarded scheme is kept", async () => {
  const seen = deferred<IncomingMessage["headers"]>();
  upstreamHandler = (request, response) => {
    seen.resolve(request.headers);
    response.end();
  };
  await (
    await fetch(`${baseUrl}/v1/models`, {
      headers: { "x-forwarded-proto": "https", "x-forwarded-host": "llm.example" },
    })
  ).text();
  const headers = await seen.promise;
  assert.equal(headers["x-forwarded-proto"], "https");
  assert.equal(headers["x-forwarded-host"], "llm.example");
});

test("oversized body is a 413 envelope", async () => {
  upstreamHandler = (request, response) => {
    request.resume();
    request.on("end", () => response.end("unexpected"));
  };
  const response = await fetch(`${baseUrl}/v1/completions`, {
    method: "POST",
    body: Buffer.alloc(17 * 1024 * 1024),
  });
  assert.equal(response.status, 413);
  const body = (await response.json()) as any;
  assert.equal(body.error.code, "CODEC_ERR_REQUEST_BODY_TOO_LARGE");
  assert.match(body.error.message, /16777216 bytes/);
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

test("route failure is sent as an envelope", async () => {
  target.failure = new HttpError(ERRORS.proxyBackendStarting, "the backend is loading x", {
    headers: { "Retry-After": "2" },
  });
  try {
    const response = await fetch(`${baseUrl}/v1/completions`, { method: "POST", body: "{}" });
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("retry-after"), "2");
    const body = (await response.json()) as any;
    assert.equal(body.error.code, "CODEC_ERR_PROXY_BACKEND_STARTING");
    assert.equal(body.error.source, "supervisor");
  } finally {
    target.failure = undefined;
  }
});

test("every route lease is released", async () => {
  upstreamHandler = (_request, response) => response.end("ok");
  const before = target.released;
  await Promise.all([1, 2, 3].map(async () => (await fetch(`${baseUrl}/v1/models`)).text()));
  assert.equal(target.released - before, 3);
});

test("backend dying mid-sse ends with an error event", async () => {
  upstreamHandler = (request, response) => {
    response.writeHead(200, { "content-type": "text/event-stream" });
    response.write('data: {"n":1}\n\ndata: {"n":');
    setTimeout(() => request.socket.destroy(), 50);
  };
  const response = await fetch(`${baseUrl}/v1/completions`, { method: "POST", body: "{}" });
  const events = (await response.text()).split("\n\n").filter((block) => block !== "");
  assert.equal(events.length, 3);
  assert.equal(events[0], 'data: {"n":1}');
  const error = JSON.parse(events[1]!.slice("data: ".length));
  assert.equal(error.error.code, "CODEC_ERR_PROXY_BACKEND_FAILED");
  assert.equal(error.error.source, "proxy");
  assert.equal(events[2], "data: [DONE]");
});

test("backend dying mid-frame ends with an error frame", async () => {
  for (const format of ["msgpack", "protobuf"] as const) {
    const encode = format === "msgpack" ? encodeMsgpackFrame : encodeProtobufFrame;
    const first = encode({ ids: [101, 70000], done: false });
    const second = encode({ ids: [5], done: false });
    upstreamHandler = (request, response) => {
      response.writeHead(200, { "content-type": `application/x-${format}` });
      // One whole frame, then half of the next one, then the backend dies.
      response.write(Buffer.concat([first, second.subarray(0, 3)]));
      setTimeout(() => request.socket.destroy(), 50);
    };
    const response = await fetch(`${baseUrl}/v1/completions`, { method: "POST", body: "{}" });
    const frames: CodecFrame[] = [];
    for await (const frame of decodeStream(response.body!, format)) frames.push(frame);
    assert.deepEqual(
      frames,
      [
        { ids: [101, 70000], done: false },
        { ids: [], done: true, finish_reason: "error" },
      ],
      format,
    );
  }
});

test("backend dying mid-body cuts other responses", async () => {
  for (const headers of [
    { "content-type": "application/json" },
    { "content-type": "application/x-msgpack", "content-encoding": "gzip" },
  ]) {
    upstreamHandler = (request, response) => {
      response.writeHead(200, headers);
      response.write("partial");
      setTimeout(() => request.socket.destroy(), 50);
    };
    const response = await fetch(`${baseUrl}/v1/completions`, { method: "POST", body: "{}" });
    await assert.rejects(response.arrayBuffer());
  }
});
