import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { runCli, startServeProcess, type ServeProcess } from "./helpers/cli-process.js";
import { waitFor } from "./helpers/log-capture.js";
import { demoModelPath } from "./helpers/test-model.js";

describe("serve and complete", () => {
  let server: ServeProcess;
  let cacheHome: string;

  before(async () => {
    cacheHome = await mkdtemp(join(tmpdir(), "codec-serve-cache-"));
    server = await startServeProcess(
      ["--port", "0", "--backend-port", "0", "--data-dir", join(cacheHome, "data")],
      { CODEC_BACKEND_ARGS: "--threads 1 --ctx-size 512 --parallel 2 --gpu cpu --log-level warn" },
    );
    await waitFor(
      () => server.events.some((event) => event.event === "backend.ready"),
      60_000,
      "the engine to become ready",
    );
  });

  after(async () => {
    assert.equal(await server.stop(), 0);
    await rm(cacheHome, { recursive: true, force: true });
  });

  test("complete prints the same text in every format", async () => {
    const outputs: string[] = [];
    for (const format of ["json", "msgpack", "protobuf"]) {
      const result = await runCli(
        [
          "complete",
          "Once upon a time",
          "--url",
          server.baseUrl,
          "--stream-format",
          format,
          "--max-tokens",
          "16",
          "--temperature",
          "0",
        ],
        { XDG_CACHE_HOME: cacheHome },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /finish_reason: length/);
      outputs.push(result.stdout);
    }
    assert.ok(outputs[0]!.length > 1);
    assert.equal(outputs[1], outputs[0]);
    assert.equal(outputs[2], outputs[0]);
  });

  test("complete reports a server error", async () => {
    const result = await runCli([
      "complete",
      "x",
      "--url",
      server.baseUrl,
      "--stream-format",
      "json",
      "--temperature",
      "-1",
    ]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /HTTP 400.*temperature/);
  });
});

test("help lists the commands", async () => {
  const result = await runCli(["--help"]);
  assert.equal(result.code, 0);
  for (const command of ["serve", "engine", "complete"])
    assert.match(result.stdout, new RegExp(`\\b${command}\\b`));
});

test("invalid port from the environment is rejected", async () => {
  const result = await runCli(["serve"], { CODEC_PORT: "eighty" });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /CODEC_PORT/);
  assert.match(result.stderr, /not a port number/);
});

test("engine with a bad setting exits at once", async () => {
  const result = await runCli(
    ["engine", "--model", await demoModelPath(), "--port", "0", "--gpu", "cpu"],
    {
      CODEC_VERSION_POLICY: "strcit",
    },
  );
  assert.equal(result.code, 1);
  assert.match(result.stderr, /CODEC_VERSION_POLICY must be off, advisory or strict, got 'strcit'/);
});

test("engine without a model is rejected", async () => {
  const result = await runCli(["engine"]);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /--model/);
});

test("complete against no server fails cleanly", async () => {
  const result = await runCli([
    "complete",
    "x",
    "--url",
    "http://127.0.0.1:1",
    "--stream-format",
    "json",
  ]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^codec-serve: /);
});

test("engine exits with its killed supervisor", async () => {
  const cacheHome = await mkdtemp(join(tmpdir(), "codec-serve-orphan-"));
  const server = await startServeProcess(
    ["--port", "0", "--backend-port", "0", "--data-dir", join(cacheHome, "data")],
    {
      CODEC_BACKEND_ARGS: "--threads 1 --ctx-size 512 --parallel 1 --gpu cpu --log-level warn",
    },
  );
  try {
    await waitFor(
      () => server.events.some((event) => event.event === "backend.ready"),
      60_000,
      "the engine to become ready",
    );
    const status = (await (await fetch(`${server.baseUrl}/admin/status`)).json()) as {
      pid: number;
    };
    server.child.kill("SIGKILL");
    // The engine notices that its stdin pipe closed and stops; it must not keep the port.
    await waitFor(() => !isAlive(status.pid), 15_000, "the engine to exit");
  } finally {
    server.child.kill("SIGKILL");
    await rm(cacheHome, { recursive: true, force: true });
  }
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
