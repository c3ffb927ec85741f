import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";

import { postJson } from "./helpers/http.js";
import { captureLog, waitFor } from "./helpers/log-capture.js";
import { startTestSupervisor } from "./helpers/test-supervisor.js";

test("model that cannot load leaves the backend failed", async (t) => {
  const log = captureLog();
  const server = await startTestSupervisor({ initialModel: "none" }, log);
  t.after(() => server.close());
  // A GGUF file that is not a GGUF file: the engine starts, fails to load it and exits 1.
  await mkdir(join(server.modelsDir, "broken"), { recursive: true });
  const modelPath = join(server.modelsDir, "broken", "model.gguf");
  await writeFile(modelPath, "this is not a gguf file");
  await assert.rejects(server.supervisor.backend.start(modelPath, ["--log-level", "info"]), (error: Error) => {
    assert.match(error.message, /exited during start-up with code 1/);
    assert.match(error.message, /last output:/);
    assert.match(error.message, /failed to load the model/);
    return true;
  });

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

test("engine killed while ready is detected", async (t) => {
  const log = captureLog();
  const server = await startTestSupervisor({}, log);
  t.after(() => server.close());
  await server.supervisor.initialLoad;
  const pid = server.supervisor.backend.status().pid;
  assert.equal(typeof pid, "number");

  process.kill(pid!, "SIGKILL");
  await waitFor(() => server.supervisor.backend.state === "failed", 10_000, "the backend to be marked failed");

  const status = (await (await fetch(`${server.baseUrl}/admin/status`)).json()) as any;
  assert.match(status.last_error, /exited unexpectedly with signal SIGKILL/);
  const exited = log.events.find((event) => event.event === "backend.exited");
  assert.equal(exited?.expected, false);
  assert.equal(exited?.level, 40);

  const response = await postJson(`${server.baseUrl}/v1/completions`, { prompt: "x" });
  assert.equal(response.status, 503);
});
