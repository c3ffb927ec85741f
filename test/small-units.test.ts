import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { test } from "node:test";

import { defaultThreadCount } from "../src/engine/threads.js";
import { errorTypeForStatus, toErrorEnvelope } from "../src/http/envelope.js";
import { ERRORS, HttpError } from "../src/http/errors.js";
import { resolveRequestId } from "../src/http/request-id.js";
import { redactArgs } from "../src/supervisor/log-events.js";
import { REPO_ROOT } from "./helpers/paths.js";

test("thread count leaves cores free", () => {
  assert.equal(defaultThreadCount(1), 1);
  assert.equal(defaultThreadCount(2), 1);
  assert.equal(defaultThreadCount(4), 2);
  assert.equal(defaultThreadCount(8), 4);
  assert.equal(defaultThreadCount(16), 8);
});

test("error codes are unique and prefixed", () => {
  const codes = Object.values(ERRORS).map((spec) => spec.code);
  assert.equal(new Set(codes).size, codes.length);
  for (const code of codes) assert.match(code, /^CODEC_ERR_[A-Z]+_[A-Z_]+$/);
  for (const spec of Object.values(ERRORS)) assert.ok(spec.status >= 400 && spec.status < 600);
});

test("every catalogue error fits the envelope", () => {
  for (const spec of Object.values(ERRORS)) {
    const envelope = toErrorEnvelope(new HttpError(spec, "message", { param: "p" }), "engine");
    assert.equal(envelope.error.code, spec.code);
    assert.equal(envelope.error.type, errorTypeForStatus(spec.status));
    assert.equal(envelope.error.param, "p");
    assert.equal(envelope.error.source, "engine");
  }
});

test("unknown errors become internal 500", () => {
  const envelope = toErrorEnvelope(new Error("secret detail"), "proxy");
  assert.equal(envelope.error.code, "CODEC_ERR_SERVER_INTERNAL");
  assert.equal(envelope.error.type, "server_error");
  assert.ok(!envelope.error.message.includes("secret"));
});

test("request id keeps safe inbound values", () => {
  const request = (value: string | undefined) =>
    ({ headers: { "x-request-id": value } }) as unknown as IncomingMessage;
  assert.equal(resolveRequestId(request("abc-123:x.y_z")), "abc-123:x.y_z");
  for (const hostile of ["a b", "x".repeat(129), "<script>", "a\nb", ""]) {
    assert.match(resolveRequestId(request(hostile)), /^req-[0-9a-f]{24}$/);
  }
  assert.match(resolveRequestId(request(undefined)), /^req-[0-9a-f]{24}$/);
});

test("secret-looking arguments are redacted", () => {
  assert.deepEqual(redactArgs(["--api-key", "s3cret", "--port", "1"]), [
    "--api-key",
    "[redacted]",
    "--port",
    "1",
  ]);
  assert.deepEqual(redactArgs(["--hf-token=abc", "--model", "m"]), [
    "--hf-token=[redacted]",
    "--model",
    "m",
  ]);
});

test("api docs list every error code", async () => {
  const docs = await readFile(`${REPO_ROOT}docs/api.md`, "utf8");
  for (const spec of Object.values(ERRORS))
    assert.ok(docs.includes(`\`${spec.code}\``), `${spec.code} is not in docs/api.md`);
});
