import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { readGgufFileInfo } from "node-llama-cpp";

import { ensureDemoModel } from "../src/demo-model/demo-model.js";
import {
  buildTokenizerMap,
  GGUF_TOKEN_TYPE,
  readTokenizerMetadata,
  serializeTokenizerMap,
} from "../src/engine/gguf-tokenizer-map.js";
import type { GgufTokenizerMetadata } from "../src/engine/gguf-tokenizer-map.js";
import type { TokenizerMap } from "../src/protocol/tokenizer-map.js";

const QWEN_MAP_ID = "codec-serve/demo-qwen3";

let temporaryDirectory: string;
let qwenMetadata: GgufTokenizerMetadata;
let qwenMap: TokenizerMap;

/** Splits text into the pieces a map's pre-tokenizer pattern produces, as Codec clients do. */
function preTokenize(map: TokenizerMap, text: string): string[] {
  assert.ok(map.pre_tokenizer_pattern !== undefined, "map has no pre_tokenizer_pattern");
  return Array.from(
    text.matchAll(new RegExp(map.pre_tokenizer_pattern, "gu")),
    (match) => match[0],
  );
}

/**
 * Returns SentencePiece-style metadata: <unk>, <s>, </s>, the 256 byte tokens, then words with one
 * repeat.
 */
function sentencePieceMetadata(): GgufTokenizerMetadata {
  const byteTokens = Array.from(
    { length: 256 },
    (_, byte) => `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`,
  );
  const tokens = ["<unk>", "<s>", "</s>", ...byteTokens, "▁the", "▁cat", "▁the"];
  const tokenTypes = [
    GGUF_TOKEN_TYPE.unknown,
    GGUF_TOKEN_TYPE.control,
    GGUF_TOKEN_TYPE.control,
    ...byteTokens.map(() => GGUF_TOKEN_TYPE.byte),
    GGUF_TOKEN_TYPE.normal,
    GGUF_TOKEN_TYPE.normal,
    GGUF_TOKEN_TYPE.normal,
  ];
  return { model: "llama", tokens, token_type: tokenTypes, bos_token_id: 1, eos_token_id: 2 };
}

before(async () => {
  temporaryDirectory = await mkdtemp(join(tmpdir(), "codec-serve-tokenizer-map-"));
  const modelPath = await ensureDemoModel(temporaryDirectory);
  const info = await readGgufFileInfo(modelPath, { readTensorInfo: false });

  qwenMetadata = readTokenizerMetadata(info.metadata);
  qwenMap = buildTokenizerMap(qwenMetadata, QWEN_MAP_ID);
});

after(async () => {
  if (temporaryDirectory !== undefined) {
    await rm(temporaryDirectory, { recursive: true, force: true });
  }
});

describe("readTokenizerMetadata", () => {
  it("reads the demo model tokenizer", () => {
    assert.equal(qwenMetadata.model, "gpt2");
    assert.equal(qwenMetadata.pre, "qwen2");
    assert.equal(qwenMetadata.tokens.length, 151_669);
    assert.equal(qwenMetadata.token_type?.length, 151_669);
    assert.equal(qwenMetadata.merges?.length, 151_387);
    assert.equal(qwenMetadata.eos_token_id, 151_645);
    assert.equal(qwenMetadata.bos_token_id, 151_643);
    assert.equal(qwenMetadata.add_bos_token, false);
    assert.match(qwenMetadata.chat_template ?? "", /<tool_call>/);
  });

  it("rejects metadata without a tokenizer", () => {
    for (const metadata of [
      undefined,
      null,
      {},
      { general: { architecture: "llama" } },
      { tokenizer: { chat_template: "x" } },
    ]) {
      assert.throws(() => readTokenizerMetadata(metadata), /no tokenizer\.ggml section/);
    }
  });

  it("rejects malformed token lists", () => {
    assert.throws(
      () => readTokenizerMetadata({ tokenizer: { ggml: { tokens: ["a"] } } }),
      /tokenizer\.ggml\.model/,
    );
    assert.throws(
      () => readTokenizerMetadata({ tokenizer: { ggml: { model: "gpt2", tokens: [] } } }),
      /tokens list/,
    );
    assert.throws(
      () => readTokenizerMetadata({ tokenizer: { ggml: { model: "gpt2", tokens: ["a", 1] } } }),
      /list of strings/,
    );
    assert.throws(
      () =>
        readTokenizerMetadata({
          tokenizer: { ggml: { model: "gpt2", tokens: ["a", "b"], token_type: [1] } },
        }),
      /one number per token \(2\), found 1/,
    );
  });

  it("converts bigint token IDs", () => {
    const metadata = readTokenizerMetadata({
      tokenizer: { ggml: { model: "gpt2", tokens: ["a"], eos_token_id: 0n, bos_token_id: "x" } },
    });
    assert.equal(metadata.eos_token_id, 0);
    assert.equal(metadata.bos_token_id, undefined);
  });
});

describe("buildTokenizerMap for the demo model", () => {
  it("maps every Qwen token to its ID", () => {
    assert.equal(qwenMap.id, QWEN_MAP_ID);
    assert.equal(qwenMap.version, "2");
    assert.equal(qwenMap.vocab_size, 151_669);
    assert.equal(qwenMap.vocab?.["Hello"], 9707);
    assert.equal(qwenMap.vocab?.["Ġworld"], 1879);
    assert.equal(qwenMap.vocab?.["<|im_end|>"], 151_645);
    assert.equal(Object.keys(qwenMap.vocab ?? {}).length, 151_669);
    assert.equal(qwenMap.merges?.length, 151_387);
    assert.equal(qwenMap.merges?.[0], "Ġ Ġ");
  });

  it("uses byte_level with the qwen2 pattern", () => {
    assert.equal(qwenMap.encoder, "byte_level");
    assert.deepEqual(preTokenize(qwenMap, "Hello, world! It's 2025\n\n  ok"), [
      "Hello",
      ",",
      " world",
      "!",
      " It",
      "'s",
      " ",
      "2",
      "0",
      "2",
      "5",
      "\n\n",
      " ",
      " ok",
    ]);
    assert.doesNotThrow(() => new RegExp(qwenMap.pre_tokenizer_pattern ?? "", "v"));
  });

  it("lists the added tokens as special", () => {
    const specialTokens = qwenMap.special_tokens ?? {};
    assert.equal(specialTokens["<|im_end|>"], 151_645);
    assert.equal(specialTokens["<|endoftext|>"], 151_643);
    assert.equal(specialTokens["<tool_call>"], 151_657);
    assert.equal(specialTokens["</tool_call>"], 151_658);
    assert.equal(specialTokens["<think>"], 151_667);
    assert.equal(Object.keys(specialTokens).length, 26);
    assert.equal(specialTokens["Hello"], undefined);
  });

  it("declares the qwen25 tool-call convention", () => {
    assert.deepEqual(qwenMap.tool_calling, {
      convention: "qwen25",
      markers: { start: "<tool_call>", end: "</tool_call>" },
      args_format: "json",
      result_format: "text",
    });
  });
});

describe("serializeTokenizerMap", () => {
  it("hashes the exact bytes", () => {
    const { bytes, hash } = serializeTokenizerMap(qwenMap);
    const expected = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

    assert.match(hash, /^sha256:[0-9a-f]{64}$/);
    assert.equal(hash, expected);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(bytes)), qwenMap);
  });

  it("ignores key insertion order", () => {
    const reordered = Object.fromEntries(
      Object.entries(qwenMap).reverse(),
    ) as unknown as TokenizerMap;
    reordered.vocab = Object.fromEntries(Object.entries(qwenMap.vocab ?? {}).reverse());
    reordered.tool_calling = {
      ...qwenMap.tool_calling!,
      markers: { end: "</tool_call>", start: "<tool_call>" },
    };

    const first = serializeTokenizerMap(qwenMap);
    const second = serializeTokenizerMap(buildTokenizerMap(qwenMetadata, QWEN_MAP_ID));
    const third = serializeTokenizerMap(reordered);
    assert.equal(second.hash, first.hash);
    assert.equal(third.hash, first.hash);
    assert.deepEqual(third.bytes, first.bytes);
  });

  it("writes small fields before the vocabulary", () => {
    const text = new TextDecoder().decode(serializeTokenizerMap(qwenMap).bytes);
    assert.ok(
      text.startsWith(
        `{"id":"${QWEN_MAP_ID}","version":"2","vocab_size":151669,"encoder":"byte_level",`,
      ),
    );
    assert.ok(text.indexOf('"special_tokens"') < text.indexOf('"vocab":'));
    assert.ok(text.indexOf('"vocab":{"!":0,"\\"":1,') > 0);
  });
});

describe("buildTokenizerMap for other tokenizers", () => {
  it("maps SentencePiece to metaspace with byte fallback", () => {
    const map = buildTokenizerMap(sentencePieceMetadata(), "test/spm");

    assert.equal(map.encoder, "metaspace");
    assert.equal(map.byte_fallback_start, 3);
    assert.equal(map.byte_fallback_end, 258);
    assert.equal(map.vocab_size, 262);
    assert.equal(map.vocab?.["▁the"], 259);
    assert.equal(map.vocab?.["<0x41>"], 3 + 0x41);
    assert.deepEqual(map.special_tokens, { "<s>": 1, "</s>": 2 });
    assert.equal(map.pre_tokenizer_pattern, undefined);
    assert.equal(map.tool_calling, undefined);
  });

  it("skips byte fallback when byte tokens are not contiguous", () => {
    const metadata = sentencePieceMetadata();
    const tokens = [...metadata.tokens];
    [tokens[10], tokens[11]] = [tokens[11]!, tokens[10]!];
    const map = buildTokenizerMap({ ...metadata, tokens }, "test/spm-shuffled");

    assert.equal(map.encoder, "metaspace");
    assert.equal(map.byte_fallback_start, undefined);
    assert.equal(map.byte_fallback_end, undefined);
  });

  it("builds an identity map for unknown models", () => {
    const map = buildTokenizerMap(
      { model: "bert", tokens: ["[PAD]", "hello", "##lo", "[CLS]"], token_type: [3, 1, 1, 3] },
      "test/wordpiece",
    );

    assert.equal(map.encoder, undefined);
    assert.deepEqual(map.vocab, { "[PAD]": 0, hello: 1, "##lo": 2, "[CLS]": 3 });
    assert.deepEqual(map.special_tokens, { "[PAD]": 0, "[CLS]": 3 });
    assert.equal(map.merges, undefined);
  });

  it("declares the llama3 convention", () => {
    const tokens = ["Hello", "<|begin_of_text|>", "<|python_tag|>", "<|eom_id|>"];
    const map = buildTokenizerMap(
      { model: "gpt2", pre: "llama-bpe", tokens, token_type: [1, 3, 3, 3], merges: [] },
      "test/llama3",
    );

    assert.deepEqual(map.tool_calling, {
      convention: "llama3",
      markers: { start: "<|python_tag|>", end: "<|eom_id|>" },
    });
    assert.equal(map.merges, undefined);
    assert.deepEqual(preTokenize(map, "12345 it's"), ["123", "45", " it", "'s"]);
  });

  it("needs both markers as special tokens", () => {
    const map = buildTokenizerMap(
      { model: "gpt2", pre: "qwen2", tokens: ["<tool_call>", "</tool_call>"], token_type: [4, 1] },
      "test/half-marked",
    );
    assert.equal(map.tool_calling, undefined);
  });

  it("picks patterns by pre-tokenizer name", () => {
    const build = (pre: string | undefined): TokenizerMap =>
      buildTokenizerMap(
        { model: "gpt2", tokens: ["a"], ...(pre === undefined ? {} : { pre }) },
        "test/pre",
      );

    assert.deepEqual(preTokenize(build("gpt-2"), "a 123  b"), ["a", " 123", " ", " b"]);
    assert.deepEqual(preTokenize(build("smollm"), "a 123  b"), [
      "a",
      " ",
      "1",
      "2",
      "3",
      " ",
      " b",
    ]);
    assert.deepEqual(preTokenize(build("default"), "it's 12345!"), [
      "it",
      "'",
      "s",
      " ",
      "123",
      "45",
      "!",
    ]);
    assert.equal(build(undefined).pre_tokenizer_pattern, build("default").pre_tokenizer_pattern);
    assert.equal(build("no-such-pre").pre_tokenizer_pattern, undefined);
    assert.equal(build("no-such-pre").encoder, "byte_level");
  });

  it("keeps the first ID of a repeated token", () => {
    const map = buildTokenizerMap(
      { model: "gpt2", tokens: ["a", "__proto__", "a", "__proto__"], token_type: [1, 3, 1, 3] },
      "test/dup",
    );

    assert.equal(map.vocab?.["a"], 0);
    assert.ok(Object.hasOwn(map.vocab ?? {}, "__proto__"));
    assert.equal(map.vocab?.["__proto__"], 1);
    assert.equal(map.special_tokens?.["__proto__"], 1);
  });
});
