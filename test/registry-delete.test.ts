import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";

import { listAll, startRegistryHarness, type RegistryHarness } from "./helpers/registry-harness.js";

async function makeModel(modelsDir: string, name: string): Promise<string> {
  const dir = join(modelsDir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "model.gguf"), "GGUF");
  return dir;
}

function deleteModel(harness: RegistryHarness, name: string): Promise<Response> {
  return fetch(`${harness.baseUrl}/admin/models/${encodeURIComponent(name)}`, { method: "DELETE" });
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

describe("delete", () => {
  let harness: RegistryHarness;
  before(async () => {
    harness = await startRegistryHarness();
  });
  afterEach(() => {
    harness.backend.current = undefined;
  });
  after(() => harness.close({ removeModelsDir: true }));

  test("unknown model is 404", async () => {
    const response = await deleteModel(harness, "missing");
    assert.equal(response.status, 404);
    assert.equal(await errorCode(response), "CODEC_ERR_REGISTRY_MODEL_NOT_FOUND");
  });

  test("stray file is not a model", async () => {
    await writeFile(join(harness.modelsDir, "notes.txt"), "not a model");
    const response = await deleteModel(harness, "notes.txt");
    assert.equal(response.status, 404);
    assert.equal(await readFile(join(harness.modelsDir, "notes.txt"), "utf8"), "not a model");
    await rm(join(harness.modelsDir, "notes.txt"));
  });

  test("deletes a model", async () => {
    await makeModel(harness.modelsDir, "doomed");
    const response = await deleteModel(harness, "doomed");
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { deleted: "doomed", partial_pull_deleted: false });
    assert.deepEqual(await listAll(harness.modelsDir), []);
  });

  test("loaded file is 409", async () => {
    const dir = await makeModel(harness.modelsDir, "busy");
    harness.backend.current = { model: join(dir, "model.gguf") };
    const response = await deleteModel(harness, "busy");
    assert.equal(response.status, 409);
    const error = ((await response.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, "CODEC_ERR_REGISTRY_MODEL_LOADED");
    assert.match(error.message, /load another model first with POST \/admin\/load/);
    assert.match(error.message, /POST \/admin\/stop/);
    assert.ok((await stat(join(dir, "model.gguf"))).isFile());
    harness.backend.current = undefined;
    assert.equal((await deleteModel(harness, "busy")).status, 200);
  });

  test("loaded directory is 409", async () => {
    const dir = await makeModel(harness.modelsDir, "busy-dir");
    harness.backend.current = { model: dir };
    assert.equal((await deleteModel(harness, "busy-dir")).status, 409);
    harness.backend.current = undefined;
    assert.equal((await deleteModel(harness, "busy-dir")).status, 200);
  });

  test("name prefix is not a match", async () => {
    await makeModel(harness.modelsDir, "a");
    const other = await makeModel(harness.modelsDir, "a-b");
    harness.backend.current = { model: join(other, "model.gguf") };
    assert.equal((await deleteModel(harness, "a")).status, 200);
    assert.equal((await deleteModel(harness, "a-b")).status, 409);
    harness.backend.current = undefined;
    assert.equal((await deleteModel(harness, "a-b")).status, 200);
  });

  test("symlinked model loses only its link", async () => {
    const outside = await mkdtemp(join(tmpdir(), "codec-outside-"));
    await writeFile(join(outside, "model.gguf"), "precious");
    await symlink(outside, join(harness.modelsDir, "linked"));
    try {
      const list = (await (await fetch(`${harness.baseUrl}/admin/models`)).json()) as {
        models: Array<{ name: string }>;
      };
      assert.deepEqual(
        list.models.map((model) => model.name),
        ["linked"],
      );

      harness.backend.current = { model: join(outside, "model.gguf") };
      assert.equal((await deleteModel(harness, "linked")).status, 409);
      harness.backend.current = undefined;

      const response = await deleteModel(harness, "linked");
      assert.equal(response.status, 200);
      assert.deepEqual(await listAll(harness.modelsDir), []);
      assert.equal(await readFile(join(outside, "model.gguf"), "utf8"), "precious");
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  test("partial pull is deleted by name", async () => {
    await mkdir(join(harness.modelsDir, ".pull-owner--repo"));
    await writeFile(
      join(harness.modelsDir, ".pull-owner--repo", "model.gguf.codec-partial"),
      "half",
    );
    const response = await deleteModel(harness, "owner--repo");
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { deleted: "owner--repo", partial_pull_deleted: true });
    assert.deepEqual(await listAll(harness.modelsDir), []);
  });
});

describe("delete through symlinked models directory", () => {
  let realRoot: string;
  let linkRoot: string;
  before(async () => {
    const parent = await mkdtemp(join(tmpdir(), "codec-linked-root-"));
    realRoot = join(parent, "real");
    linkRoot = join(parent, "link");
    await mkdir(realRoot);
    await symlink(realRoot, linkRoot);
  });
  after(() => rm(join(realRoot, ".."), { recursive: true, force: true }));

  test("loaded real path blocks delete via link", async () => {
    const harness = await startRegistryHarness({ modelsDir: linkRoot });
    try {
      await makeModel(linkRoot, "m");
      harness.backend.current = { model: join(realRoot, "m", "model.gguf") };
      const response = await deleteModel(harness, "m");
      assert.equal(response.status, 409);
      assert.equal(await errorCode(response), "CODEC_ERR_REGISTRY_MODEL_LOADED");

      harness.backend.current = undefined;
      assert.equal((await deleteModel(harness, "m")).status, 200);
      assert.deepEqual(await listAll(realRoot), []);
    } finally {
      await harness.close();
    }
  });

  test("loaded link path blocks delete via real dir", async () => {
    const harness = await startRegistryHarness({ modelsDir: realRoot });
    try {
      await makeModel(realRoot, "n");
      harness.backend.current = { model: join(linkRoot, "n", "model.gguf") };
      assert.equal((await deleteModel(harness, "n")).status, 409);
      harness.backend.current = undefined;
      assert.equal((await deleteModel(harness, "n")).status, 200);
    } finally {
      await harness.close();
    }
  });
});
