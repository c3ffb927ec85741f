import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import { Detokenizer, pickTokenizer, translate } from "../src/protocol/index.js";
import type { TokenizerMap } from "../src/protocol/index.js";
import { llamaMap, qwenMap } from "./helpers/protocol-tokenizer-maps.js";

const SURVIVING_TEXTS = [
  "Hello, world!",
  "The quick brown fox jumps over the lazy dog.",
  "def add(a, b):\n    return a + b\n",
  "Multiple   spaces\tand\ttabs",
  "Café résumé naïve façade",
  "日本語のテキスト",
  "🚀 launch 👨‍👩‍👧‍👦",
  "1 + 1 = 2",
];

let qwen: TokenizerMap;
let llama: TokenizerMap;

/** Encoders built once, because building one indexes the whole vocabulary. */
const encoders = new Map<TokenizerMap, ReturnType<typeof pickTokenizer>>();

function tokenize(map: TokenizerMap, text: string): number[] {
  let encoder = encoders.get(map);
  if (encoder === undefined) {
    encoder = pickTokenizer(map);
    encoders.set(map, encoder);
  }
  return encoder.encode(text);
}

before(async () => {
  [qwen, llama] = await Promise.all([
    qwenMap().then((built) => built.map),
    llamaMap().then((built) => built.map),
  ]);
});

describe("translate", () => {
  it("turns Qwen IDs into Llama 2 IDs and back", () => {
    for (const text of SURVIVING_TEXTS) {
      const qwenIds = tokenize(qwen, text);
      const llamaIds = translate(qwenIds, qwen, llama);
      assert.deepEqual(llamaIds, tokenize(llama, text), `to Llama 2: ${JSON.stringify(text)}`);
      assert.deepEqual(
        translate(llamaIds, llama, qwen),
        qwenIds,
        `back to Qwen: ${JSON.stringify(text)}`,
      );
    }
  });

  it("keeps the metaspace space when asked", () => {
    const llamaIds = tokenize(llama, "Hello");
    const kept = translate(llamaIds, llama, qwen, { stripLeadingSpace: false });
    assert.equal(new Detokenizer(qwen).render(kept), " Hello");
  });

  it("maps special tokens by literal string", () => {
    const target: TokenizerMap = {
      ...llama,
      vocab_size: 32001,
      special_tokens: { ...llama.special_tokens, "<|im_end|>": 32000 },
    };
    const ids = [...tokenize(qwen, "Hi"), 151645, ...tokenize(qwen, "Bye")];
    assert.deepEqual(translate(ids, qwen, target), [
      ...tokenize(llama, "Hi"),
      32000,
      ...tokenize(llama, "Bye"),
    ]);
  });

  it("drops unmapped special tokens by default", () => {
    const ids = [...tokenize(qwen, "Hi"), 151645];
    assert.deepEqual(translate(ids, qwen, llama), tokenize(llama, "Hi"));
  });

  it("encodes unmapped special tokens as text when asked", () => {
    const ids = [151645];
    const translated = translate(ids, qwen, llama, { unmappedSpecialTokens: "text" });
    assert.deepEqual(translated, tokenize(llama, "<|im_end|>"));
  });
});
