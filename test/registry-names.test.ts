import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { HttpError } from "../src/http/errors.js";
import { hubModelName } from "../src/supervisor/registry/hub/hub-repo.js";
import { isValidModelName, validateModelName } from "../src/supervisor/registry/model-name.js";
import { captureLog } from "./helpers/log-capture.js";
import { listAll, startRegistryHarness, type RegistryHarness } from "./helpers/registry-harness.js";
import { buildTar } from "./helpers/tar-builder.js";

const INVALID_NAMES: Array<[string, string]> = [
  ["empty", ""],
  ["dot", "."],
  ["dot-dot", ".."],
  ["slash", "a/b"],
  ["backslash", "a\\b"],
  ["leading dot", ".hidden"],
  ["staging prefix", ".pull-owner--repo"],
  ["NUL", "a\u0000b"],
  ["newline", "a\nb"],
  ["DEL", "a\u007fb"],
  ["C1 control", "a\u0085b"],
  ["129 bytes", "x".repeat(129)],
  ["65 two-byte characters", "é".repeat(65)],
  ["lone surrogate", "a\ud800b"],
  ["percent-encoded dot-dot", "%2e%2e"],
  ["percent sign", "50%"],
];

describe("model name rules", () => {
  for (const [label, name] of INVALID_NAMES) {
    test(`rejects ${label}`, () => {
      assert.equal(isValidModelName(name), false);
      assert.throws(
        () => validateModelName(name),
        (error: unknown) =>
          HttpError.isHttpError(error) &&
          error.code === "CODEC_ERR_REGISTRY_INVALID_NAME" &&
          error.statusCode === 400,
      );
    });
  }

  test("accepts ordinary names", () => {
    for (const name of [
      "tiny",
      "Qwen--Qwen2.5-0.5B@main",
      "model.v2",
      "ü-modèle",
      "x".repeat(128),
      "a..b",
      "-dash",
    ]) {
      assert.equal(validateModelName(name), name);
    }
  });

  test("rejects non-strings", () => {
    assert.throws(() => validateModelName(undefined), /must be a string/);
    assert.throws(() => validateModelName(["a"]), /must be a string/);
  });

  test("hub names join owner and repo", () => {
    assert.equal(hubModelName("Qwen/Qwen2.5-0.5B", undefined), "Qwen--Qwen2.5-0.5B");
    assert.equal(hubModelName("Qwen/Qwen2.5-0.5B", "main"), "Qwen--Qwen2.5-0.5B@main");
    assert.equal(hubModelName("org/model", "refs/pr/1"), "org--model@refs--pr--1");
    assert.equal(hubModelName("gpt2", undefined), "gpt2");
  });
});

/** Sends a request with the path exactly as given; fetch would normalise `..` away. */
function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
): Promise<{ status: number; body: any }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: url.hostname, port: url.port, method, path },
      (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString()));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            body: text === "" ? undefined : JSON.parse(text),
          }),
        );
      },
    );
    request.on("error", reject);
    request.end();
  });
}

describe("name rules on every endpoint", () => {
  let harness: RegistryHarness;
  before(async () => {
    harness = await startRegistryHarness();
    await mkdir(join(harness.modelsDir, "keep"));
    await writeFile(join(harness.modelsDir, "keep", "model.gguf"), "GGUF");
    await mkdir(join(harness.modelsDir, ".pull-hidden"));
  });
  after(() => harness.close({ removeModelsDir: true }));

  const encodedInvalid = [
    "%2e",
    "%2e%2e",
    "%2E%2E",
    "a%2Fb",
    "a%5Cb",
    ".hidden",
    "a%00b",
    "a%0Ab",
    "x".repeat(129),
    "%2epull-hidden",
    "%252e%252e",
    "50%25",
  ];

  for (const encoded of encodedInvalid) {
    test(`delete rejects ${encoded.slice(0, 20)}`, async () => {
      const response = await rawRequest(harness.baseUrl, "DELETE", `/admin/models/${encoded}`);
      assert.equal(response.status, 400);
      assert.equal(response.body.error.code, "CODEC_ERR_REGISTRY_INVALID_NAME");
      assert.equal(response.body.error.param, "name");
    });

    test(`get rejects ${encoded.slice(0, 20)}`, async () => {
      const response = await rawRequest(harness.baseUrl, "GET", `/admin/models/${encoded}`);
      assert.equal(response.status, 400);
      assert.equal(response.body.error.code, "CODEC_ERR_REGISTRY_INVALID_NAME");
    });

    test(`upload rejects ${encoded.slice(0, 20)}`, async () => {
      const form = new FormData();
      form.append(
        "file",
        new Blob([new Uint8Array(buildTar([{ path: "a.gguf", body: "x" }]))]),
        "a.tar",
      );
      const response = await fetch(`${harness.baseUrl}/admin/models/upload?name=${encoded}`, {
        method: "POST",
        body: form,
      });
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as any).error.code, "CODEC_ERR_REGISTRY_INVALID_NAME");
    });
  }

  test("literal dot-dot paths never reach a model", async () => {
    for (const path of [
      "/admin/models/..",
      "/admin/models/.",
      "/admin/models/../keep",
      "/admin/models/%2e%2e/keep",
    ]) {
      const response = await rawRequest(harness.baseUrl, "DELETE", path);
      assert.ok(
        response.status === 400 || response.status === 404,
        `${path} answered ${response.status}`,
      );
    }
  });

  test("empty name on delete is 400", async () => {
    const response = await rawRequest(harness.baseUrl, "DELETE", "/admin/models/");
    assert.equal(response.status, 400);
    assert.equal(response.body.error.code, "CODEC_ERR_REGISTRY_INVALID_NAME");
  });

  test("unescaped slash on delete is 400", async () => {
    const response = await rawRequest(harness.baseUrl, "DELETE", "/admin/models/keep/model.gguf");
    assert.equal(response.status, 400);
    assert.equal(response.body.error.code, "CODEC_ERR_REGISTRY_INVALID_NAME");
  });

  test("empty name on upload is 400", async () => {
    const form = new FormData();
    form.append(
      "file",
      new Blob([new Uint8Array(buildTar([{ path: "a.gguf", body: "x" }]))]),
      "a.tar",
    );
    const response = await fetch(`${harness.baseUrl}/admin/models/upload?name=`, {
      method: "POST",
      body: form,
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as any).error.code, "CODEC_ERR_REGISTRY_INVALID_NAME");
  });

  test("pull rejects unsafe repo ids", async () => {
    for (const repoId of [
      "../x",
      "owner/..",
      "a/b/c",
      "/abs",
      "owner/.hidden",
      "o--r/x",
      "",
      "owner/name.git",
    ]) {
      const response = await fetch(`${harness.baseUrl}/admin/models/pull`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ repo_id: repoId }),
      });
      assert.equal(response.status, 400, repoId);
      const error = ((await response.json()) as any).error;
      assert.equal(error.code, "CODEC_ERR_REQUEST_INVALID_PARAM", repoId);
      assert.equal(error.param, "repo_id");
    }
  });

  test("pull rejects unsafe revisions", async () => {
    for (const revision of ["..", "a/../b", "/main", "main/", "a//b", "-x", "x y", 5]) {
      const response = await fetch(`${harness.baseUrl}/admin/models/pull`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ repo_id: "owner/name", revision }),
      });
      assert.equal(response.status, 400, String(revision));
      assert.equal(((await response.json()) as any).error.param, "revision");
    }
  });

  test("pull rejects a derived name over 128 bytes", async () => {
    const response = await fetch(`${harness.baseUrl}/admin/models/pull`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        repo_id: `${"a".repeat(90)}/${"b".repeat(30)}`,
        revision: "v".repeat(20),
      }),
    });
    assert.equal(response.status, 400);
    const error = ((await response.json()) as any).error;
    assert.equal(error.code, "CODEC_ERR_REGISTRY_INVALID_NAME");
    assert.equal(error.param, "repo_id");
  });

  test("jobs routes reject malformed ids", async () => {
    for (const [method, id] of [
      ["GET", "x".repeat(120)],
      ["DELETE", "x".repeat(120)],
      ["GET", "a%2Fb"],
      ["DELETE", "%2e%2e"],
      ["DELETE", "job-XYZ"],
    ] as const) {
      const response = await rawRequest(harness.baseUrl, method, `/admin/jobs/${id}`);
      assert.equal(response.status, 400, `${method} ${id}`);
      assert.equal(response.body.error.code, "CODEC_ERR_REQUEST_INVALID_PARAM", `${method} ${id}`);
      assert.equal(response.body.error.param, "id", `${method} ${id}`);
    }
  });

  test("jobs routes 404 unknown ids", async () => {
    for (const method of ["GET", "DELETE"]) {
      const response = await rawRequest(
        harness.baseUrl,
        method,
        "/admin/jobs/job-0123456789abcdef01234567",
      );
      assert.equal(response.status, 404, method);
      assert.equal(response.body.error.code, "CODEC_ERR_JOB_NOT_FOUND", method);
    }
  });

  test("models directory is untouched", async () => {
    assert.deepEqual(await listAll(harness.modelsDir), [".pull-hidden", "keep"]);
    const list = (await (await fetch(`${harness.baseUrl}/admin/models`)).json()) as any;
    assert.deepEqual(
      list.models.map((model: { name: string }) => model.name),
      ["keep"],
    );
  });
});

describe("directories with invalid names", () => {
  let harness: RegistryHarness;
  const capture = captureLog();
  before(async () => {
    harness = await startRegistryHarness({}, capture);
    for (const name of ["good", "50%"]) {
      await mkdir(join(harness.modelsDir, name));
      await writeFile(join(harness.modelsDir, name, "model.gguf"), "GGUF");
    }
  });
  after(() => harness.close({ removeModelsDir: true }));

  test("listing skips them and logs once", async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(`${harness.baseUrl}/admin/models`);
      assert.equal(response.status, 200);
      const list = (await response.json()) as { models: Array<{ name: string }> };
      assert.deepEqual(
        list.models.map((model) => model.name),
        ["good"],
      );
    }
    const skipped = capture.events.filter(
      (event) => event.event === "registry.invalid_model_dir_skipped",
    );
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0]!.name, "50%");
    assert.match(skipped[0]!.problem, /'%'/);
  });
});
