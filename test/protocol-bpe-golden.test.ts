import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { before, describe, it } from "node:test";

import {
  BPETokenizer,
  buildMapFromTokenizerJson,
  CodecInvalidTokenizerJsonError,
  CodecUnsupportedTokenizerError,
  Detokenizer,
  pickTokenizer,
  tokenize,
  validateTokenizerMap,
} from "../src/protocol/index.js";
import type { BuiltTokenizerMap, TokenizerMap } from "../src/protocol/index.js";
import {
  llamaMap,
  llamaTokenizerJson,
  qwenMap,
  qwenTokenizerJson,
  readFixture,
} from "./helpers/protocol-tokenizer-maps.js";
import type { GoldenFile } from "./helpers/protocol-tokenizer-maps.js";

let qwen: BuiltTokenizerMap;
let llama: BuiltTokenizerMap;
let qwenGolden: GoldenFile;
let llamaGolden: GoldenFile;

before(async () => {
  [qwen, llama, qwenGolden, llamaGolden] = await Promise.all([
    qwenMap(),
    llamaMap(),
    readFixture<GoldenFile>("codec/qwen2-golden.json"),
    readFixture<GoldenFile>("codec/llama2-metaspace-golden.json"),
  ]);
});

/** Returns the map without its program, so the tokenizer falls back to the pattern. */
function patternOnly(map: TokenizerMap): TokenizerMap {
  const { pre_tokenizer_program: _program, ...rest } = map;
  return rest;
}

describe("Qwen byte-level golden", () => {
  it("encodes every sample with the program", () => {
    const tokenizer = new BPETokenizer(qwen.map);
    for (const sample of qwenGolden.samples) {
      assert.deepEqual(tokenizer.encode(sample.text), sample.ids, JSON.stringify(sample.text));
    }
  });

  it("encodes every sample with the pattern", () => {
    const tokenizer = new BPETokenizer(patternOnly(qwen.map));
    for (const sample of qwenGolden.samples) {
      assert.deepEqual(tokenizer.encode(sample.text), sample.ids, JSON.stringify(sample.text));
    }
  });

  it("decodes every sample back to its text", () => {
    for (const sample of qwenGolden.samples) {
      assert.equal(new Detokenizer(qwen.map).render(sample.ids), sample.text);
    }
  });

  it("applies NFC when asked", () => {
    const decomposed = "Cafe\u0301";
    const composed = tokenize(qwen.map, "Café");
    assert.notDeepEqual(tokenize(qwen.map, decomposed), composed);
    assert.deepEqual(new BPETokenizer(qwen.map, { normalize: "NFC" }).encode(decomposed), composed);
  });
});

describe("Llama 2 metaspace golden", () => {
  it("encodes every sample", () => {
    const tokenizer = new BPETokenizer(llama.map);
    for (const sample of llamaGolden.samples) {
      assert.deepEqual(tokenizer.encode(sample.text), sample.ids, JSON.stringify(sample.text));
    }
  });

  it("encodes a tab as byte fallback", () => {
    assert.deepEqual(tokenize(llama.map, "\t"), [29871, 12]);
  });

  it("decodes every sample with the leading space stripped", () => {
    for (const sample of llamaGolden.samples) {
      const detokenizer = new Detokenizer(llama.map, { stripLeadingSpace: true });
      assert.equal(detokenizer.render(sample.ids), sample.text, JSON.stringify(sample.text));
    }
  });

  it("keeps the leading space by default", () => {
    assert.equal(new Detokenizer(llama.map).render([15043, 29892, 3186, 29991]), " Hello, world!");
  });

  it("strips only the first space of a stream", () => {
    const detokenizer = new Detokenizer(llama.map, { stripLeadingSpace: true });
    assert.equal(detokenizer.render([15043], { partial: true }), "Hello");
    assert.equal(detokenizer.render([3186]), " world");
    detokenizer.reset();
    assert.equal(detokenizer.render([3186]), "world");
  });

  it("splits words and whole text alike", () => {
    // A vocabulary with a token holding an inner ▁ disables the word split.
    const map: TokenizerMap = { ...llama.map, vocab: { ...llama.map.vocab, "x\u2581y": 40000 } };
    const whole = new BPETokenizer(map);
    const split = new BPETokenizer(llama.map);
    for (const text of ["Multiple   spaces   between   words.", "a\tb c\n  d", "    indented"]) {
      assert.deepEqual(whole.encode(text), split.encode(text));
    }
  });
});

describe("buildMapFromTokenizerJson", () => {
  it("builds the Qwen map", () => {
    const map = qwen.map;
    assert.equal(map.version, "2");
    assert.equal(map.encoder, "byte_level");
    assert.equal(map.vocab_size, 151669);
    assert.equal(map.vocab?.["<tool_call>"], 151657);
    assert.equal(map.special_tokens?.["<|im_end|>"], 151645);
    assert.equal(map.merges?.[0], "\u0120 \u0120");
    assert.equal(map.byte_fallback_start, undefined);
    assert.match(map.pre_tokenizer_pattern ?? "", /^\(\?i:'s\|/);
    assert.deepEqual(map.pre_tokenizer_program?.ops?.[2], { op: "numbers", max_run: 1 });
    assert.deepEqual(map.tool_calling, {
      convention: "qwen25",
      markers: { start: "<tool_call>", end: "</tool_call>" },
      args_format: "json",
      result_format: "text",
    });
  });

  it("builds the Llama 2 map", () => {
    const map = llama.map;
    assert.equal(map.encoder, "metaspace");
    assert.equal(map.vocab_size, 32000);
    assert.equal(map.vocab?.["\u2581Hello"], 15043);
    assert.equal(map.byte_fallback_start, 3);
    assert.equal(map.byte_fallback_end, 258);
    assert.equal(map.merges?.length, 61249);
    assert.deepEqual(map.pre_tokenizer_program, { version: 1, ops: [{ op: "metaspace_split" }] });
    assert.equal(map.pre_tokenizer_pattern, undefined);
    assert.deepEqual(map.special_tokens, { "<unk>": 0, "<s>": 1, "</s>": 2 });
    assert.equal(map.tool_calling, undefined);
  });

  it("serializes bytes that parse to the map", () => {
    const parsed = validateTokenizerMap(JSON.parse(new TextDecoder().decode(llama.bytes)));
    assert.deepEqual(parsed, llama.map);
    assert.equal(llama.hash, `sha256:${createHash("sha256").update(llama.bytes).digest("hex")}`);
  });

  it("gives the same hash for string and pair merges", async () => {
    const json = llamaTokenizerJson();
    const model = json.model as { merges: string[] };
    const pairs = {
      ...json,
      model: { ...model, merges: model.merges.map((merge) => merge.split(" ")) },
    };
    const built = await buildMapFromTokenizerJson(pairs, { id: "meta-llama/llama-2" });
    assert.equal(built.hash, llama.hash);
  });

  it("gives the same hash on rebuild", async () => {
    const rebuilt = await buildMapFromTokenizerJson(await qwenTokenizerJson(), {
      id: "qwen/qwen3",
    });
    assert.equal(rebuilt.hash, qwen.hash);
  });

  it("records published_at when given", async () => {
    const built = await buildMapFromTokenizerJson(llamaTokenizerJson(), {
      id: "meta-llama/llama-2",
      publishedAt: "2026-01-01T00:00:00Z",
    });
    assert.equal(built.map.published_at, "2026-01-01T00:00:00Z");
    assert.notEqual(built.hash, llama.hash);
  });

  it("rejects a model type other than BPE", async () => {
    const json = { model: { type: "Unigram", vocab: [] } };
    await assert.rejects(
      buildMapFromTokenizerJson(json, { id: "x/y" }),
      CodecUnsupportedTokenizerError,
    );
  });

  it("rejects a malformed merge", async () => {
    const json = { model: { type: "BPE", vocab: { a: 0, b: 1, ab: 2 }, merges: ["a b c"] } };
    await assert.rejects(
      buildMapFromTokenizerJson(json, { id: "x/y" }),
      CodecInvalidTokenizerJsonError,
    );
  });

  it("rejects a pair merge with a space", async () => {
    const json = { model: { type: "BPE", vocab: { "a ": 0, b: 1 }, merges: [["a ", "b"]] } };
    await assert.rejects(
      buildMapFromTokenizerJson(json, { id: "x/y" }),
      CodecUnsupportedTokenizerError,
    );
  });

  it("emits a null program for an unknown regex", async () => {
    const json = {
      pre_tokenizer: {
        type: "Sequence",
        pretokenizers: [
          { type: "Split", pattern: { Regex: "\\w+|\\W" }, behavior: "Isolated", invert: false },
          { type: "ByteLevel", add_prefix_space: false, use_regex: false },
        ],
      },
      model: { type: "BPE", vocab: { a: 0 }, merges: [] },
    };
    const built = await buildMapFromTokenizerJson(json, { id: "x/y" });
    assert.equal(built.map.encoder, "byte_level");
    assert.equal(built.map.pre_tokenizer_program, null);
    assert.equal(built.map.pre_tokenizer_pattern, undefined);
  });

  it("compiles digits then byte level as version 2", async () => {
    const json = {
      pre_tokenizer: {
        type: "Sequence",
        pretokenizers: [
          { type: "Digits", individual_digits: true },
          { type: "ByteLevel", add_prefix_space: false, use_regex: true },
        ],
      },
      model: { type: "BPE", vocab: { a: 0 }, merges: [] },
    };
    const built = await buildMapFromTokenizerJson(json, { id: "x/y" });
    assert.equal(built.map.pre_tokenizer_program?.version, 2);
    assert.deepEqual(built.map.pre_tokenizer_program?.stages?.[0], {
      stage: "digits_isolate",
      mode: "individual",
    });
  });
});

describe("pickTokenizer", () => {
  it("picks BPE for maps with merges", () => {
    assert.ok(pickTokenizer(qwen.map) instanceof BPETokenizer);
  });

  it("falls back to longest match", () => {
    const map = validateTokenizerMap({
      id: "test/identity",
      version: "2",
      vocab_size: 6,
      vocab: { he: 0, hello: 1, l: 2, o: 3, " ": 4 },
      special_tokens: { eos: 5 },
    });
    assert.equal(pickTokenizer(map).constructor.name, "LongestMatchTokenizer");
    assert.deepEqual(tokenize(map, "hello he<|eos|>eos"), [1, 4, 0, 5, 5]);
    assert.deepEqual(tokenize(map, "x"), [0]);
  });

  it("uses byte fallback in longest match", () => {
    const map = validateTokenizerMap({
      id: "test/bytes",
      version: "2",
      vocab_size: 257,
      vocab: { a: 256 },
      byte_fallback_start: 0,
      byte_fallback_end: 255,
    });
    assert.deepEqual(tokenize(map, "aé"), [256, 0xc3, 0xa9]);
  });

  it("parses special tokens only when asked", () => {
    const text = "<|im_start|>user";
    assert.notEqual(tokenize(qwen.map, text)[0], 151644);
    assert.deepEqual(
      new BPETokenizer(qwen.map, { parseSpecialTokens: true }).encode(text),
      [151644, 872],
    );
  });
});
