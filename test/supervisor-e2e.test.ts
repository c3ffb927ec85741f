import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { decodeStream } from "../src/protocol/decode-stream.js";
import { Detokenizer } from "../src/protocol/detokenizer.js";
import type { CodecFrame } from "../src/protocol/frame.js";
import { loadMap } from "../src/protocol/load-map.js";
import { postJson, readSseData } from "./helpers/http.js";
import { startTestSupervisor, type TestSupervisor } from "./helpers/test-supervisor.js";

let server: TestSupervisor;
let healthWhileLoading: Response;

before(async () => {
  server = await startTestSupervisor();
  // The supervisor listens before the engine is up, so this runs during the initial load.
  healthWhileLoading = await fetch(`${server.baseUrl}/health`);
  await server.supervisor.initialLoad;
});

after(() => server.close());

const request = { prompt: "The quick brown fox", max_tokens: 24, temperature: 0 };

test("health answers while the model loads", async () => {
  assert.equal(healthWhileLoading.status, 200);
  const body = (await healthWhileLoading.json()) as Record<string, unknown>;
  assert.equal(body.status, "ok");
  assert.equal(typeof body.backend_running, "boolean");
  assert.ok(["stopped", "starting"].includes(body.backend_state as string));
});

test("status reports the ready backend", async () => {
  const response = await fetch(`${server.baseUrl}/admin/status`);
  const status = (await response.json()) as Record<string, any>;
  assert.equal(status.backend, "embedded");
  assert.equal(status.state, "ready");
  assert.equal(status.running, true);
  assert.match(status.current_model, /codec-serve-demo-qwen3-.*\.gguf$/);
  assert.ok(!Number.isNaN(Date.parse(status.started_at)));
  assert.match(status.backend_url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(typeof status.pid, "number");
  assert.equal(status.models_dir, server.modelsDir);
});

test("same completion four ways", async () => {
  const json = (await (await postJson(`${server.baseUrl}/v1/completions`, request)).json()) as any;
  const jsonText: string = json.choices[0].text;
  assert.equal(json.usage.completion_tokens, 24);

  const sse = await postJson(`${server.baseUrl}/v1/completions`, { ...request, stream: true });
  const sseText = (await readSseData(sse))
    .filter((data) => data !== "[DONE]")
    .map((data) => JSON.parse(data).choices[0].text as string)
    .join("");
  assert.equal(sseText, jsonText);

  const models = (await (await fetch(`${server.baseUrl}/v1/models`)).json()) as any;
  const codec = models.data[0].codec;
  const mapBytes = new Uint8Array(
    await (await fetch(`${server.baseUrl}${codec.map_url}`)).arrayBuffer(),
  );
  const map = await loadMap({ bytes: mapBytes, hash: codec.map_hash });

  for (const format of ["msgpack", "protobuf"] as const) {
    const response = await postJson(`${server.baseUrl}/v1/completions`, {
      ...request,
      stream_format: format,
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), `application/x-${format}`);
    const frames: CodecFrame[] = [];
    for await (const frame of decodeStream(response.body!, format)) frames.push(frame);
    assert.equal(frames.at(-1)!.done, true);
    assert.equal(frames.at(-1)!.finish_reason, "length");

    const ids = frames.flatMap((frame) => frame.ids);
    assert.equal(ids.length, json.usage.completion_tokens, `${format} id count`);
    const detokenizer = new Detokenizer(map);
    const text = frames
      .map((frame) => detokenizer.render(frame.ids, { partial: !frame.done }))
      .join("");
    assert.equal(text, jsonText, `${format} text`);
  }
});

test("proxy echoes the request id", async () => {
  const response = await postJson(
    `${server.baseUrl}/v1/completions`,
    { ...request, max_tokens: 1 },
    { "X-Request-Id": "e2e-42" },
  );
  assert.equal(response.headers.get("x-request-id"), "e2e-42");
  await response.arrayBuffer();
});

test("engine errors pass through the proxy", async () => {
  const response = await postJson(`${server.baseUrl}/v1/completions`, {
    ...request,
    max_tokens: -1,
  });
  assert.equal(response.status, 400);
  const body = (await response.json()) as any;
  assert.equal(body.error.param, "max_tokens");
  assert.equal(body.error.source, "engine");
});

test("unknown admin path is the supervisor's 404", async () => {
  const response = await fetch(`${server.baseUrl}/admin/nothing`);
  assert.equal(response.status, 404);
  const body = (await response.json()) as any;
  assert.equal(body.error.code, "CODEC_ERR_ROUTE_NOT_FOUND");
  assert.equal(body.error.source, "supervisor");
});

test("after stop the proxy answers 503", async () => {
  const stop = await fetch(`${server.baseUrl}/admin/stop`, { method: "POST" });
  assert.deepEqual(await stop.json(), { stopped: true, cancelled_load: null });
  const again = await fetch(`${server.baseUrl}/admin/stop`, { method: "POST" });
  assert.deepEqual(await again.json(), { stopped: true, cancelled_load: null });

  const response = await postJson(`${server.baseUrl}/v1/completions`, request);
  assert.equal(response.status, 503);
  const body = (await response.json()) as any;
  assert.equal(body.error.code, "CODEC_ERR_PROXY_NO_BACKEND");
  assert.match(body.error.message, /no backend is running/);

  const status = (await (await fetch(`${server.baseUrl}/admin/status`)).json()) as any;
  assert.equal(status.state, "stopped");
  assert.equal(status.running, false);
  assert.equal(status.current_model, null);
});
