import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";

import { decodeStream } from "../src/protocol/decode-stream.js";
import type { CodecFrame } from "../src/protocol/frame.js";
import { postJson } from "./helpers/http.js";
import { addDemoModel } from "./helpers/registry-models.js";
import { captureLog } from "./helpers/log-capture.js";
import { startTestSupervisor } from "./helpers/test-supervisor.js";

test("model that cannot load leaves the backend failed", async (t) => {
  const log = captureLog();
  const server = await startTestSupervisor({ initialModel: "none" }, log);
  t.after(() => server.close());
  // A GGUF file that is not a GGUF file: the engine starts, fails to load it and exits 1.
  await mkdir(join(server.modelsDir, "broken"), { recursive: true });
  const modelPath = join(server.modelsDir, "broken", "model.gguf");
  await writeFile(modelPath, "this is not a gguf file");
  await assert.rejects(
    server.supervisor.backend.load(modelPath, ["--log-level", "info"]),
    (error: Error) => {
      assert.match(
        error.message,
        /loading .* failed: the backend exited during start-up with code 1/,
      );
      assert.match(error.message, /last output:/);
      assert.match(error.message, /failed to load the model/);
      return true;
    },
  );

  const status = (await (await fetch(`${server.baseUrl}/admin/status`)).json()) as any;
  assert.equal(status.state, "failed");
  assert.equal(status.running, false);
  assert.match(status.last_error, /exited during start-up with code 1/);

  const response = await postJson(`${server.baseUrl}/v1/completions`, { prompt: "x" });
  assert.equal(response.status, 503);
  const body = (await response.json()) as any;
  assert.match(body.error.message, /the backend failed/);

  const failed = log.events.find((event) => event.event === "backend.start_failed");
  assert.ok(failed !== undefined);
  assert.equal(typeof failed.pid, "number");
});

test("unknown initial model is reported", async (t) => {
  const log = captureLog();
  const server = await startTestSupervisor({ initialModel: "does-not-exist" }, log);
  t.after(() => server.close());
  await server.supervisor.initialLoad;
  const status = (await (await fetch(`${server.baseUrl}/admin/status`)).json()) as any;
  assert.equal(status.state, "stopped");
  const failure = log.events.find((event) => event.event === "supervisor.initial_model_failed");
  assert.ok(failure !== undefined, "initial model failure is logged");
  assert.match(failure.msg, /does-not-exist/);
});

test("initial model none starts without a backend", async (t) => {
  const server = await startTestSupervisor({ initialModel: "none" });
  t.after(() => server.close());
  await server.supervisor.initialLoad;
  const status = (await (await fetch(`${server.baseUrl}/admin/status`)).json()) as any;
  assert.equal(status.state, "stopped");
  const response = await fetch(`${server.baseUrl}/v1/models`);
  assert.equal(response.status, 503);
});

test("killed engine ends streams and restarts", async (t) => {
  const log = captureLog();
  const server = await startTestSupervisor({}, log);
  t.after(() => server.close());
  await server.supervisor.initialLoad;
  const pid = server.supervisor.backend.status().pid!;

  // A long stream through the proxy; the engine dies after the first frame. The proxy can end
  // only an uncompressed body with a terminal frame, and fetch asks for br and gzip by default.
  const response = await postJson(
    `${server.baseUrl}/v1/completions`,
    { prompt: "x", max_tokens: 400, ignore_eos: true, stream_format: "msgpack" },
    { "Accept-Encoding": "identity" },
  );
  const frames: CodecFrame[] = [];
  for await (const frame of decodeStream(response.body!, "msgpack")) {
    frames.push(frame);
    if (frames.length === 1) process.kill(pid, "SIGKILL");
  }
  assert.deepEqual(frames.at(-1), { ids: [], done: true, finish_reason: "error" });
  assert.ok(frames.flatMap((frame) => frame.ids).length < 400);

  // Requests sent while the engine restarts are held, then served by the new engine.
  const after = await postJson(`${server.baseUrl}/v1/completions`, { prompt: "x", max_tokens: 2 });
  assert.equal(after.status, 200);

  const exited = log.events.find((event) => event.event === "backend.exited" && event.pid === pid);
  assert.equal(exited?.expected, false);
  assert.equal(exited?.level, 40);
  const status = (await (await fetch(`${server.baseUrl}/admin/status`)).json()) as any;
  assert.equal(status.state, "ready");
  assert.equal(status.restarts, 1);
  assert.notEqual(status.pid, pid);
  assert.match(status.last_error, /exited unexpectedly with signal SIGKILL/);
  assert.ok(log.events.some((event) => event.event === "backend.restart_scheduled"));
});

test("restart swap ends open streams cleanly", async (t) => {
  const server = await startTestSupervisor(
    { initialModel: "model-a", drainTimeoutMs: 300 },
    undefined,
    async (modelsDir) => {
      await addDemoModel(modelsDir, "model-a", 42);
      await addDemoModel(modelsDir, "model-b", 43);
    },
  );
  t.after(() => server.close());
  await server.supervisor.initialLoad;

  const response = await postJson(
    `${server.baseUrl}/v1/completions`,
    { prompt: "x", max_tokens: 480, ignore_eos: true, stream_format: "msgpack" },
    { "Accept-Encoding": "identity" },
  );
  const frames: CodecFrame[] = [];
  let load: Promise<Response> | undefined;
  for await (const frame of decodeStream(response.body!, "msgpack")) {
    frames.push(frame);
    if (frames.length === 1) load = postJson(`${server.baseUrl}/admin/load`, { name: "model-b" });
  }
  // Whether the stream finished within the drain time or was stopped after it, it ends with
  // a terminal frame from the engine, never with the proxy's error frame.
  assert.ok(
    ["length", "abort"].includes(frames.at(-1)!.finish_reason!),
    frames.at(-1)!.finish_reason,
  );
  assert.equal((await load!).status, 200);
});
