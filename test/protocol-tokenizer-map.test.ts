import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { CodecInvalidMapError, validateTokenizerMap } from "../src/protocol/index.js";

/** A small valid v2 map; each case below breaks one field. */
function v2Map(): Record<string, unknown> {
  return {
    id: "test/tiny",
    version: "2",
    vocab_size: 4,
    vocab: { a: 0, b: 1, "<s>": 2, "<0x41>": 3 },
    encoder: "metaspace",
    merges: ["a b"],
    byte_fallback_start: 3,
    byte_fallback_end: 3,
    special_tokens: { "<s>": 2 },
  };
}

function assertInvalid(json: unknown, field: string, problem?: RegExp): void {
  assert.throws(
    () => validateTokenizerMap(json),
    (error: unknown) => {
      assert.ok(
        error instanceof CodecInvalidMapError,
        `expected CodecInvalidMapError for ${field}`,
      );
      assert.equal(error.code, "CODEC_ERR_MAP_INVALID");
      assert.equal(error.field, field);
      if (problem !== undefined) {
        assert.match(error.message, problem);
      }
      return true;
    },
  );
}

function withField(field: string, value: unknown): Record<string, unknown> {
  const map = v2Map();
  if (value === undefined) {
    delete map[field];
  } else {
    map[field] = value;
  }
  return map;
}

describe("validateTokenizerMap", () => {
  it("accepts a v2 map and returns it", () => {
    const json = v2Map();
    assert.equal(validateTokenizerMap(json), json);
  });

  it("accepts a v1 map with tokens", () => {
    const v1 = {
      id: "legacy/model",
      version: "1.0.0",
      vocab_size: 3,
      tokens: { "0": "Hello", "1": " world", "2": "</s>" },
      special_tokens: { eos: 2 },
      byte_fallback_start: 0,
      byte_fallback_end: 0,
    };
    assert.equal(validateTokenizerMap(v1).tokens?.["1"], " world");
  });

  it("accepts identity maps and unknown fields", () => {
    const map = withField("encoder", undefined);
    map.future_field = { anything: true };
    map.pre_tokenizer_program = null;
    assert.equal(validateTokenizerMap(map).encoder, undefined);
  });

  it("rejects a document that is not an object", () => {
    for (const json of [null, [], "map", 3]) {
      assertInvalid(json, "$", /must be a JSON object/);
    }
  });

  it("rejects bad id and version", () => {
    assertInvalid(withField("id", undefined), "id", /non-empty string/);
    assertInvalid(withField("id", 7), "id");
    assertInvalid(withField("version", 2), "version");
  });

  it("rejects bad vocab_size", () => {
    for (const size of [0, -1, 1.5, "4", undefined]) {
      assertInvalid(withField("vocab_size", size), "vocab_size", /at least 1/);
    }
  });

  it("requires vocab or tokens", () => {
    assertInvalid(withField("vocab", undefined), "vocab", /or tokens is required/);
    assertInvalid(withField("vocab", []), "vocab", /object of token string to ID/);
    assertInvalid(withField("vocab", { a: -1 }), 'vocab["a"]', /non-negative integer ID/);
    assertInvalid(withField("vocab", { a: 1.5 }), 'vocab["a"]');
  });

  it("rejects bad v1 tokens", () => {
    const base = { id: "x", version: "1", vocab_size: 1 };
    assertInvalid({ ...base, tokens: "abc" }, "tokens");
    assertInvalid({ ...base, tokens: { a: "x" } }, 'tokens["a"]', /decimal integer ID/);
    assertInvalid({ ...base, tokens: { "01": "x" } }, 'tokens["01"]');
    assertInvalid({ ...base, tokens: { "0": 5 } }, 'tokens["0"]', /must be a string/);
  });

  it("rejects an unknown encoder", () => {
    assertInvalid(withField("encoder", "wordpiece"), "encoder", /"byte_level" or "metaspace"/);
    assertInvalid(withField("encoder", null), "encoder");
  });

  it("rejects bad merges", () => {
    assertInvalid(withField("merges", "a b"), "merges", /array of strings/);
    assertInvalid(withField("merges", ["a b", 3]), "merges[1]");
  });

  it("requires both fallback ends or neither", () => {
    assertInvalid(withField("byte_fallback_end", undefined), "byte_fallback_end", /is required/);
    assertInvalid(
      withField("byte_fallback_start", undefined),
      "byte_fallback_start",
      /is required/,
    );
    const neither = withField("byte_fallback_start", undefined);
    delete neither.byte_fallback_end;
    assert.ok(validateTokenizerMap(neither));
  });

  it("rejects negative or inverted fallback ranges", () => {
    assertInvalid(withField("byte_fallback_start", -1), "byte_fallback_start", /non-negative/);
    assertInvalid(withField("byte_fallback_end", -3), "byte_fallback_end", /non-negative/);
    assertInvalid(withField("byte_fallback_end", 2), "byte_fallback_end", /between/);
    assertInvalid(withField("byte_fallback_end", 3 + 256), "byte_fallback_end", /start \+ 255/);
  });

  it("rejects bad special_tokens", () => {
    assertInvalid(withField("special_tokens", { "<s>": "2" }), 'special_tokens["<s>"]');
  });

  it("checks optional nested fields", () => {
    assertInvalid(withField("pre_tokenizer_pattern", 5), "pre_tokenizer_pattern");
    assertInvalid(withField("pre_tokenizer_program", { ops: [] }), "pre_tokenizer_program.version");
    assertInvalid(
      withField("pre_tokenizer_program", { version: 2, stages: {} }),
      "pre_tokenizer_program.stages",
    );
    assertInvalid(
      withField("zstd_dictionaries", [
        { format: "msgpack", url: "https://x/d.zstd", hash: "sha256:AB" },
      ]),
      "zstd_dictionaries[0].hash",
    );
    assertInvalid(
      withField("tool_calling", {
        convention: "custom",
        markers: { start: "<s>", end: "</tool>" },
      }),
      "tool_calling.markers.end",
      /key of special_tokens/,
    );
  });
});
