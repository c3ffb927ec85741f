import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";

import { getBackendKind, type LaunchSpec } from "../src/supervisor/backend-kinds.js";
import { postJson } from "./helpers/http.js";
import { startTestSupervisor } from "./helpers/test-supervisor.js";

const spec: LaunchSpec = {
  model: "Qwen/Qwen2.5-0.5B-Instruct",
  host: "127.0.0.1",
  port: 30000,
  extraArgs: ["--tp", "2", "--served-model-name", "override"],
  instanceId: "abc",
};

describe("backend command lines", () => {
  test("sglang command line", () => {
    assert.deepEqual(getBackendKind("sglang").commandLine(spec), {
      command: "python3",
      args: [
        "-m",
        "sglang.launch_server",
        "--model-path",
        "Qwen/Qwen2.5-0.5B-Instruct",
        "--host",
        "127.0.0.1",
        "--port",
        "30000",
        "--tp",
        "2",
        "--served-model-name",
        "override",
      ],
    });
  });

  test("vllm command line", () => {
    assert.deepEqual(getBackendKind("vllm").commandLine({ ...spec, servedName: "qwen" }), {
      command: "python3",
      args: [
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        "Qwen/Qwen2.5-0.5B-Instruct",
        "--host",
        "127.0.0.1",
        "--port",
        "30000",
        "--served-model-name",
        "qwen",
        "--tp",
        "2",
        "--served-model-name",
        "override",
      ],
    });
  });

  test("llama-server takes hub specs with -hf", () => {
    const kind = getBackendKind("llamacpp");
    assert.deepEqual(
      kind.commandLine({ ...spec, model: "Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M", extraArgs: [] })
        .args,
      ["--host", "127.0.0.1", "--port", "30000", "-hf", "Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M"],
    );
    assert.deepEqual(
      kind.commandLine({
        ...spec,
        model: "/models/q/model.gguf",
        extraArgs: ["-c", "4096"],
        servedName: "q",
      }).args,
      [
        "--host",
        "127.0.0.1",
        "--port",
        "30000",
        "--model",
        "/models/q/model.gguf",
        "--alias",
        "q",
        "-c",
        "4096",
      ],
    );
    assert.deepEqual(
      kind.commandLine({ ...spec, model: "./relative:odd.gguf", extraArgs: [] }).args.slice(4),
      ["--model", "./relative:odd.gguf"],
    );
    assert.deepEqual(
      kind
        .commandLine({ ...spec, model: "Qwen/Qwen2.5-0.5B-Instruct-GGUF", extraArgs: [] })
        .args.slice(4),
      ["-hf", "Qwen/Qwen2.5-0.5B-Instruct-GGUF"],
    );
    assert.deepEqual(
      kind.commandLine({ ...spec, model: "models/x.gguf", extraArgs: [] }).args.slice(4),
      ["--model", "models/x.gguf"],
    );
  });

  test("embedded engine gets instance id and served name", () => {
    const line = getBackendKind("embedded").commandLine({
      ...spec,
      model: "/m.gguf",
      servedName: "m",
      extraArgs: ["--threads", "2"],
    });
    assert.equal(line.command, process.execPath);
    const args = line.args.slice(line.args.indexOf("engine"));
    assert.deepEqual(args, [
      "engine",
      "--model",
      "/m.gguf",
      "--host",
      "127.0.0.1",
      "--port",
      "30000",
      "--instance-id",
      "abc",
      "--exit-with-stdin",
      "--served-model-name",
      "m",
      "--threads",
      "2",
    ]);
  });

  test("only the embedded engine echoes instance ids", () => {
    assert.equal(getBackendKind("embedded").echoesInstanceId, true);
    for (const name of ["sglang", "vllm", "llamacpp"] as const)
      assert.equal(getBackendKind(name).echoesInstanceId, false);
  });
});

describe("external engines that are not installed", () => {
  test("missing llama-server fails fast", async (t) => {
    const emptyPath = await mkdtemp(join(tmpdir(), "codec-serve-path-"));
    const savedPath = process.env.PATH;
    process.env.PATH = emptyPath;
    const server = await startTestSupervisor({
      backend: "llamacpp",
      initialModel: "none",
      backendArgs: [],
    });
    t.after(async () => {
      process.env.PATH = savedPath;
      await server.close();
      await rm(emptyPath, { recursive: true, force: true });
    });

    const startedAt = Date.now();
    const response = await postJson(`${server.baseUrl}/admin/load`, {
      name: "/tmp/model.gguf",
      allow_remote: true,
    });
    assert.equal(response.status, 500);
    const body = (await response.json()) as any;
    assert.match(
      body.error.message,
      /the command 'llama-server' was not found; install it or choose another backend with CODEC_BACKEND/,
    );
    assert.ok(
      Date.now() - startedAt < 10_000,
      "a missing command must fail at once, not after the start-up timeout",
    );
  });

  test("python engine without its module fails fast", async (t) => {
    const server = await startTestSupervisor({
      backend: "vllm",
      initialModel: "none",
      backendArgs: [],
    });
    t.after(() => server.close());
    const response = await postJson(`${server.baseUrl}/admin/load`, {
      name: "Qwen/Qwen2.5-0.5B-Instruct",
      allow_remote: true,
    });
    assert.equal(response.status, 500);
    const body = (await response.json()) as any;
    assert.match(body.error.message, /exited during start-up with code 1/);
    assert.match(body.error.message, /No module named/);
    const status = (await (await fetch(`${server.baseUrl}/admin/status`)).json()) as any;
    assert.equal(status.state, "failed");
    assert.match(status.last_error, /No module named/);
  });
});
