import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import * as tar from "tar";

import { writeDemoModel } from "../src/demo-model/demo-model.js";
import { FakeHub } from "./helpers/hub-server.js";
import { startTestSupervisor, type TestSupervisor } from "./helpers/test-supervisor.js";

/** A small demo model: enough for llama.cpp to load and generate, quick to write and upload. */
const SMALL_MODEL = {
  embeddingLength: 32,
  blockCount: 1,
  headCount: 2,
  headCountKv: 2,
  feedForwardLength: 64,
  contextLength: 512,
};

let workDir: string;
let modelsDir: string;
let sourceDir: string;
let hub: FakeHub;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), "codec-registry-load-"));
  modelsDir = join(workDir, "models");
  sourceDir = join(workDir, "source");
  await mkdir(modelsDir);
  await writeDemoModel(join(sourceDir, "demo.gguf"), SMALL_MODEL);

  hub = await new FakeHub().start();
  hub.addRepo({
    id: "acme/demo-gguf",
    files: [
      { path: "demo.gguf", content: await readFile(join(sourceDir, "demo.gguf")) },
      { path: "config.json", content: Buffer.from("{}"), lfs: false },
    ],
  });
  // The supervisor reads HF_ENDPOINT at start-up, as it would in production.
  process.env.HF_ENDPOINT = hub.url;
});

after(async () => {
  await hub.close();
  await rm(workDir, { recursive: true, force: true });
});

async function uploadDirectory(baseUrl: string, name: string, dir: string): Promise<Response> {
  const archivePath = join(workDir, `${name}.tgz`);
  await tar.c({ cwd: dir, file: archivePath, gzip: true }, ["."]);
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(await readFile(archivePath))]), `${name}.tgz`);
  return fetch(`${baseUrl}/admin/models/upload?name=${name}`, { method: "POST", body: form });
}

async function complete(baseUrl: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${baseUrl}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "Hello, world!", max_tokens: 4, temperature: 0 }),
  });
  return { status: response.status, body: await response.json() };
}

/** Starts a supervisor on the shared models directory with `initialModel`, waiting for the load. */
async function startWith(initialModel: string): Promise<TestSupervisor> {
  const supervisor = await startTestSupervisor({ modelsDir, initialModel });
  await supervisor.supervisor.initialLoad;
  return supervisor;
}

test("uploaded and pulled models are added", async () => {
  const supervisor = await startWith("none");
  try {
    const upload = await uploadDirectory(supervisor.baseUrl, "uploaded-demo", sourceDir);
    assert.equal(upload.status, 200, await upload.clone().text());

    const pull = await fetch(`${supervisor.baseUrl}/admin/models/pull`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ repo_id: "acme/demo-gguf" }),
    });
    assert.equal(pull.status, 200, await pull.clone().text());
    assert.equal(((await pull.json()) as { name: string }).name, "acme--demo-gguf");

    const list = (await (await fetch(`${supervisor.baseUrl}/admin/models`)).json()) as {
      models: Array<{ name: string; format: any }>;
    };
    assert.deepEqual(
      list.models.map((model) => model.name),
      ["acme--demo-gguf", "uploaded-demo"],
    );
    for (const model of list.models) assert.deepEqual(model.format.gguf_files, ["demo.gguf"]);
  } finally {
    await supervisor.close();
  }
});

test("uploaded model loads by name at start-up", async () => {
  const supervisor = await startWith("uploaded-demo");
  try {
    const status = (await (await fetch(`${supervisor.baseUrl}/admin/status`)).json()) as {
      state: string;
      current_model: string;
    };
    assert.equal(status.state, "ready");
    assert.equal(status.current_model, join(modelsDir, "uploaded-demo", "demo.gguf"));

    const { status: code, body } = await complete(supervisor.baseUrl);
    assert.equal(code, 200, JSON.stringify(body));
    assert.equal(typeof body.choices[0].text, "string");
    assert.ok(body.usage.completion_tokens > 0);

    const blocked = await fetch(`${supervisor.baseUrl}/admin/models/uploaded-demo`, {
      method: "DELETE",
    });
    assert.equal(blocked.status, 409);
    assert.equal(((await blocked.json()) as any).error.code, "CODEC_ERR_REGISTRY_MODEL_LOADED");
  } finally {
    await supervisor.close();
  }
});

test("pulled model loads by name at start-up", async () => {
  const supervisor = await startWith("acme--demo-gguf");
  try {
    const { status, body } = await complete(supervisor.baseUrl);
    assert.equal(status, 200, JSON.stringify(body));
    assert.ok(body.usage.completion_tokens > 0);
  } finally {
    await supervisor.close();
  }
});
