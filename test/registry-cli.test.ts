import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { describeFailure } from "../src/cli/admin-request.js";
import {
  formatBytes,
  formatDuration,
  ProgressReporter,
  renderProgressLine,
  type ProgressView,
} from "../src/cli/progress-line.js";
import { runCli } from "./helpers/cli-process.js";
import { FakeHub } from "./helpers/hub-server.js";
import { listAll, startRegistryHarness, type RegistryHarness } from "./helpers/registry-harness.js";

const PROGRESS_BAR = /\[[#-]{24}\]/;

/** Creates a stand-in for stderr that records what is written. */
function fakeStream(isTTY: boolean): NodeJS.WritableStream & { isTTY: boolean; text: string } {
  const stream = {
    isTTY,
    text: "",
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WritableStream & { isTTY: boolean; text: string };
}

const HALF: ProgressView = { done: 50, total: 100, rateBytesPerS: 10, etaS: 5, label: "f" };
const FULL: ProgressView = { done: 100, total: 100, rateBytesPerS: 10, etaS: 0, label: "f" };

/** Starts a loopback HTTP server with `handler`; resolves with it and its base URL. */
async function startServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stopServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

function sendError(response: ServerResponse, status: number, code: string, message: string): void {
  response.writeHead(status, { "content-type": "application/json", connection: "close" });
  response.end(JSON.stringify({ error: { message, type: "x", param: null, code } }));
}

/** Splits `text` into lines, dropping empty ones. */
function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

const WEIGHTS = randomBytes(700 * 1024);

describe("progress line", () => {
  test("formats bytes and durations", () => {
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(1536), "1.5 KiB");
    assert.equal(formatBytes(3 * 1024 ** 3), "3.0 GiB");
    assert.equal(formatDuration(47), "0:47");
    assert.equal(formatDuration(3725), "1:02:05");
  });

  test("renders bar, rate and eta", () => {
    const line = renderProgressLine({
      done: 512 * 1024,
      total: 1024 * 1024,
      rateBytesPerS: 2048,
      etaS: 256,
      label: "w.gguf",
    });
    assert.equal(
      line,
      "[############------------]   50%  512.0 KiB / 1.0 MiB  2.0 KiB/s  ETA 4:16  w.gguf",
    );
    assert.match(
      renderProgressLine({ done: 0, total: 0, rateBytesPerS: 0, etaS: null }),
      /ETA --:--/,
    );
  });

  test("finish skips a line already printed", () => {
    const stream = fakeStream(false);
    const reporter = new ProgressReporter(stream);
    reporter.update(FULL);
    reporter.finish(FULL);
    assert.equal(lines(stream.text).length, 1);
  });

  test("finish prints a newer line", () => {
    const stream = fakeStream(false);
    const reporter = new ProgressReporter(stream);
    reporter.update(HALF);
    reporter.finish(FULL);
    assert.deepEqual(lines(stream.text), [renderProgressLine(HALF), renderProgressLine(FULL)]);
  });

  test("abort clears the line and stops output", () => {
    const stream = fakeStream(true);
    const reporter = new ProgressReporter(stream);
    reporter.update(HALF);
    reporter.abort();
    assert.ok(stream.text.endsWith("\r\u001b[2K"));
    const before = stream.text;
    reporter.update(FULL);
    reporter.finish(FULL);
    assert.equal(stream.text, before);
  });

  test("abort without a terminal writes nothing", () => {
    const stream = fakeStream(false);
    const reporter = new ProgressReporter(stream);
    reporter.update(HALF);
    reporter.abort();
    reporter.finish(FULL);
    assert.deepEqual(lines(stream.text), [renderProgressLine(HALF)]);
  });
});

describe("admin failure messages", () => {
  test("rejected admin token hints at --admin-token", () => {
    for (const code of [
      "CODEC_ERR_AUTH_MISSING_CREDENTIALS",
      "CODEC_ERR_AUTH_INVALID_CREDENTIALS",
    ]) {
      const text = JSON.stringify({ error: { message: "invalid credentials", code } });
      const message = describeFailure(401, text);
      assert.match(message, /--admin-token/, code);
      assert.match(message, /CODEC_ADMIN_TOKEN/, code);
    }
    assert.match(describeFailure(401, "Unauthorized"), /--admin-token/);
  });

  test("Hub 401 has no admin token hint", () => {
    const text = JSON.stringify({
      error: { message: "the repo needs a token", code: "CODEC_ERR_REGISTRY_HUB_UNAUTHORIZED" },
    });
    assert.doesNotMatch(describeFailure(401, text), /--admin-token/);
  });
});

describe("pull and upload commands", () => {
  let hub: FakeHub;
  let harness: RegistryHarness;
  let workDir: string;

  before(async () => {
    hub = await new FakeHub().start();
    hub.addRepo({
      id: "acme/cli-model",
      files: [
        { path: "cli-Q4_K_M.gguf", content: WEIGHTS },
        { path: "cli-Q8_0.gguf", content: randomBytes(1024) },
      ],
    });
    hub.faults.set("cli-Q4_K_M.gguf", { chunkDelayMs: 10 });
    harness = await startRegistryHarness({ hubEndpoint: hub.url });
    workDir = await mkdtemp(join(tmpdir(), "codec-cli-"));
  });
  after(async () => {
    await harness.close({ removeModelsDir: true });
    await hub.close();
    await rm(workDir, { recursive: true, force: true });
  });

  test("pull shows progress and succeeds", async () => {
    const result = await runCli([
      "pull",
      "acme/cli-model",
      "--include",
      "*Q4_K_M.gguf",
      "--url",
      harness.baseUrl,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /pulled acme\/cli-model as 'acme--cli-model' to /);
    assert.match(result.stderr, /\[#{24}\]\s+100%/);
    assert.match(result.stderr, /ETA 0:00/);
    assert.deepEqual(
      await readFile(join(harness.modelsDir, "acme--cli-model", "cli-Q4_K_M.gguf")),
      WEIGHTS,
    );
  });

  test("pull of a missing repo exits 1", async () => {
    const result = await runCli(["pull", "acme/missing", "--url", harness.baseUrl]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /repo 'acme\/missing' or revision 'main' not found/);
    assert.match(result.stderr, /CODEC_ERR_REGISTRY_HUB_NOT_FOUND/);
  });

  test("pull with an invalid repo id exits 1", async () => {
    const result = await runCli(["pull", "../etc", "--url", harness.baseUrl]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /invalid repo_id/);
  });

  test("upload packs a directory", async () => {
    const dir = join(workDir, "local-model");
    await mkdir(join(dir, "sub"), { recursive: true });
    await writeFile(join(dir, "model.gguf"), WEIGHTS);
    await writeFile(join(dir, "sub", "notes.txt"), "notes");
    await symlink(join(dir, "sub", "notes.txt"), join(dir, "linked-notes.txt"));

    const result = await runCli(["upload", dir, "--name", "from-cli", "--url", harness.baseUrl]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /uploaded .* as 'from-cli'/);
    assert.match(result.stderr, /100%/);

    const model = join(harness.modelsDir, "from-cli");
    assert.deepEqual(await readFile(join(model, "model.gguf")), WEIGHTS);
    assert.equal(await readFile(join(model, "sub", "notes.txt"), "utf8"), "notes");
    assert.equal(await readFile(join(model, "linked-notes.txt"), "utf8"), "notes");
  });

  test("upload to a taken name exits 1", async () => {
    const dir = join(workDir, "again");
    await mkdir(dir);
    await writeFile(join(dir, "model.gguf"), "GGUF");
    const first = await runCli(["upload", dir, "--name", "taken", "--url", harness.baseUrl]);
    assert.equal(first.code, 0, first.stderr);
    const second = await runCli(["upload", dir, "--name", "taken", "--url", harness.baseUrl]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /already exists/);
  });

  test("upload with an invalid name exits 1", async () => {
    const result = await runCli(["upload", workDir, "--name", ".hidden", "--url", harness.baseUrl]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /invalid model name/);
  });

  for (const [label, name, rule] of [
    ["dot-dot", "..", /'\.' and '\.\.' are not model names/],
    ["empty", "", /must not be empty/],
    ["percent-encoded", "%2e%2e", /must not contain '%'/],
    ["slash", "a/b", /single path component/],
  ] as const) {
    test(`upload rejects ${label} name before sending`, async () => {
      const dir = join(workDir, "local-model");
      const before = await listAll(harness.modelsDir);
      const result = await runCli(["upload", dir, "--name", name, "--url", harness.baseUrl]);
      assert.equal(result.code, 1);
      assert.equal(lines(result.stderr).length, 1, result.stderr);
      assert.ok(
        result.stderr.startsWith(
          `codec-serve: upload of ${dir} as '${name}' failed: invalid model name`,
        ),
        result.stderr,
      );
      assert.match(result.stderr, rule);
      assert.doesNotMatch(result.stderr, /already exists/);
      assert.deepEqual(await listAll(harness.modelsDir), before);
    });
  }

  test("pull failure prints each line once", async () => {
    hub.addRepo({ id: "acme/corrupt", files: [{ path: "bad.gguf", content: randomBytes(4096) }] });
    hub.faults.set("bad.gguf", { corruptTimes: Infinity });
    const result = await runCli(["pull", "acme/corrupt", "--url", harness.baseUrl]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /CODEC_ERR_REGISTRY_CHECKSUM_MISMATCH/);
    const printed = lines(result.stderr);
    assert.equal(new Set(printed).size, printed.length, result.stderr);
    assert.match(printed.at(-1)!, /^codec-serve: pull of acme\/corrupt failed: /);
  });
});

describe("upload limits in the command", () => {
  let harness: RegistryHarness;
  let workDir: string;
  const limit = 64 * 1024;

  before(async () => {
    harness = await startRegistryHarness({ uploadMaxBytes: limit });
    workDir = await mkdtemp(join(tmpdir(), "codec-cli-limit-"));
  });
  after(async () => {
    await harness.close({ removeModelsDir: true });
    await rm(workDir, { recursive: true, force: true });
  });

  test("directory over the limit is rejected up front", async () => {
    const dir = join(workDir, "too-big");
    await mkdir(dir);
    await writeFile(join(dir, "model.gguf"), randomBytes(limit + 1));
    const result = await runCli(["upload", dir, "--name", "too-big", "--url", harness.baseUrl]);
    assert.equal(result.code, 1);
    assert.equal(lines(result.stderr).length, 1, result.stderr);
    assert.match(result.stderr, /^codec-serve: upload of .* as 'too-big' failed: /);
    assert.match(result.stderr, new RegExp(`upload limit of ${limit} bytes`));
    assert.match(result.stderr, /CODEC_UPLOAD_MAX_BYTES/);
    assert.doesNotMatch(result.stderr, PROGRESS_BAR);
    assert.deepEqual(await listAll(harness.modelsDir), []);
  });

  test("archive growing past the limit stops", async () => {
    // The files fit the limit, but their tar headers push the archive over it.
    const dir = join(workDir, "almost");
    await mkdir(dir);
    await writeFile(join(dir, "a.gguf"), randomBytes(limit / 2));
    await writeFile(join(dir, "b.gguf"), randomBytes(limit / 2 - 100));
    const result = await runCli(["upload", dir, "--name", "almost", "--url", harness.baseUrl]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /archive grew past the server's upload limit/);
    assert.doesNotMatch(result.stderr, /100%/);
    assert.match(lines(result.stderr).at(-1)!, /^codec-serve: upload of .* as 'almost' failed: /);
    assert.deepEqual(await listAll(harness.modelsDir), []);
  });
});

describe("command errors from the server", () => {
  let workDir: string;
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), "codec-cli-errors-"));
    await writeFile(join(workDir, "model.gguf"), randomBytes(3 * 1024 * 1024));
  });
  after(() => rm(workDir, { recursive: true, force: true }));

  test("early rejection is printed once", async () => {
    const { server, url } = await startServer((request, response) => {
      if (request.method === "GET") {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ models: [], partial_pulls: [] }));
        return;
      }
      // Rejects the upload without reading its body, as the registry does for a full disk.
      sendError(response, 507, "CODEC_ERR_REGISTRY_INSUFFICIENT_STORAGE", "the disk is full");
    });
    try {
      const result = await runCli(["upload", workDir, "--name", "m", "--url", url]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /upload of .* as 'm' failed: the disk is full \(HTTP 507, CODEC_ERR_REGISTRY_INSUFFICIENT_STORAGE\)/,
      );
      assert.doesNotMatch(result.stderr, /100%/);
      assert.match(lines(result.stderr).at(-1)!, /^codec-serve: upload of /);
    } finally {
      await stopServer(server);
    }
  });

  test("401 hints at the admin token", async () => {
    const { server, url } = await startServer((_request, response) =>
      sendError(response, 401, "CODEC_ERR_AUTH_MISSING_CREDENTIALS", "missing credentials"),
    );
    try {
      const env = { CODEC_ADMIN_TOKEN: "" };
      for (const args of [
        ["upload", workDir, "--name", "m", "--url", url],
        ["pull", "acme/x", "--url", url],
      ]) {
        const result = await runCli(args, env);
        assert.equal(result.code, 1, args[0]);
        assert.match(result.stderr, /missing credentials \(HTTP 401/, args[0]);
        assert.match(result.stderr, /--admin-token or set CODEC_ADMIN_TOKEN/, args[0]);
      }
    } finally {
      await stopServer(server);
    }
  });

  test("refused connection hints at --url", async () => {
    const { server, url } = await startServer(() => undefined);
    await stopServer(server);
    for (const [args, prefix] of [
      [["upload", workDir, "--name", "m", "--url", url], /upload of .* as 'm' failed: /],
      [["pull", "acme/x", "--url", url], /pull of acme\/x failed: /],
    ] as const) {
      const result = await runCli([...args]);
      assert.equal(result.code, 1, args[0]);
      assert.match(result.stderr, prefix, args[0]);
      assert.match(result.stderr, /ECONNREFUSED/, args[0]);
      assert.match(result.stderr, /--url or set CODEC_URL/, args[0]);
    }
  });
});
