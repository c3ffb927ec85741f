import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { formatBytes, formatDuration, renderProgressLine } from "../src/cli/progress-line.js";
import { runCli } from "./helpers/cli-process.js";
import { FakeHub } from "./helpers/hub-server.js";
import { startRegistryHarness, type RegistryHarness } from "./helpers/registry-harness.js";

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
});
