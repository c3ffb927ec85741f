import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DEFAULT_UPLOAD_MAX_BYTES,
  registryOptionsFromEnv,
} from "../src/supervisor/registry/registry-options.js";

test("defaults without environment", () => {
  const options = registryOptionsFromEnv("/models", {});
  assert.equal(options.hubEndpoint, "https://huggingface.co");
  assert.equal(options.hubToken, undefined);
  assert.equal(options.uploadMaxBytes, DEFAULT_UPLOAD_MAX_BYTES);
});

test("reads HF_ENDPOINT, HF_TOKEN and the upload limit", () => {
  const options = registryOptionsFromEnv("/models", {
    HF_ENDPOINT: "http://127.0.0.1:9000/mirror/",
    HF_TOKEN: " hf_abc ",
    CODEC_UPLOAD_MAX_BYTES: "1048576",
  });
  assert.equal(options.hubEndpoint, "http://127.0.0.1:9000/mirror");
  assert.equal(options.hubToken, "hf_abc");
  assert.equal(options.uploadMaxBytes, 1_048_576);
});

test("empty HF_TOKEN counts as none", () => {
  assert.equal(registryOptionsFromEnv("/models", { HF_TOKEN: "  " }).hubToken, undefined);
});

test("invalid values name their variable", () => {
  assert.throws(
    () => registryOptionsFromEnv("/models", { HF_ENDPOINT: "not a url" }),
    /HF_ENDPOINT/,
  );
  assert.throws(
    () => registryOptionsFromEnv("/models", { HF_ENDPOINT: "ftp://example.invalid" }),
    /http or https/,
  );
  assert.throws(
    () => registryOptionsFromEnv("/models", { HF_ENDPOINT: "http://user:pass@127.0.0.1" }),
    /user name or password/,
  );
  assert.throws(
    () => registryOptionsFromEnv("/models", { CODEC_UPLOAD_MAX_BYTES: "10GB" }),
    /CODEC_UPLOAD_MAX_BYTES/,
  );
  assert.throws(
    () => registryOptionsFromEnv("/models", { CODEC_UPLOAD_MAX_BYTES: "0" }),
    /CODEC_UPLOAD_MAX_BYTES/,
  );
});
