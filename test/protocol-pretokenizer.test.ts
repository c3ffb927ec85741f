import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  BPETokenizer,
  buildMapFromTokenizerJson,
  CodecInvalidPatternError,
  CodecInvalidProgramError,
  CodecUnsupportedProgramVersionError,
  CodecUnsupportedTokenizerError,
  compilePreTokenizerPattern,
  compileProgram,
  runProgram,
  splitByPattern,
  validateTokenizerMap,
} from "../src/protocol/index.js";
import type { AlternationOp, PreTokenizerProgram } from "../src/protocol/index.js";

const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

/** Strings that exercise every op and the differences between regex dialects. */
const TRICKY = [
  "",
  "Hello, world!",
  "don't DON'T Don'T we'LL you'Re I'M it's 'S",
  "1 12 123 1234 12345 ١٢٣ ⅣⅫ ½",
  "日本語のテキスト、中文，한국어",
  "🚀 launch 👨‍👩‍👧‍👦 family 🇯🇵",
  "x\u0085y \u0085 \u0085\u0085",
  "x\uFEFFy \uFEFF \uFEFF\uFEFF",
  "\u00A0nbsp\u3000ideographic\u2003em\u202Fnarrow",
  "tabs\tand\ttabs\t\t",
  "lines\nand\r\nmore\n\n\n",
  "trailing spaces   ",
  "   leading",
  "a  b   c    d",
  "  \n  \n  x",
  " \t\n",
  "def add(a, b):\n    return a + b  # sum\n",
  "const x = arr.map((n) => n * 2);\n",
  "if (x) {\n\treturn;\n}\n\n",
  "path/to/file.ts:12:5 - error TS2345",
  "https://example.com/a?b=c&d=e#frag",
  "Café résumé naïve façade",
  "e\u0301 a\u0308\u0301 \u0301lone",
  "CamelCaseWord HTTPServer iPhone XMLHttpRequest",
  "ǅemal ǈ Ǌ", // titlecase letters
  "$100.00 (approx.) ~50% +/- 3°C",
  "!!!??? ... --- ***",
  "\u200B\u200C\u200Dzero width",
  "mixed日本english中文123",
  "'s's's",
  "x'\n'y",
  "\r\r\n\n\r",
];

/** Deterministic random strings over an alphabet that mixes every character class. */
function randomStrings(count: number): string[] {
  const alphabet = [..."aZé日ー의٣9 \t\n\r.,'!?-/_()ǅ\u0301\u0085\uFEFF\u00A0\u3000🚀Ⅳ"];
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const strings: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = "";
    const length = Math.floor(next() * 30);
    for (let k = 0; k < length; k++) {
      text += alphabet[Math.floor(next() * alphabet.length)];
    }
    strings.push(text);
  }
  return strings;
}

const CORPUS = [...TRICKY, ...randomStrings(3000)];

/** Returns the pattern and program a tokenizer.json pre-tokenizer translates to. */
async function translated(
  preTokenizer: unknown,
): Promise<{ pattern: string; program: PreTokenizerProgram }> {
  const built = await buildMapFromTokenizerJson(
    { pre_tokenizer: preTokenizer, model: { type: "BPE", vocab: { a: 0 }, merges: [] } },
    { id: "test/pre" },
  );
  assert.ok(built.map.pre_tokenizer_pattern !== undefined);
  assert.ok(built.map.pre_tokenizer_program);
  return { pattern: built.map.pre_tokenizer_pattern, program: built.map.pre_tokenizer_program };
}

function splitRegex(regex: string): unknown {
  return {
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    ],
  };
}

function assertProgramMatchesPattern(pattern: string, program: PreTokenizerProgram): void {
  const regex = compilePreTokenizerPattern(pattern);
  const compiled = compileProgram(program);
  for (const text of CORPUS) {
    assert.deepEqual(runProgram(compiled, text), splitByPattern(regex, text), JSON.stringify(text));
  }
}

const QWEN2_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3_REGEX = QWEN2_REGEX.replace("|\\p{N}|", "|\\p{N}{1,3}|");

describe("program against pattern", () => {
  it("matches for Qwen2", async () => {
    const { pattern, program } = await translated(splitRegex(QWEN2_REGEX));
    assertProgramMatchesPattern(pattern, program);
  });

  it("matches for Llama 3", async () => {
    const { pattern, program } = await translated(splitRegex(LLAMA3_REGEX));
    assert.deepEqual(program.ops?.[2], { op: "numbers", max_run: 3 });
    assertProgramMatchesPattern(pattern, program);
  });

  it("matches for GPT-2 byte level", async () => {
    const { pattern, program } = await translated({
      type: "ByteLevel",
      add_prefix_space: false,
      use_regex: true,
    });
    assertProgramMatchesPattern(pattern, program);
  });

  it("matches for the o200k cased-letter regex", () => {
    const upper = "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]";
    const lower = "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]";
    const tail = "(?i:'s|'t|'re|'ve|'m|'ll|'d)?";
    const pattern =
      `[^\\r\\n\\p{L}\\p{N}]?${upper}*${lower}+${tail}|[^\\r\\n\\p{L}\\p{N}]?${upper}+${lower}*${tail}` +
      "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const ops: AlternationOp[] = [
      { op: "letters_cased", kind: "title", lead_other: true, trailing_ci: CONTRACTIONS },
      { op: "letters_cased", kind: "upper", lead_other: true, trailing_ci: CONTRACTIONS },
      { op: "numbers", max_run: 3 },
      { op: "punct_run", lead_space: true, trailing_chars: "\r\n/" },
      { op: "newline_block" },
      { op: "trailing_ws" },
      { op: "ws_run" },
    ];
    assertProgramMatchesPattern(pattern, {
      version: 1,
      ops: ops as unknown as Record<string, unknown>[],
    });
  });

  it("matches for a regex with gaps", () => {
    // No alternative matches digits or CJK, so those stay as the text between matches.
    const pattern =
      "[!-\\/:-@\\[-`{-~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const ops: AlternationOp[] = [
      { op: "punct_ascii_letters" },
      { op: "letters", lead_other: true, lead_other_class: "l_p_s", body: "L_M" },
      { op: "punct_run", lead_space: true, trailing_newlines: true, charset: "p_s" },
      { op: "newline_block" },
      { op: "trailing_ws" },
      { op: "ws_run" },
    ];
    assertProgramMatchesPattern(pattern, {
      version: 1,
      ops: ops as unknown as Record<string, unknown>[],
    });
  });
});

describe("whitespace", () => {
  it("treats U+0085 as whitespace", () => {
    const regex = compilePreTokenizerPattern(QWEN2_REGEX);
    assert.deepEqual(splitByPattern(regex, "a\u0085\u0085b"), ["a", "\u0085", "\u0085b"]);
  });

  it("treats U+FEFF as a non-space", () => {
    const regex = compilePreTokenizerPattern(QWEN2_REGEX);
    assert.deepEqual(splitByPattern(regex, "a \uFEFF"), ["a", " \uFEFF"]);
  });
});

describe("version 2 stages", () => {
  const run = (stages: unknown[], text: string): string[] =>
    runProgram(compileProgram({ version: 2, stages }), text);

  it("isolates single digits", () => {
    assert.deepEqual(run([{ stage: "digits_isolate", mode: "individual" }], "ab123c"), [
      "ab",
      "1",
      "2",
      "3",
      "c",
    ]);
  });

  it("groups digit runs up to max_run", () => {
    assert.deepEqual(run([{ stage: "digits_isolate", mode: "grouped", max_run: 2 }], "x12345"), [
      "x",
      "12",
      "34",
      "5",
    ]);
  });

  it("isolates digit triples", () => {
    assert.deepEqual(run([{ stage: "digit_triples_isolate" }], "a12345b"), ["a", "123", "45b"]);
  });

  it("groups contiguous punctuation", () => {
    assert.deepEqual(run([{ stage: "punctuation_contiguous" }], "hi!?you、"), [
      "hi",
      "!?",
      "you",
      "、",
    ]);
  });

  it("isolates CJK runs", () => {
    assert.deepEqual(run([{ stage: "cjk_isolate" }], "ab日本cd"), ["ab", "日本", "cd"]);
  });

  it("chains stages over every piece", () => {
    const stages = [
      { stage: "digits_isolate", mode: "individual" },
      { stage: "alternation", ops: [{ op: "letters", lead_space: true }, { op: "ws_run" }] },
    ];
    assert.deepEqual(run(stages, "ab 12 cd"), ["ab", " ", "1", "2", " cd"]);
  });
});

describe("program validation", () => {
  it("rejects an unknown version", () => {
    assert.throws(
      () => compileProgram({ version: 3, ops: [] }),
      CodecUnsupportedProgramVersionError,
    );
  });

  it("rejects an unknown version in a map", () => {
    const map = validateTokenizerMap({
      id: "test/future",
      version: "2",
      vocab_size: 2,
      vocab: { a: 0, b: 1 },
      merges: ["a b"],
      encoder: "byte_level",
      pre_tokenizer_pattern: "\\p{L}+",
      pre_tokenizer_program: { version: 3, stages: [] },
    });
    assert.throws(() => new BPETokenizer(map), CodecUnsupportedProgramVersionError);
  });

  it("rejects an unknown op", () => {
    assert.throws(
      () => compileProgram({ version: 1, ops: [{ op: "emoji" }] }),
      CodecInvalidProgramError,
    );
  });

  it("rejects an invalid option", () => {
    const program = { version: 1, ops: [{ op: "numbers", max_run: -1 }] };
    assert.throws(() => compileProgram(program), CodecInvalidProgramError);
  });

  it("rejects metaspace_split among other ops", () => {
    const program = { version: 1, ops: [{ op: "ws_run" }, { op: "metaspace_split" }] };
    assert.throws(() => compileProgram(program), CodecInvalidProgramError);
  });

  it("rejects a byte_level map with neither program nor pattern", () => {
    const map = validateTokenizerMap({
      id: "test/bare",
      version: "2",
      vocab_size: 2,
      vocab: { a: 0, b: 1 },
      merges: ["a b"],
      encoder: "byte_level",
    });
    assert.throws(() => new BPETokenizer(map), CodecUnsupportedTokenizerError);
  });

  it("rejects a pattern that does not compile", () => {
    assert.throws(() => compilePreTokenizerPattern("(unclosed"), CodecInvalidPatternError);
  });
});

describe("metaspace_split prefix_first", () => {
  const metaspaceMap = (programOps: unknown[] | undefined) =>
    validateTokenizerMap({
      id: "test/metaspace",
      version: "2",
      vocab_size: 4,
      vocab: { "\u2581": 0, a: 1, "\u2581a": 2, "<unk>": 3 },
      merges: ["\u2581 a"],
      encoder: "metaspace",
      special_tokens: { "<unk>": 3 },
      ...(programOps === undefined
        ? {}
        : { pre_tokenizer_program: { version: 1, ops: programOps } }),
    });

  it("prefixes the text by default", () => {
    assert.deepEqual(new BPETokenizer(metaspaceMap(undefined)).encode("a a"), [2, 2]);
  });

  it("leaves the prefix out when true", () => {
    const map = metaspaceMap([{ op: "metaspace_split", prefix_first: true }]);
    assert.deepEqual(new BPETokenizer(map).encode("a a"), [1, 2]);
  });
});
