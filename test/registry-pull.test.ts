import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";

import { FakeHub, type FakeRepoFile } from "./helpers/hub-server.js";
import { captureLog } from "./helpers/log-capture.js";
import { listAll, startRegistryHarness, type RegistryHarness } from "./helpers/registry-harness.js";
import { subscribe } from "./helpers/sse-client.js";

const Q4 = randomBytes(300 * 1024);
const Q8 = randomBytes(500 * 1024);
const CONFIG = Buffer.from(JSON.stringify({ architectures: ["LlamaForCausalLM"] }));
const README = Buffer.from("# tiny\n");
const BIG = randomBytes(1024 * 1024);

const QUANT_FILES: FakeRepoFile[] = [
  { path: "q-Q4_K_M.gguf", content: Q4 },
  { path: "q-Q8_0.gguf", content: Q8 },
  { path: "config.json", content: CONFIG, lfs: false },
];

const TINY_FILES: FakeRepoFile[] = [
  { path: "tiny-Q4_K_M.gguf", content: Q4 },
  { path: "tiny-Q8_0.gguf", content: Q8 },
  { path: "config.json", content: CONFIG, lfs: false },
  { path: "README.md", content: README, lfs: false },
];

interface PullResponse {
  status: number;
  body: any;
}

async function pull(
  harness: RegistryHarness,
  body: Record<string, unknown>,
): Promise<PullResponse> {
  const response = await fetch(`${harness.baseUrl}/admin/models/pull`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function getJob(harness: RegistryHarness, id: string): Promise<any> {
  return (await fetch(`${harness.baseUrl}/admin/jobs/${id}`)).json();
}

/** Polls a job until `predicate` holds. */
async function waitForJob(
  harness: RegistryHarness,
  id: string,
  predicate: (job: any) => boolean,
  timeoutMs = 15_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(harness, id);
    if (predicate(job)) return job;
    if (Date.now() > deadline)
      throw new Error(
        `job ${id} did not reach the expected state; last: ${JSON.stringify(job.state)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function listModels(
  harness: RegistryHarness,
): Promise<{ models: any[]; partial_pulls: any[] }> {
  return (await fetch(`${harness.baseUrl}/admin/models`)).json() as Promise<{
    models: any[];
    partial_pulls: any[];
  }>;
}

describe("pull", () => {
  let hub: FakeHub;
  let harness: RegistryHarness;
  let tinyCommit: string;

  before(async () => {
    hub = await new FakeHub().start();
    tinyCommit = hub.addRepo({
      id: "acme/tiny-gguf",
      files: TINY_FILES,
      revisions: { v1: "1".repeat(40) },
    });
    hub.addRepo({ id: "acme/big", files: [{ path: "big.gguf", content: BIG }] });
    hub.addRepo({
      id: "acme/gated",
      files: [{ path: "gated.gguf", content: Q4 }],
      gatedToken: "hf_good",
    });
  });
  beforeEach(async () => {
    hub.requests.length = 0;
    hub.bytesServed.clear();
    hub.faults.clear();
    harness = await startRegistryHarness({ hubEndpoint: hub.url });
  });
  afterEach(() => harness.close({ removeModelsDir: true }));
  after(() => hub.close());

  test("blocking pull downloads every file", async () => {
    const { status, body } = await pull(harness, { repo_id: "acme/tiny-gguf" });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.name, "acme--tiny-gguf");
    assert.equal(body.path, join(harness.modelsDir, "acme--tiny-gguf"));
    assert.equal(body.commit, tinyCommit);
    assert.match(body.job_id, /^job-/);

    for (const file of TINY_FILES)
      assert.deepEqual(await readFile(join(body.path, file.path)), file.content);
    assert.deepEqual(await listAll(harness.modelsDir), ["acme--tiny-gguf"]);

    const [model] = (await listModels(harness)).models;
    assert.equal(model.name, "acme--tiny-gguf");
    assert.equal(model.size_bytes, Q4.length + Q8.length + CONFIG.length + README.length);
    assert.deepEqual(model.format.gguf_files, ["tiny-Q4_K_M.gguf", "tiny-Q8_0.gguf"]);
    assert.equal(model.source.kind, "hub");
    assert.equal(model.source.repo_id, "acme/tiny-gguf");
    assert.equal(model.source.revision, null);
    assert.equal(model.source.commit, tinyCommit);
    assert.equal(model.source.endpoint, hub.url);
  });

  test("LFS downloads follow the CDN redirect", async () => {
    await pull(harness, { repo_id: "acme/tiny-gguf" });
    const q4 = hub.downloadsOf("tiny-Q4_K_M.gguf");
    assert.deepEqual(
      q4.map((request) => request.server),
      ["hub", "cdn"],
    );
    assert.ok(q4[0]!.path.includes(`/resolve/${tinyCommit}/`));
    assert.deepEqual(
      hub.downloadsOf("config.json").map((request) => request.server),
      ["hub"],
    );
  });

  test("revision is appended to the name", async () => {
    const { status, body } = await pull(harness, {
      repo_id: "acme/tiny-gguf",
      revision: "v1",
      include: ["config.json"],
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.name, "acme--tiny-gguf@v1");
    assert.equal(body.commit, "1".repeat(40));
    const [model] = (await listModels(harness)).models;
    assert.equal(model.source.revision, "v1");
  });

  test("include filters files", async () => {
    const { status, body } = await pull(harness, {
      repo_id: "acme/tiny-gguf",
      include: ["*Q4_K_M.gguf"],
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual((await readdir(body.path)).sort(), [
      ".codec-model.json",
      "config.json",
      "tiny-Q4_K_M.gguf",
    ]);
    assert.equal(hub.downloadsOf("tiny-Q8_0.gguf").length, 0);
    const [model] = (await listModels(harness)).models;
    assert.deepEqual(model.source.include, ["*Q4_K_M.gguf"]);
  });

  test("include matching nothing is 400", async () => {
    const { status, body } = await pull(harness, {
      repo_id: "acme/tiny-gguf",
      include: ["*.safetensors"],
    });
    assert.equal(status, 400);
    assert.equal(body.error.code, "CODEC_ERR_REGISTRY_NO_MATCHING_FILES");
    assert.deepEqual(await listAll(harness.modelsDir), []);
  });

  test("background pull reports progress", async () => {
    hub.faults.set("big.gguf", { chunkDelayMs: 20 });
    const stream = await subscribe(`${harness.baseUrl}/admin/events?types=job.*`);
    try {
      const response = await fetch(`${harness.baseUrl}/admin/models/pull`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ repo_id: "acme/big", background: true }),
      });
      assert.equal(response.status, 202);
      const accepted = (await response.json()) as any;
      assert.match(accepted.job_id, /^job-/);
      assert.equal(accepted.name, "acme--big");
      assert.equal(accepted.status_url, `/admin/jobs/${accepted.job_id}`);
      assert.equal(response.headers.get("location"), accepted.status_url);

      const running = await waitForJob(
        harness,
        accepted.job_id,
        (job) => job.state === "running" && job.progress.bytes_done > 0,
      );
      assert.equal(running.progress.bytes_total, BIG.length);
      assert.equal(running.progress.files[0].state, "downloading");

      const done = await waitForJob(harness, accepted.job_id, (job) => job.state === "succeeded");
      assert.equal(done.progress.bytes_done, BIG.length);
      assert.equal(done.progress.files_done, 1);
      assert.equal(done.progress.eta_s, 0);
      assert.ok(done.progress.rate_bytes_per_s > 0);
      assert.equal(done.result.name, "acme--big");
      assert.deepEqual(done.params, { repo_id: "acme/big", revision: null, include: null });

      await stream.waitFor(
        (event) => event.type === "job.succeeded" && event.payload.data.id === accepted.job_id,
      );
      const types = stream.events
        .filter((event) => event.payload.data.id === accepted.job_id)
        .map((event) => event.type);
      assert.equal(types[0], "job.queued");
      assert.equal(types[1], "job.started");
      assert.ok(types.includes("job.progress"));
      assert.equal(types.at(-1), "job.succeeded");
      const progress = stream.events.filter((event) => event.type === "job.progress");
      assert.ok(progress.some((event) => event.payload.data.progress.bytes_done > 0));
      assert.ok(progress.every((event) => Number(event.id) > 0));

      const jobs = (await (await fetch(`${harness.baseUrl}/admin/jobs`)).json()) as any;
      assert.equal(jobs.jobs[0].id, accepted.job_id);
    } finally {
      stream.close();
    }
  });

  test("resume after mid-file failure", async () => {
    hub.faults.set("big.gguf", { cutAfterBytes: { bytes: 400 * 1024, times: 1 } });
    const { status, body } = await pull(harness, { repo_id: "acme/big" });
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(await readFile(join(body.path, "big.gguf")), BIG);

    const downloads = hub.downloadsOf("big.gguf").filter((request) => request.server === "cdn");
    assert.equal(downloads.length, 2);
    assert.equal(downloads[0]!.range, undefined);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(downloads[1]!.range ?? "")?.[1]);
    assert.ok(resumedAt > 0, `resumed at ${resumedAt}`);
    assert.ok(resumedAt <= 400 * 1024, `resumed at ${resumedAt}`);
    assert.ok(
      hub.bytesServed.get("big.gguf")! <= BIG.length + 64 * 1024,
      `served ${hub.bytesServed.get("big.gguf")}`,
    );
  });

  test("repeated failures without progress fail the pull", async () => {
    hub.faults.set("big.gguf", { cutAfterBytes: { bytes: 0, times: 100 } });
    const { status, body } = await pull(harness, { repo_id: "acme/big" });
    assert.equal(status, 502);
    assert.equal(body.error.code, "CODEC_ERR_REGISTRY_HUB_UNREACHABLE");
    assert.match(body.error.message, /3 attempts/);
    assert.equal((await listModels(harness)).models.length, 0);
  });

  test("cancelled pull leaves nothing listed", async () => {
    hub.faults.set("big.gguf", { chunkDelayMs: 20 });
    const accepted = (await pull(harness, { repo_id: "acme/big", background: true })).body;
    await waitForJob(harness, accepted.job_id, (job) => job.progress.bytes_done > 64 * 1024);

    const cancel = await fetch(`${harness.baseUrl}/admin/jobs/${accepted.job_id}`, {
      method: "DELETE",
    });
    assert.equal(cancel.status, 200);
    assert.equal(((await cancel.json()) as any).state, "cancelled");

    const list = await listModels(harness);
    assert.deepEqual(list.models, []);
    assert.equal(list.partial_pulls.length, 1);
    assert.equal(list.partial_pulls[0].name, "acme--big");
    assert.ok(list.partial_pulls[0].bytes_on_disk > 0);
    assert.equal(list.partial_pulls[0].job_id, null);
    assert.deepEqual(await listAll(harness.modelsDir), [".pull-acme--big"]);

    const again = await fetch(`${harness.baseUrl}/admin/jobs/${accepted.job_id}`, {
      method: "DELETE",
    });
    assert.equal(again.status, 200);

    const second = (await pull(harness, { repo_id: "acme/big", background: true })).body;
    await waitForJob(harness, second.job_id, (job) => job.progress.bytes_done > 64 * 1024);
    const discard = await fetch(`${harness.baseUrl}/admin/jobs/${second.job_id}?discard=true`, {
      method: "DELETE",
    });
    assert.equal(discard.status, 200);
    assert.deepEqual(await listAll(harness.modelsDir), []);
  });

  test("blocking pull answers 409 when cancelled", async () => {
    hub.faults.set("big.gguf", { chunkDelayMs: 20 });
    const blocking = pull(harness, { repo_id: "acme/big" });
    let jobId: string | undefined;
    while (jobId === undefined) {
      const jobs = (await (await fetch(`${harness.baseUrl}/admin/jobs`)).json()) as any;
      jobId = jobs.jobs[0]?.id;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitForJob(harness, jobId, (job) => job.progress.bytes_done > 0);
    await fetch(`${harness.baseUrl}/admin/jobs/${jobId}`, { method: "DELETE" });
    const { status, body } = await blocking;
    assert.equal(status, 409);
    assert.equal(body.error.code, "CODEC_ERR_JOB_CANCELLED");
  });

  test("second pull of a running repo is 409", async () => {
    hub.faults.set("big.gguf", { chunkDelayMs: 20 });
    const first = (await pull(harness, { repo_id: "acme/big", background: true })).body;
    const second = await pull(harness, { repo_id: "acme/big" });
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, "CODEC_ERR_REGISTRY_MODEL_BUSY");
    assert.match(second.body.error.message, new RegExp(first.job_id));

    const busyDelete = await fetch(`${harness.baseUrl}/admin/models/acme--big`, {
      method: "DELETE",
    });
    assert.equal(busyDelete.status, 409);
    await fetch(`${harness.baseUrl}/admin/jobs/${first.job_id}?discard=true`, { method: "DELETE" });
  });

  test("checksum mismatch is downloaded again", async () => {
    hub.faults.set("tiny-Q4_K_M.gguf", { corruptTimes: 1 });
    const { status, body } = await pull(harness, {
      repo_id: "acme/tiny-gguf",
      include: ["*Q4_K_M.gguf"],
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(await readFile(join(body.path, "tiny-Q4_K_M.gguf")), Q4);
    assert.equal(
      hub.downloadsOf("tiny-Q4_K_M.gguf").filter((request) => request.server === "cdn").length,
      2,
    );
  });

  test("persistent checksum mismatch fails", async () => {
    hub.faults.set("tiny-Q4_K_M.gguf", { corruptTimes: Number.POSITIVE_INFINITY });
    const { status, body } = await pull(harness, {
      repo_id: "acme/tiny-gguf",
      include: ["*Q4_K_M.gguf"],
    });
    assert.equal(status, 502);
    assert.equal(body.error.code, "CODEC_ERR_REGISTRY_CHECKSUM_MISMATCH");
    assert.match(body.error.message, /SHA-256/);
    assert.equal((await listModels(harness)).models.length, 0);

    const staging = join(harness.modelsDir, ".pull-acme--tiny-gguf");
    const left = await readdir(staging).catch(() => [] as string[]);
    assert.ok(
      !left.some((name) => name.startsWith("tiny-Q4_K_M.gguf")),
      `left: ${left.join(", ")}`,
    );
  });

  test("gated repo without token is 401", async () => {
    const { status, body } = await pull(harness, { repo_id: "acme/gated" });
    assert.equal(status, 401);
    assert.equal(body.error.code, "CODEC_ERR_REGISTRY_HUB_UNAUTHORIZED");
    assert.match(body.error.message, /token/);
    assert.equal(body.error.source, "registry");
    assert.deepEqual(await listAll(harness.modelsDir), []);
  });

  test("gated repo with a wrong token is 403", async () => {
    const { status, body } = await pull(harness, { repo_id: "acme/gated", token: "hf_wrong" });
    assert.equal(status, 403);
    assert.equal(body.error.code, "CODEC_ERR_REGISTRY_HUB_FORBIDDEN");
    assert.ok(!JSON.stringify(body).includes("hf_wrong"));
  });

  test("token reaches the Hub but not the CDN", async () => {
    const { status, body } = await pull(harness, { repo_id: "acme/gated", token: "hf_good" });
    assert.equal(status, 200, JSON.stringify(body));
    const downloads = hub.downloadsOf("gated.gguf");
    assert.equal(downloads[0]!.authorization, "Bearer hf_good");
    assert.equal(downloads[1]!.server, "cdn");
    assert.equal(downloads[1]!.authorization, undefined);

    const job = await getJob(harness, body.job_id);
    assert.ok(!JSON.stringify(job).includes("hf_good"));
  });

  test("missing repo is 404", async () => {
    const { status, body } = await pull(harness, { repo_id: "acme/nope" });
    assert.equal(status, 404);
    assert.equal(body.error.code, "CODEC_ERR_REGISTRY_HUB_NOT_FOUND");
    assert.match(body.error.message, /repo 'acme\/nope' or revision 'main' not found/);
    assert.deepEqual(await listAll(harness.modelsDir), []);
  });

  test("missing revision is 404", async () => {
    const { status, body } = await pull(harness, {
      repo_id: "acme/tiny-gguf",
      revision: "no-such-branch",
    });
    assert.equal(status, 404);
    assert.equal(body.error.code, "CODEC_ERR_REGISTRY_HUB_NOT_FOUND");
    assert.match(body.error.message, /revision 'no-such-branch'/);
    assert.deepEqual(await listAll(harness.modelsDir), []);
  });

  test("pulling again when up to date downloads nothing", async () => {
    assert.equal((await pull(harness, { repo_id: "acme/tiny-gguf" })).status, 200);
    const before = hub.requests.length;
    const { status, body } = await pull(harness, { repo_id: "acme/tiny-gguf" });
    assert.equal(status, 200);
    assert.equal(body.up_to_date, true);
    assert.equal(hub.requests.length, before + 1);
  });

  test("upstream change replaces the model and links unchanged files", async () => {
    hub.addRepo({
      id: "acme/changing",
      files: [
        { path: "w.gguf", content: Q4 },
        { path: "README.md", content: README, lfs: false },
      ],
    });
    assert.equal((await pull(harness, { repo_id: "acme/changing" })).status, 200);
    const firstInode = (await stat(join(harness.modelsDir, "acme--changing", "w.gguf"))).ino;

    const newReadme = Buffer.from("# changed\n");
    const commit = hub.addRepo({
      id: "acme/changing",
      commit: "2".repeat(40),
      files: [
        { path: "w.gguf", content: Q4 },
        { path: "README.md", content: newReadme, lfs: false },
      ],
    });
    const { status, body } = await pull(harness, { repo_id: "acme/changing" });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.commit, commit);
    assert.equal(hub.downloadsOf("w.gguf").length, 2);
    assert.equal((await stat(join(body.path, "w.gguf"))).ino, firstInode);
    assert.deepEqual(await readFile(join(body.path, "README.md")), newReadme);
    assert.deepEqual(await listAll(harness.modelsDir), ["acme--changing"]);
  });

  test("existing model from elsewhere is 409", async () => {
    const form = new FormData();
    const { buildTar } = await import("./helpers/tar-builder.js");
    form.append(
      "file",
      new Blob([new Uint8Array(buildTar([{ path: "m.gguf", body: "GGUF" }]))]),
      "m.tar",
    );
    await fetch(`${harness.baseUrl}/admin/models/upload?name=acme--big`, {
      method: "POST",
      body: form,
    });
    const { status, body } = await pull(harness, { repo_id: "acme/big" });
    assert.equal(status, 409);
    assert.equal(body.error.code, "CODEC_ERR_REGISTRY_MODEL_EXISTS");
  });

  test("loaded model is not replaced", async () => {
    hub.addRepo({ id: "acme/served", files: [{ path: "s.gguf", content: Q4 }] });
    assert.equal((await pull(harness, { repo_id: "acme/served" })).status, 200);
    hub.addRepo({
      id: "acme/served",
      commit: "3".repeat(40),
      files: [{ path: "s.gguf", content: Q8 }],
    });
    harness.backend.current = { model: join(harness.modelsDir, "acme--served", "s.gguf") };
    const { status, body } = await pull(harness, { repo_id: "acme/served" });
    assert.equal(status, 409);
    assert.equal(body.error.code, "CODEC_ERR_REGISTRY_MODEL_LOADED");
    assert.match(body.error.message, /load another model first with POST \/admin\/load/);
    assert.deepEqual(await readFile(join(harness.modelsDir, "acme--served", "s.gguf")), Q4);
  });

  test("second include adds files", async () => {
    hub.addRepo({ id: "acme/quants", files: QUANT_FILES });
    const first = await pull(harness, { repo_id: "acme/quants", include: ["*Q4_K_M.gguf"] });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const modelDir = join(harness.modelsDir, "acme--quants");
    const q4Inode = (await stat(join(modelDir, "q-Q4_K_M.gguf"))).ino;

    const second = await pull(harness, { repo_id: "acme/quants", include: ["*Q8_0.gguf"] });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.up_to_date, false);
    assert.deepEqual(second.body.removed_files, []);
    assert.deepEqual(second.body.include, ["*Q4_K_M.gguf", "*Q8_0.gguf"]);
    assert.equal(second.body.files, 3);
    assert.deepEqual(await readFile(join(modelDir, "q-Q4_K_M.gguf")), Q4);
    assert.deepEqual(await readFile(join(modelDir, "q-Q8_0.gguf")), Q8);
    assert.deepEqual(await readFile(join(modelDir, "config.json")), CONFIG);
    assert.equal((await stat(join(modelDir, "q-Q4_K_M.gguf"))).ino, q4Inode);
    assert.equal(
      hub.downloadsOf("q-Q4_K_M.gguf").filter((request) => request.server === "cdn").length,
      1,
    );

    const [model] = (await listModels(harness)).models;
    assert.deepEqual(model.source.include, ["*Q4_K_M.gguf", "*Q8_0.gguf"]);
    assert.deepEqual(model.format.gguf_files, ["q-Q4_K_M.gguf", "q-Q8_0.gguf"]);

    const third = await pull(harness, { repo_id: "acme/quants", include: ["*Q4_K_M.gguf"] });
    assert.equal(third.status, 200);
    assert.equal(third.body.up_to_date, true);
    assert.equal(third.body.files, 3);
  });

  test("pull of every file after an include", async () => {
    hub.addRepo({ id: "acme/quants", files: QUANT_FILES });
    await pull(harness, { repo_id: "acme/quants", include: ["*Q8_0.gguf"] });
    const all = await pull(harness, { repo_id: "acme/quants" });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.equal(all.body.include, null);
    assert.equal(all.body.files, QUANT_FILES.length);

    const again = await pull(harness, { repo_id: "acme/quants", include: ["*Q4_K_M.gguf"] });
    assert.equal(again.body.up_to_date, true);
    assert.equal(again.body.include, null);
  });

  test("files added by hand are kept", async () => {
    hub.addRepo({ id: "acme/quants", files: QUANT_FILES });
    await pull(harness, { repo_id: "acme/quants", include: ["*Q4_K_M.gguf"] });
    const modelDir = join(harness.modelsDir, "acme--quants");
    await writeFile(join(modelDir, "chat-template.jinja"), "{{ messages }}");
    await mkdir(join(modelDir, "notes"));
    await writeFile(join(modelDir, "notes", "eval.md"), "# eval");
    await symlink("q-Q4_K_M.gguf", join(modelDir, "default.gguf"));

    const second = await pull(harness, { repo_id: "acme/quants", include: ["*Q8_0.gguf"] });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(await readFile(join(modelDir, "chat-template.jinja"), "utf8"), "{{ messages }}");
    assert.equal(await readFile(join(modelDir, "notes", "eval.md"), "utf8"), "# eval");
    assert.equal(await readlink(join(modelDir, "default.gguf")), "q-Q4_K_M.gguf");
    assert.deepEqual(await readFile(join(modelDir, "q-Q8_0.gguf")), Q8);
  });

  test("moved commit reports removed files", async () => {
    const capture = captureLog();
    const own = await startRegistryHarness({ hubEndpoint: hub.url }, capture);
    try {
      const notes = Buffer.from(JSON.stringify({ notes: true }));
      hub.addRepo({
        id: "acme/moving",
        files: [...QUANT_FILES, { path: "notes.json", content: notes, lfs: false }],
      });
      const first = await pull(own, { repo_id: "acme/moving", include: ["*Q4_K_M.gguf"] });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const modelDir = join(own.modelsDir, "acme--moving");
      assert.deepEqual(await readFile(join(modelDir, "notes.json")), notes);
      const q4Inode = (await stat(join(modelDir, "q-Q4_K_M.gguf"))).ino;

      const newConfig = Buffer.from(JSON.stringify({ architectures: ["Changed"] }));
      const commit = hub.addRepo({
        id: "acme/moving",
        commit: "4".repeat(40),
        files: [
          { path: "q-Q4_K_M.gguf", content: Q4 },
          { path: "q-Q8_0.gguf", content: Q8 },
          { path: "config.json", content: newConfig, lfs: false },
        ],
      });
      const second = await pull(own, { repo_id: "acme/moving", include: ["*Q8_0.gguf"] });
      assert.equal(second.status, 200, JSON.stringify(second.body));
      assert.equal(second.body.commit, commit);
      assert.deepEqual(second.body.removed_files, ["notes.json"]);
      assert.equal((await stat(join(modelDir, "q-Q4_K_M.gguf"))).ino, q4Inode);
      assert.deepEqual(await readFile(join(modelDir, "q-Q8_0.gguf")), Q8);
      assert.deepEqual(await readFile(join(modelDir, "config.json")), newConfig);
      await assert.rejects(stat(join(modelDir, "notes.json")), { code: "ENOENT" });

      const removed = capture.events.find(
        (event) => event.event === "registry.files_removed_upstream",
      );
      assert.deepEqual(removed?.files, ["notes.json"]);
      assert.equal(removed?.name, "acme--moving");
    } finally {
      await own.close({ removeModelsDir: true });
    }
  });

  test("loaded model blocks adding files", async () => {
    hub.addRepo({ id: "acme/quants", files: QUANT_FILES });
    await pull(harness, { repo_id: "acme/quants", include: ["*Q4_K_M.gguf"] });
    const modelDir = join(harness.modelsDir, "acme--quants");
    harness.backend.current = { model: join(modelDir, "q-Q4_K_M.gguf") };
    const second = await pull(harness, { repo_id: "acme/quants", include: ["*Q8_0.gguf"] });
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, "CODEC_ERR_REGISTRY_MODEL_LOADED");
    await assert.rejects(stat(join(modelDir, "q-Q8_0.gguf")), { code: "ENOENT" });
  });

  test("cancelled download is marked cancelled", async () => {
    hub.faults.set("big.gguf", { chunkDelayMs: 20 });
    const accepted = (await pull(harness, { repo_id: "acme/big", background: true })).body;
    await waitForJob(harness, accepted.job_id, (job) => job.progress.bytes_done > 0);
    const cancel = await fetch(`${harness.baseUrl}/admin/jobs/${accepted.job_id}?discard=true`, {
      method: "DELETE",
    });
    const job = (await cancel.json()) as any;
    assert.equal(job.state, "cancelled");
    assert.equal(job.progress.files[0].path, "big.gguf");
    assert.equal(job.progress.files[0].state, "cancelled");
  });
});

describe("pull preflight and restarts", () => {
  let hub: FakeHub;
  before(async () => {
    hub = await new FakeHub().start();
    hub.addRepo({ id: "acme/big", files: [{ path: "big.gguf", content: BIG }] });
  });
  after(() => hub.close());

  test("disk-space preflight is 507", async () => {
    const harness = await startRegistryHarness({
      hubEndpoint: hub.url,
      statfs: async () => ({ bavail: 10, bsize: 4096 }),
    });
    try {
      const { status, body } = await pull(harness, { repo_id: "acme/big" });
      assert.equal(status, 507);
      assert.equal(body.error.code, "CODEC_ERR_REGISTRY_INSUFFICIENT_STORAGE");
      assert.match(
        body.error.message,
        new RegExp(`needs ${BIG.length} bytes, but only 40960 bytes are free`),
      );
      assert.deepEqual(await listAll(harness.modelsDir), []);
      assert.equal(hub.downloadsOf("big.gguf").length, 0);
    } finally {
      await harness.close({ removeModelsDir: true });
    }
  });

  test("unreachable Hub is 502", async () => {
    const harness = await startRegistryHarness({ hubEndpoint: "http://127.0.0.1:9" });
    try {
      const { status, body } = await pull(harness, { repo_id: "acme/big" });
      assert.equal(status, 502);
      assert.equal(body.error.code, "CODEC_ERR_REGISTRY_HUB_UNREACHABLE");
    } finally {
      await harness.close({ removeModelsDir: true });
    }
  });

  test("pull resumes after a restart", async () => {
    hub.faults.set("big.gguf", { chunkDelayMs: 20 });
    const first = await startRegistryHarness({ hubEndpoint: hub.url });
    const modelsDir = first.modelsDir;
    const accepted = (await pull(first, { repo_id: "acme/big", background: true })).body;
    await waitForJob(first, accepted.job_id, (job) => job.progress.bytes_done >= 256 * 1024);
    await first.close();

    assert.deepEqual(await listAll(modelsDir), [".pull-acme--big"]);
    const partial = await stat(join(modelsDir, ".pull-acme--big", "big.gguf.codec-partial"));
    assert.ok(partial.size >= 256 * 1024, `partial is ${partial.size} bytes`);
    assert.ok(partial.size < BIG.length, `partial is ${partial.size} bytes`);

    hub.faults.clear();
    hub.requests.length = 0;
    hub.bytesServed.clear();
    const second = await startRegistryHarness({ hubEndpoint: hub.url, modelsDir });
    try {
      const listed = await listModels(second);
      assert.equal(listed.partial_pulls[0].bytes_on_disk, partial.size);

      const { status, body } = await pull(second, { repo_id: "acme/big" });
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(await readFile(join(body.path, "big.gguf")), BIG);
      const cdn = hub.downloadsOf("big.gguf").filter((request) => request.server === "cdn");
      assert.equal(cdn.length, 1);
      assert.equal(cdn[0]!.range, `bytes=${partial.size}-`);
      assert.equal(hub.bytesServed.get("big.gguf"), BIG.length - partial.size);
      assert.deepEqual(await listAll(modelsDir), ["acme--big"]);
    } finally {
      await second.close({ removeModelsDir: true });
    }
  });

  test("tokens never reach the log", async () => {
    hub.addRepo({
      id: "acme/secret",
      files: [{ path: "s.gguf", content: Q4 }],
      gatedToken: "hf_secret_good",
    });
    const capture = captureLog();
    const harness = await startRegistryHarness(
      { hubEndpoint: hub.url, hubToken: "hf_env_token" },
      capture,
    );
    try {
      assert.equal(
        (await pull(harness, { repo_id: "acme/secret", token: "hf_secret_wrong" })).status,
        403,
      );
      assert.equal(
        (await pull(harness, { repo_id: "acme/secret", token: "hf_secret_good" })).status,
        200,
      );
      assert.ok(capture.events.some((event) => event.event === "registry.model_added"));
      const logged = JSON.stringify(capture.events);
      for (const token of ["hf_secret_wrong", "hf_secret_good", "hf_env_token"])
        assert.ok(!logged.includes(token), `${token} was logged`);
    } finally {
      await harness.close({ removeModelsDir: true });
    }
  });

  test("HF_TOKEN is used when the request has none", async () => {
    hub.addRepo({
      id: "acme/env-gated",
      files: [{ path: "e.gguf", content: Q4 }],
      gatedToken: "hf_from_env",
    });
    const harness = await startRegistryHarness({ hubEndpoint: hub.url, hubToken: "hf_from_env" });
    try {
      const { status, body } = await pull(harness, { repo_id: "acme/env-gated" });
      assert.equal(status, 200, JSON.stringify(body));
    } finally {
      await harness.close({ removeModelsDir: true });
    }
  });

  test("partial file of another version is discarded", async () => {
    const harness = await startRegistryHarness({ hubEndpoint: hub.url });
    try {
      hub.faults.set("big.gguf", { chunkDelayMs: 20 });
      const accepted = (await pull(harness, { repo_id: "acme/big", background: true })).body;
      await waitForJob(harness, accepted.job_id, (job) => job.progress.bytes_done >= 128 * 1024);
      await fetch(`${harness.baseUrl}/admin/jobs/${accepted.job_id}`, { method: "DELETE" });
      hub.faults.clear();

      const changed = randomBytes(200 * 1024);
      hub.addRepo({
        id: "acme/big",
        commit: "4".repeat(40),
        files: [{ path: "big.gguf", content: changed }],
      });
      hub.requests.length = 0;
      const { status, body } = await pull(harness, { repo_id: "acme/big" });
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(await readFile(join(body.path, "big.gguf")), changed);
      assert.equal(
        hub.downloadsOf("big.gguf").find((request) => request.server === "cdn")?.range,
        undefined,
      );
    } finally {
      hub.addRepo({ id: "acme/big", files: [{ path: "big.gguf", content: BIG }] });
      await harness.close({ removeModelsDir: true });
    }
  });
});
