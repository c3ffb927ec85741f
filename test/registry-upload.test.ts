import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";

import * as tar from "tar";

import { buildTar, paxRecords, TAR_TYPE, type TarMember } from "./helpers/tar-builder.js";
import { captureLog, waitFor } from "./helpers/log-capture.js";
import { listAll, startRegistryHarness, type RegistryHarness } from "./helpers/registry-harness.js";

/** Posts `archive` as the multipart field `field` to the upload route. */
function uploadArchive(
  baseUrl: string,
  name: string | undefined,
  archive: Buffer,
  field = "file",
): Promise<Response> {
  const form = new FormData();
  form.append(field, new Blob([new Uint8Array(archive)]), "model.tar");
  const query = name === undefined ? "" : `?name=${encodeURIComponent(name)}`;
  return fetch(`${baseUrl}/admin/models/upload${query}`, { method: "POST", body: form });
}

/** Packs `files` (path → content) with the `tar` package, optionally gzipped. */
async function packDirectory(
  files: Record<string, string | Buffer>,
  options: { gzip?: boolean; entries?: string[] } = {},
): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "codec-pack-"));
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(dir, path, ".."), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    const archivePath = join(dir, "..", `${dir.split("/").pop()}.archive`);
    await tar.c(
      { cwd: dir, file: archivePath, gzip: options.gzip ?? false, portable: true },
      options.entries ?? ["."],
    );
    const bytes = await readFile(archivePath);
    await rm(archivePath);
    return bytes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function errorOf(
  response: Response,
): Promise<{ code: string; message: string; param: string | null; source: string; type: string }> {
  const body = (await response.json()) as {
    error: { code: string; message: string; param: string | null; source: string; type: string };
  };
  return body.error;
}

const GGUF_BYTES = Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(4096, 7)]);

describe("upload", () => {
  let harness: RegistryHarness;
  before(async () => {
    harness = await startRegistryHarness();
  });
  after(() => harness.close({ removeModelsDir: true }));

  test("tar upload is listed with provenance", async () => {
    const archive = await packDirectory({ "model.gguf": GGUF_BYTES, "config.json": "{}" });
    const response = await uploadArchive(harness.baseUrl, "tiny", archive);
    assert.equal(response.status, 200);
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.name, "tiny");
    assert.equal(body.path, join(harness.modelsDir, "tiny"));
    assert.equal(body.format, "tar");
    assert.equal(body.files, 2);

    const list = (await (await fetch(`${harness.baseUrl}/admin/models`)).json()) as {
      models: Array<Record<string, any>>;
    };
    const entry = list.models.find((model) => model.name === "tiny")!;
    assert.equal(entry.size_bytes, GGUF_BYTES.length + 2);
    assert.deepEqual(entry.format.gguf_files, ["model.gguf"]);
    assert.equal(entry.format.config_json, true);
    assert.equal(entry.source.kind, "upload");
    assert.equal(entry.source.archive_format, "tar");
    assert.ok(!Number.isNaN(Date.parse(entry.source.uploaded_at)));
    assert.deepEqual(await readFile(join(harness.modelsDir, "tiny", "model.gguf")), GGUF_BYTES);
  });

  test("gzip detected by magic bytes", async () => {
    const archive = await packDirectory({ "weights.gguf": GGUF_BYTES }, { gzip: true });
    const response = await uploadArchive(harness.baseUrl, "gzipped", archive);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as Record<string, unknown>).format, "tar.gz");
    assert.deepEqual(
      await readFile(join(harness.modelsDir, "gzipped", "weights.gguf")),
      GGUF_BYTES,
    );
  });

  test("single top-level directory is hoisted", async () => {
    const archive = await packDirectory(
      { "my-model/model.gguf": GGUF_BYTES, "my-model/sub/notes.txt": "hi" },
      { entries: ["my-model"] },
    );
    const response = await uploadArchive(harness.baseUrl, "hoisted", archive);
    assert.equal(response.status, 200);
    assert.deepEqual(await readFile(join(harness.modelsDir, "hoisted", "model.gguf")), GGUF_BYTES);
    assert.equal(
      await readFile(join(harness.modelsDir, "hoisted", "sub", "notes.txt"), "utf8"),
      "hi",
    );
  });

  test("existing name is 409", async () => {
    const archive = await packDirectory({ "model.gguf": GGUF_BYTES });
    assert.equal((await uploadArchive(harness.baseUrl, "twice", archive)).status, 200);
    const second = await uploadArchive(harness.baseUrl, "twice", archive);
    assert.equal(second.status, 409);
    const error = await errorOf(second);
    assert.equal(error.code, "CODEC_ERR_REGISTRY_MODEL_EXISTS");
    assert.equal(error.source, "registry");
    assert.equal(error.type, "conflict_error");
  });

  test("missing name is 400", async () => {
    const response = await uploadArchive(
      harness.baseUrl,
      undefined,
      await packDirectory({ "a.gguf": "x" }),
    );
    assert.equal(response.status, 400);
    const error = await errorOf(response);
    assert.equal(error.code, "CODEC_ERR_REQUEST_INVALID_PARAM");
    assert.equal(error.param, "name");
  });

  test("missing file field is 400", async () => {
    const response = await uploadArchive(
      harness.baseUrl,
      "nofile",
      await packDirectory({ "a.gguf": "x" }),
      "archive",
    );
    assert.equal(response.status, 400);
    assert.equal((await errorOf(response)).param, "file");

    const empty = new FormData();
    empty.append("note", "no file here");
    const noParts = await fetch(`${harness.baseUrl}/admin/models/upload?name=nofile`, {
      method: "POST",
      body: empty,
    });
    assert.equal(noParts.status, 400);
    assert.equal((await errorOf(noParts)).param, "file");
  });

  const otherBodies: Array<
    [string, Record<string, string>, () => Promise<Uint8Array<ArrayBuffer> | string>]
  > = [
    ["octet-stream", { "content-type": "application/octet-stream" }, async () => gzipped()],
    ["gzip", { "content-type": "application/gzip" }, async () => gzipped()],
    // What `curl --data-binary @model.tgz` sends.
    [
      "form-encoded",
      { "content-type": "application/x-www-form-urlencoded" },
      async () => gzipped(),
    ],
    ["JSON", { "content-type": "application/json" }, async () => JSON.stringify({ file: "x" })],
    ["no body", {}, async () => ""],
  ];
  async function gzipped(): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await packDirectory({ "a.gguf": "x" }, { gzip: true }));
  }

  for (const [label, headers, body] of otherBodies) {
    test(`${label} body is 415`, async () => {
      const response = await fetch(`${harness.baseUrl}/admin/models/upload?name=raw`, {
        method: "POST",
        headers,
        body: await body(),
      });
      assert.equal(response.status, 415);
      const error = await errorOf(response);
      assert.equal(error.code, "CODEC_ERR_REQUEST_UNSUPPORTED_MEDIA_TYPE");
      assert.equal(error.param, "file");
      assert.match(error.message, /must be multipart\/form-data/);
      assert.match(error.message, /field 'file'/);
      assert.doesNotMatch(error.message, /[\u0000-\u0008\u000e-\u001f\ufffd]/u);
      assert.equal(response.headers.get("connection"), "close");
      const entries = await listAll(harness.modelsDir);
      assert.ok(!entries.includes("raw"), entries.join(", "));
      assert.ok(!entries.some((entry) => entry.startsWith(".upload-")), entries.join(", "));
    });
  }

  const emptyArchives: Array<[string, () => Promise<Buffer>]> = [
    ["empty tar", async () => Buffer.alloc(10240)],
    ["empty tar.gz", async () => gzipSync(Buffer.alloc(10240))],
    ["directories only", () => packDirectory({}, { gzip: true })],
  ];
  for (const [label, archive] of emptyArchives) {
    test(`${label} has no files`, async () => {
      const response = await uploadArchive(harness.baseUrl, "empty", await archive());
      assert.equal(response.status, 400);
      const error = await errorOf(response);
      assert.equal(error.code, "CODEC_ERR_REGISTRY_ARCHIVE_INVALID");
      assert.match(error.message, /contains no files/);
    });
  }

  test("listing reports upload limits", async () => {
    const list = (await (await fetch(`${harness.baseUrl}/admin/models`)).json()) as any;
    assert.deepEqual(list.upload_limits, { max_bytes: 64 * 1024 ** 3, max_entries: 100_000 });
  });
});

describe("upload rejects unsafe archives", () => {
  let harness: RegistryHarness;
  before(async () => {
    harness = await startRegistryHarness({ uploadMaxBytes: 1024 * 1024 });
  });
  after(() => harness.close({ removeModelsDir: true }));

  const file = (path: string, body = "data"): TarMember => ({ path, body });
  const goodFile = file("model.gguf", "GGUF");
  const validTar = buildTar([goodFile, file("big.bin", "y".repeat(3000))]);

  const cases: Array<{ name: string; archive: () => Buffer; code: string; message?: RegExp }> = [
    {
      name: "absolute path",
      archive: () => buildTar([file("/etc/evil")]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
      message: /absolute/,
    },
    {
      name: "dot-dot escape",
      archive: () => buildTar([goodFile, file("../evil")]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
      message: /'\.\.'/,
    },
    {
      name: "nested dot-dot escape",
      archive: () => buildTar([file("a/../../evil")]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
    },
    {
      name: "prefix field escape",
      archive: () => buildTar([{ path: "evil", prefix: "..", body: "x" }]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
    },
    {
      name: "symlink",
      archive: () =>
        buildTar([goodFile, { path: "link", type: TAR_TYPE.symlink, linkpath: "/etc/passwd" }]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
      message: /symbolic link/,
    },
    {
      name: "hardlink",
      archive: () =>
        buildTar([goodFile, { path: "hard", type: TAR_TYPE.hardLink, linkpath: "model.gguf" }]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
      message: /hard link/,
    },
    {
      name: "char device",
      archive: () => buildTar([{ path: "tty", type: TAR_TYPE.charDevice }]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
      message: /character device/,
    },
    {
      name: "block device",
      archive: () => buildTar([{ path: "sda", type: TAR_TYPE.blockDevice }]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
      message: /block device/,
    },
    {
      name: "fifo",
      archive: () => buildTar([{ path: "pipe", type: TAR_TYPE.fifo }]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
      message: /FIFO/,
    },
    {
      name: "pax header renaming outside",
      archive: () =>
        buildTar([
          goodFile,
          {
            path: "PaxHeader/innocent",
            type: TAR_TYPE.paxHeader,
            body: paxRecords({ path: "../../outside.txt" }),
          },
          file("innocent.txt", "payload"),
        ]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
      message: /outside\.txt/,
    },
    {
      name: "pax header adding a link target",
      archive: () =>
        buildTar([
          {
            path: "PaxHeader/x",
            type: TAR_TYPE.paxHeader,
            body: paxRecords({ path: "/abs/path" }),
          },
          file("x"),
        ]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
    },
    {
      name: "gnu long name escape",
      archive: () =>
        buildTar([
          { path: "././@LongLink", type: TAR_TYPE.gnuLongName, body: "../../long-evil\u0000" },
          file("short"),
        ]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
    },
    {
      name: "nested provenance name",
      archive: () =>
        buildTar([
          { path: "model/.codec-model.json/", type: TAR_TYPE.directory },
          file("model/a.gguf"),
        ]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
    },
    {
      name: "reserved provenance name",
      archive: () => buildTar([file(".codec-model.json", "{}")]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_UNSAFE",
    },
    {
      name: "gzip bomb",
      archive: () =>
        gzipSync(buildTar([file("zeros.bin", Buffer.alloc(4 * 1024 * 1024) as unknown as string)])),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_TOO_LARGE",
    },
    {
      name: "header declaring too much",
      archive: () => buildTar([{ path: "huge.bin", declaredSize: 8 * 1024 * 1024, body: "" }]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_TOO_LARGE",
    },
    {
      name: "truncated tar",
      archive: () => validTar.subarray(0, 512 + 512 + 512 + 1000),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_INVALID",
      message: /truncated|Truncated/,
    },
    {
      name: "truncated gzip",
      archive: () => {
        const gz = gzipSync(validTar);
        return gz.subarray(0, gz.length - 30);
      },
      code: "CODEC_ERR_REGISTRY_ARCHIVE_INVALID",
    },
    {
      name: "bad header checksum",
      archive: () => {
        const bytes = Buffer.from(validTar);
        bytes[10] = 0x41;
        return bytes;
      },
      code: "CODEC_ERR_REGISTRY_ARCHIVE_INVALID",
    },
    {
      name: "non-archive",
      archive: () => Buffer.from("this is just some text, not an archive\n".repeat(40)),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_INVALID",
      message: /not a tar/,
    },
    {
      name: "gzip of non-tar",
      archive: () => gzipSync(Buffer.from("plain text ".repeat(200))),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_INVALID",
      message: /does not contain a tar/,
    },
    {
      name: "zip file",
      archive: () => Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(600)]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_INVALID",
      message: /zip/,
    },
    {
      name: "empty archive",
      archive: () => Buffer.alloc(1024),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_INVALID",
    },
    {
      name: "directories only",
      archive: () => buildTar([{ path: "dir/", type: TAR_TYPE.directory }]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_INVALID",
      message: /no files/,
    },
    {
      name: "duplicate member",
      archive: () => buildTar([goodFile, goodFile]),
      code: "CODEC_ERR_REGISTRY_ARCHIVE_INVALID",
      message: /twice/,
    },
  ];

  for (const testCase of cases) {
    test(`rejects ${testCase.name}`, async () => {
      const response = await uploadArchive(harness.baseUrl, "bad", testCase.archive());
      const error = await errorOf(response);
      assert.equal(response.status, 400, error.message);
      assert.equal(error.code, testCase.code, error.message);
      assert.equal(error.source, "registry");
      if (testCase.message !== undefined) assert.match(error.message, testCase.message);
      assert.deepEqual(await listAll(harness.modelsDir), []);
    });
  }

  test("valid archive still accepted", async () => {
    const response = await uploadArchive(harness.baseUrl, "good", validTar);
    assert.equal(response.status, 200);
    assert.deepEqual(await listAll(harness.modelsDir), ["good"]);
    await rm(join(harness.modelsDir, "good"), { recursive: true });
  });
});

describe("upload size limit", () => {
  let harness: RegistryHarness;
  before(async () => {
    harness = await startRegistryHarness({ uploadMaxBytes: 64 * 1024 });
  });
  after(() => harness.close({ removeModelsDir: true }));

  test("oversized upload is 413", async () => {
    const archive = buildTar([
      { path: "big.bin", body: Buffer.alloc(256 * 1024, 1) as unknown as string },
    ]);
    const response = await uploadArchive(harness.baseUrl, "big", archive);
    assert.equal(response.status, 413);
    const error = await errorOf(response);
    assert.equal(error.code, "CODEC_ERR_REGISTRY_UPLOAD_TOO_LARGE");
    assert.equal(error.type, "invalid_request_error");
    assert.deepEqual(await listAll(harness.modelsDir), []);
  });

  test("upload under the limit passes", async () => {
    const archive = buildTar([
      { path: "small.bin", body: Buffer.alloc(16 * 1024, 1) as unknown as string },
    ]);
    assert.equal((await uploadArchive(harness.baseUrl, "small", archive)).status, 200);
  });
});

describe("interrupted upload", () => {
  test("client abort leaves nothing", async () => {
    const capture = captureLog();
    const harness = await startRegistryHarness({}, capture);
    try {
      const boundary = "test-boundary";
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="m.tar"\r\n\r\n`;
      const socket = connect(Number(new URL(harness.baseUrl).port), "127.0.0.1");
      await once(socket, "connect");
      socket.write(
        `POST /admin/models/upload?name=aborted HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 10000000\r\n\r\n${head}`,
      );
      socket.write(
        buildTar([
          { path: "a.gguf", body: Buffer.alloc(200_000, 1) as unknown as string },
        ]).subarray(0, 100_000),
      );
      // Let the server start streaming the partial upload to disk before the client goes away.
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.destroy();

      await waitFor(
        () => capture.events.some((event) => event.event === "http.request_completed"),
        5_000,
        "the request to end",
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(await listAll(harness.modelsDir), []);
      const failure = capture.events.find((event) => event.event === "http.error_response");
      assert.equal(failure?.statusCode, 400);
    } finally {
      await harness.close({ removeModelsDir: true });
    }
  });
});

describe("start-up cleanup", () => {
  test("stale upload and trash entries are removed", async () => {
    const modelsDir = await mkdtemp(join(tmpdir(), "codec-registry-stale-"));
    for (const entry of [".upload-x-0123", ".trash-y-4567", ".pull-owner--repo", "kept-model"]) {
      await mkdir(join(modelsDir, entry, "inner"), { recursive: true });
    }
    await writeFile(join(modelsDir, ".upload-z-89ab.archive"), "partial");
    const harness = await startRegistryHarness({ modelsDir });
    try {
      assert.deepEqual(await listAll(modelsDir), [".pull-owner--repo", "kept-model"]);
    } finally {
      await harness.close({ removeModelsDir: true });
    }
  });
});
