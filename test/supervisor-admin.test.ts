import assert from "node:assert/strict";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { runCli } from "./helpers/cli-process.js";
import { postJson } from "./helpers/http.js";
import { captureLog } from "./helpers/log-capture.js";
import { addDemoModel } from "./helpers/registry-models.js";
import { startTestSupervisor, type TestSupervisor } from "./helpers/test-supervisor.js";

async function json(response: Response): Promise<any> {
  return response.json();
}

describe("admin load and stop", () => {
  let server: TestSupervisor;

  before(async () => {
    const backendArgs = [
      "--threads",
      "1",
      "--ctx-size",
      "512",
      "--parallel",
      "2",
      "--gpu",
      "cpu",
      "--log-level",
      "info",
    ];
    server = await startTestSupervisor(
      { initialModel: "model-a", allowRemoteLoad: false, backendArgs },
      undefined,
      async (modelsDir) => {
        await addDemoModel(modelsDir, "model-a", 42);
        await addDemoModel(modelsDir, "model-b", 43);
        await mkdir(join(modelsDir, "empty-dir"));
        await mkdir(join(modelsDir, "broken"));
        await writeFile(join(modelsDir, "broken", "broken.gguf"), "not a gguf file");
      },
    );
    await server.supervisor.initialLoad;
  });

  after(() => server.close());

  /** Loads model-a again, which later tests expect to be served. */
  async function restoreModelA(): Promise<void> {
    const response = await postJson(`${server.baseUrl}/admin/load`, { name: "model-a" });
    assert.equal(response.status, 200);
    await response.arrayBuffer();
  }

  test("registry model is served under its name", async () => {
    const models = await json(await fetch(`${server.baseUrl}/v1/models`));
    assert.equal(models.data[0].id, "model-a");
  });

  test("unknown name is a 404", async () => {
    const response = await postJson(`${server.baseUrl}/admin/load`, { name: "nope" });
    assert.equal(response.status, 404);
    const body = await json(response);
    assert.equal(body.error.code, "CODEC_ERR_BACKEND_MODEL_NOT_FOUND");
    assert.match(body.error.message, /unknown local model 'nope'/);
  });

  test("absolute path without allow_remote", async () => {
    const response = await postJson(`${server.baseUrl}/admin/load`, { name: "/tmp/model.gguf" });
    assert.equal(response.status, 404);
    const body = await json(response);
    assert.equal(body.error.code, "CODEC_ERR_BACKEND_MODEL_NOT_FOUND");
    assert.match(body.error.message, /set allow_remote to true to load an absolute path/);
    const hubId = await json(await postJson(`${server.baseUrl}/admin/load`, { name: "org/repo" }));
    assert.match(hubId.error.message, /set allow_remote to true to load a hub id/);
  });

  test("status shows the loading engine", async () => {
    const load = postJson(`${server.baseUrl}/admin/load`, { name: "model-b" });
    let status = await json(await fetch(`${server.baseUrl}/admin/status`));
    while (status.state !== "starting" || status.pid === null) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = await json(await fetch(`${server.baseUrl}/admin/status`));
    }
    assert.equal(status.running, true);
    assert.match(status.current_model, /model-b\.gguf$/);
    assert.equal(status.loading, null);
    assert.equal((await load).status, 200);
    await restoreModelA();
  });

  test("demo name loads the demo model", async () => {
    const response = await postJson(`${server.baseUrl}/admin/load`, { name: "demo" });
    assert.equal(response.status, 200, await response.clone().text());
    const models = await json(await fetch(`${server.baseUrl}/v1/models`));
    assert.match(models.data[0].id, /^codec-serve-demo-/);
    await restoreModelA();
  });

  test("remote load can be forbidden", async () => {
    const response = await postJson(`${server.baseUrl}/admin/load`, {
      name: "/tmp/x.gguf",
      allow_remote: true,
    });
    assert.equal(response.status, 403);
    assert.equal((await json(response)).error.code, "CODEC_ERR_BACKEND_REMOTE_LOAD_FORBIDDEN");
  });

  test("directory without gguf is a 404", async () => {
    const response = await postJson(`${server.baseUrl}/admin/load`, { name: "empty-dir" });
    assert.equal(response.status, 404);
    assert.match((await json(response)).error.message, /has no \.gguf file/);
  });

  test("reserved extra_args are rejected", async () => {
    const response = await postJson(`${server.baseUrl}/admin/load`, {
      name: "model-b",
      extra_args: ["--port=1"],
    });
    assert.equal(response.status, 400);
    const body = await json(response);
    assert.equal(body.error.code, "CODEC_ERR_BACKEND_INVALID_ARGS");
    assert.match(body.error.message, /--port/);
  });

  test("malformed load bodies are rejected", async () => {
    for (const body of [
      { name: "model-b", extra_args: "--threads 2" },
      { name: "" },
      { extra_args: [] },
      { name: "model-b", mode: "fast" },
    ]) {
      const response = await postJson(`${server.baseUrl}/admin/load`, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal((await json(response)).error.code, "CODEC_ERR_REQUEST_INVALID_PARAM");
    }
  });

  test("wrong method is a 405", async () => {
    const response = await fetch(`${server.baseUrl}/admin/load`);
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "POST");
    assert.equal((await json(response)).error.code, "CODEC_ERR_ROUTE_METHOD_NOT_ALLOWED");
  });

  test("failed load restores the previous model", async () => {
    const response = await postJson(`${server.baseUrl}/admin/load`, { name: "broken" });
    assert.equal(response.status, 500);
    const body = await json(response);
    assert.equal(body.error.code, "CODEC_ERR_BACKEND_LOAD_FAILED");
    assert.match(body.error.message, /broken\.gguf failed, and .*model-a\.gguf serves again/);
    assert.match(body.error.message, /last output:/);

    const status = await json(await fetch(`${server.baseUrl}/admin/status`));
    assert.equal(status.state, "ready");
    assert.match(status.current_model, /model-a\.gguf$/);
    assert.match(status.last_error, /exited during start-up with code 1; last output: /);
    const completion = await postJson(`${server.baseUrl}/v1/completions`, {
      prompt: "x",
      max_tokens: 2,
    });
    assert.equal(completion.status, 200);
    assert.equal((await json(completion)).model, "model-a");
  });

  test("second load while one runs is a 409", async () => {
    const first = postJson(`${server.baseUrl}/admin/load`, { name: "model-b" });
    // Wait until the first load has registered as the running operation.
    while (server.supervisor.backend.operation === undefined)
      await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await postJson(`${server.baseUrl}/admin/load`, { name: "model-a" });
    assert.equal(second.status, 409);
    const body = await json(second);
    assert.equal(body.error.code, "CODEC_ERR_BACKEND_OPERATION_CONFLICT");
    assert.match(body.error.message, /a load of .*model-b\.gguf is under way/);
    assert.equal((await first).status, 200);
  });

  test("text body from curl -d is parsed", async () => {
    const response = await fetch(`${server.baseUrl}/admin/load`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: JSON.stringify({ name: "model-a" }),
    });
    assert.equal(response.status, 200);
    const body = await json(response);
    assert.equal(body.name, "model-a");
    assert.equal(typeof body.pid, "number");
  });

  test("logs return backend output", async () => {
    const status = await json(await fetch(`${server.baseUrl}/admin/status`));
    const response = await fetch(`${server.baseUrl}/admin/logs?tail=500&pid=${status.pid}`);
    assert.equal(response.status, 200);
    const { lines } = await json(response);
    assert.ok(lines.length > 0);
    for (const line of lines) assert.equal(line.pid, status.pid);
    assert.ok(lines.some((line: { line: string }) => line.line.includes('"name":"engine"')));
  });

  test("followed logs stream new lines", async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.baseUrl}/admin/logs?tail=0&follow=1`, {
      signal: controller.signal,
    });
    assert.match(response.headers.get("content-type") ?? "", /text\/event-stream/);
    const reader = response.body!.getReader();
    // A load prints new engine lines, which must arrive on the open stream.
    const load = postJson(`${server.baseUrl}/admin/load`, { name: "model-b" });
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /^event: line\ndata: \{"pid":\d+/);
    controller.abort();
    assert.equal((await load).status, 200);
  });

  test("background load runs as a job", async () => {
    const response = await postJson(`${server.baseUrl}/admin/load`, {
      name: "model-a",
      background: true,
    });
    assert.equal(response.status, 202);
    const { job_id: jobId, status_url: statusUrl } = await json(response);
    assert.match(jobId, /^job-/);
    assert.equal(statusUrl, `/admin/jobs/${jobId}`);
    assert.equal(response.headers.get("location"), statusUrl);

    let job = await json(await fetch(`${server.baseUrl}${statusUrl}`));
    assert.equal(job.kind, "load");
    assert.equal(job.target, "model-a");
    while (job.state === "queued" || job.state === "running") {
      await new Promise((resolve) => setTimeout(resolve, 50));
      job = await json(await fetch(`${server.baseUrl}${statusUrl}`));
    }
    assert.equal(job.state, "succeeded");
    assert.equal(job.result.name, "model-a");
    assert.equal(typeof job.result.pid, "number");
    assert.equal((await json(await fetch(`${server.baseUrl}/v1/models`))).data[0].id, "model-a");
  });

  test("background load conflicts at once", async () => {
    const first = await postJson(`${server.baseUrl}/admin/load`, {
      name: "model-b",
      background: true,
    });
    assert.equal(first.status, 202);
    const second = await postJson(`${server.baseUrl}/admin/load`, {
      name: "model-a",
      background: true,
    });
    assert.equal(second.status, 409);
    const { job_id: jobId } = await json(first);
    let job = await json(await fetch(`${server.baseUrl}/admin/jobs/${jobId}`));
    while (job.state === "queued" || job.state === "running") {
      await new Promise((resolve) => setTimeout(resolve, 50));
      job = await json(await fetch(`${server.baseUrl}/admin/jobs/${jobId}`));
    }
    assert.equal(job.state, "succeeded");
  });

  test("stop cancels a load in progress", async () => {
    const load = postJson(`${server.baseUrl}/admin/load`, { name: "model-a" });
    while (server.supervisor.backend.operation === undefined)
      await new Promise((resolve) => setTimeout(resolve, 5));
    const stop = await json(await fetch(`${server.baseUrl}/admin/stop`, { method: "POST" }));
    assert.equal(stop.stopped, true);
    assert.match(stop.cancelled_load, /model-a\.gguf$/);

    const response = await load;
    assert.equal(response.status, 409);
    assert.match((await json(response)).error.message, /cancelled by a stop request/);
    const status = await json(await fetch(`${server.baseUrl}/admin/status`));
    assert.equal(status.state, "stopped");
    assert.equal(status.running, false);
  });
});

describe("served model across restarts", () => {
  test("restart loads the last model", async () => {
    const first = await startTestSupervisor(
      { initialModel: "model-a" },
      undefined,
      async (modelsDir) => {
        await addDemoModel(modelsDir, "model-a", 42);
        await addDemoModel(modelsDir, "model-b", 43);
      },
    );
    const dataDir = first.dataDir;
    await first.supervisor.initialLoad;
    assert.equal((await postJson(`${first.baseUrl}/admin/load`, { name: "model-b" })).status, 200);
    await first.supervisor.close();

    // Same data directory, no initial model configured: the saved model comes back.
    const second = await startTestSupervisor({
      initialModel: undefined,
      dataDir,
      modelsDir: join(dataDir, "models"),
    });
    try {
      await second.supervisor.initialLoad;
      const models = await json(await fetch(`${second.baseUrl}/v1/models`));
      assert.equal(models.data[0].id, "model-b");

      await fetch(`${second.baseUrl}/admin/stop`, { method: "POST" });
      await second.supervisor.close();
      const third = await startTestSupervisor({
        initialModel: undefined,
        dataDir,
        modelsDir: join(dataDir, "models"),
      });
      await third.supervisor.initialLoad;
      const status = await json(await fetch(`${third.baseUrl}/admin/status`));
      assert.equal(status.state, "stopped");
      await third.close();
    } finally {
      await second.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test("configured initial model wins over the saved one", async () => {
    const first = await startTestSupervisor(
      { initialModel: "model-b" },
      undefined,
      async (modelsDir) => {
        await addDemoModel(modelsDir, "model-a", 42);
        await addDemoModel(modelsDir, "model-b", 43);
      },
    );
    await first.supervisor.initialLoad;
    await first.supervisor.close();
    const second = await startTestSupervisor({
      initialModel: "model-a",
      dataDir: first.dataDir,
      modelsDir: first.modelsDir,
    });
    try {
      await second.supervisor.initialLoad;
      assert.equal((await json(await fetch(`${second.baseUrl}/v1/models`))).data[0].id, "model-a");
    } finally {
      await second.close();
      await rm(first.dataDir, { recursive: true, force: true });
    }
  });
});

describe("authentication", () => {
  let server: TestSupervisor;
  const log = captureLog();

  before(async () => {
    server = await startTestSupervisor(
      { adminToken: "admin-secret-token", apiKeys: ["key-one", "key-two"], initialModel: "none" },
      log,
    );
    await server.supervisor.initialLoad;
  });

  after(() => server.close());

  test("admin routes need the token", async () => {
    const missing = await fetch(`${server.baseUrl}/admin/status`);
    assert.equal(missing.status, 401);
    assert.equal((await json(missing)).error.code, "CODEC_ERR_AUTH_MISSING_CREDENTIALS");
    assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer/);

    const wrong = await fetch(`${server.baseUrl}/admin/status`, {
      headers: { Authorization: "Bearer nope" },
    });
    assert.equal(wrong.status, 401);
    assert.equal((await json(wrong)).error.code, "CODEC_ERR_AUTH_INVALID_CREDENTIALS");

    const apiKey = await fetch(`${server.baseUrl}/admin/status`, {
      headers: { Authorization: "Bearer key-one" },
    });
    assert.equal(apiKey.status, 401, "an inference key is not an admin token");

    const right = await fetch(`${server.baseUrl}/admin/status`, {
      headers: { Authorization: "Bearer admin-secret-token" },
    });
    assert.equal(right.status, 200);
  });

  test("encoded admin paths need the token", async () => {
    for (const path of [
      "/%61dmin/status",
      "/%61%64%6d%69%6e/status",
      "/admin%2Fstatus",
      "/%2561dmin/status",
    ]) {
      const response = await server.supervisor.app.inject({ method: "GET", url: path });
      assert.equal(response.statusCode, 401, path);
    }
    const load = await server.supervisor.app.inject({
      method: "POST",
      url: "/%61dmin/load",
      payload: { name: "/etc/hostname", allow_remote: true },
    });
    assert.equal(load.statusCode, 401);
  });

  test("inference routes need a key", async () => {
    const missing = await fetch(`${server.baseUrl}/v1/models`);
    assert.equal(missing.status, 401);
    const headerSets: Array<Record<string, string>> = [
      { Authorization: "Bearer key-one" },
      { Authorization: "bearer key-two" },
      { "X-Api-Key": "key-two" },
      { Authorization: "Bearer admin-secret-token" },
    ];
    for (const headers of headerSets) {
      const response = await fetch(`${server.baseUrl}/v1/models`, { headers });
      // No model is loaded, so an accepted key gets the proxy's 503, not a 401.
      assert.equal(response.status, 503, JSON.stringify(headers));
    }
  });

  test("complete sends the API key", async () => {
    const args = ["complete", "Hi", "--url", server.baseUrl, "--stream-format", "json"];
    const without = await runCli(args, { CODEC_API_KEY: "" });
    assert.equal(without.code, 1);
    assert.match(without.stderr, /HTTP 401/);
    // The first key of a server-style list is sent. No model runs, so the proxy returns 503.
    const withKey = await runCli(args, { CODEC_API_KEY: "key-two, key-one" });
    assert.equal(withKey.code, 1);
    assert.match(withKey.stderr, /HTTP 503/);
  });

  test("health and discovery stay public", async () => {
    assert.equal((await fetch(`${server.baseUrl}/health`)).status, 200);
    const map = await fetch(`${server.baseUrl}/.well-known/codec/maps/x.json`);
    assert.notEqual(map.status, 401);
  });

  test("keys never reach the logs", () => {
    const text = JSON.stringify(log.events);
    for (const secret of ["admin-secret-token", "key-one", "key-two"])
      assert.ok(!text.includes(secret), secret);
  });

  test("admin needs loopback without a token", async () => {
    const open = await startTestSupervisor({ initialModel: "none" });
    try {
      for (const url of ["/admin/status", "/%61dmin/status", "/admin/%73tatus"]) {
        const remote = await open.supervisor.app.inject({
          method: "GET",
          url,
          remoteAddress: "192.0.2.10",
        });
        assert.equal(remote.statusCode, 403, url);
        assert.equal(remote.json().error.code, "CODEC_ERR_AUTH_ADMIN_LOOPBACK_ONLY");
      }
      const local = await open.supervisor.app.inject({
        method: "GET",
        url: "/admin/status",
        remoteAddress: "::ffff:127.0.0.1",
      });
      assert.equal(local.statusCode, 200);
      const inference = await open.supervisor.app.inject({
        method: "GET",
        url: "/health",
        remoteAddress: "192.0.2.10",
      });
      assert.equal(inference.statusCode, 200);
    } finally {
      await open.close();
    }
  });
});
