import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";

import { Command, InvalidArgumentError, Option } from "commander";

import { Detokenizer } from "../protocol/detokenizer.js";
import { loadMap } from "../protocol/load-map.js";
import type { TokenizerMap } from "../protocol/tokenizer-map.js";
import { tokenize } from "../protocol/tokenize.js";
import { buildMapFromGguf, buildMapFromTokenizerFiles } from "./map-build.js";
import { compareMaps, DEFAULT_COMPARE_TEXTS, formatComparison } from "./map-compare.js";

interface BuildFlags {
  gguf?: string;
  tokenizerJson?: string;
  tokenizerConfig?: string;
  id?: string;
  out?: string;
}

/** `codec-serve map`: build, hash and use Codec tokenizer maps. */
export function mapCommand(): Command {
  const map = new Command("map").description("Build, hash and use Codec tokenizer maps");

  map
    .command("build")
    .description(
      "Build a v2 tokenizer map from a GGUF file or a tokenizer.json, write it and print its sha256 hash",
    )
    .addOption(
      new Option("--gguf <file>", "GGUF model file whose tokenizer metadata to read").conflicts(
        "tokenizerJson",
      ),
    )
    .option("--tokenizer-json <file>", "Hugging Face tokenizer.json to read")
    .option(
      "--tokenizer-config <file>",
      "tokenizer_config.json whose added tokens become special tokens (with --tokenizer-json)",
    )
    .option(
      "--id <id>",
      "map id, lowercase such as org/model-family (default: derived from the model name)",
    )
    .option(
      "--out <file>",
      "where to write the map (default: the id with / replaced by -, plus .json)",
    )
    .action(async (flags: BuildFlags) => {
      if (flags.gguf === undefined && flags.tokenizerJson === undefined) {
        throw new InvalidArgumentError("give --gguf FILE or --tokenizer-json FILE");
      }
      const built =
        flags.gguf !== undefined
          ? await buildMapFromGguf(flags.gguf, flags.id)
          : await buildMapFromTokenizerFiles(flags.tokenizerJson!, flags.tokenizerConfig, flags.id);
      const out = flags.out ?? `${built.map.id.replaceAll("/", "-")}.json`;
      await writeFile(out, built.bytes);
      process.stderr.write(`wrote ${out} (${built.bytes.length} bytes, id ${built.map.id})\n`);
      process.stdout.write(`${built.hash}\n`);
    });

  map
    .command("hash")
    .description("Print the sha256 content hash of a map file, as maps are pinned")
    .argument("<file>", "map file")
    .action(async (file: string) => {
      const bytes = await readFile(file);
      process.stdout.write(`sha256:${createHash("sha256").update(bytes).digest("hex")}\n`);
    });

  map
    .command("encode")
    .description("Print the token IDs of a text, separated by spaces")
    .requiredOption("--map <file>", "map file")
    .option("--hash <sha256>", "expected content hash of the map file")
    .option(
      "--special",
      "turn special-token strings in the text, such as <|im_end|>, into their IDs",
      false,
    )
    .argument("<text>", "text to encode")
    .action(async (text: string, flags: { map: string; hash?: string; special: boolean }) => {
      const loaded = await readMapFile(flags.map, flags.hash);
      const ids = tokenize(loaded, text, { parseSpecialTokens: flags.special });
      process.stdout.write(`${ids.join(" ")}\n`);
    });

  map
    .command("decode")
    .description("Print the text of token IDs; special tokens are left out unless --special")
    .requiredOption("--map <file>", "map file")
    .option("--hash <sha256>", "expected content hash of the map file")
    .option("--special", "print special tokens, such as <|im_end|>, as their strings", false)
    .argument("<ids...>", "token IDs")
    .action(async (ids: string[], flags: { map: string; hash?: string; special: boolean }) => {
      const loaded = await readMapFile(flags.map, flags.hash);
      const numbers = ids.map((id) => parseTokenId(id, loaded.vocab_size));
      const text = new Detokenizer(loaded).render(numbers, {
        partial: false,
        renderSpecial: flags.special,
      });
      process.stdout.write(`${text}\n`);
    });

  map
    .command("compare")
    .description(
      "Check that two maps decode every shared ID and encode sample texts alike; exit 1 when they differ",
    )
    .argument("<first>", "map file")
    .argument("<second>", "map file to compare with, e.g. a published map of the same tokenizer")
    .option("--text <text...>", "texts to encode instead of the built-in samples")
    .action(async (firstPath: string, secondPath: string, flags: { text?: string[] }) => {
      const first = await readMapFile(firstPath, undefined);
      const second = await readMapFile(secondPath, undefined);
      const comparison = compareMaps(first, second, flags.text ?? DEFAULT_COMPARE_TEXTS);
      process.stdout.write(`${formatComparison(comparison).join("\n")}\n`);
      if (first.vocab_size !== second.vocab_size) {
        process.stdout.write(
          `vocab_size: ${first.vocab_size} vs ${second.vocab_size}; IDs from ${comparison.sharedIds} on were not compared\n`,
        );
      }
      if (comparison.decodeDifferenceCount > 0 || comparison.encodeDifferenceCount > 0) {
        process.exitCode = 1;
      }
    });

  return map;
}

/** Parses a token ID argument; IDs at or above the map's `vocab_size` are refused. */
function parseTokenId(text: string, vocabSize: number): number {
  if (!/^\d+$/.test(text)) {
    throw new InvalidArgumentError(`'${text}' is not a token ID; give non-negative integers`);
  }
  const id = Number(text);
  if (id >= vocabSize) {
    throw new InvalidArgumentError(
      `token ID ${text} is not in the map, whose vocab_size is ${vocabSize} (IDs 0 to ${vocabSize - 1})`,
    );
  }
  return id;
}

async function readMapFile(path: string, hash: string | undefined): Promise<TokenizerMap> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "it is a directory"
          : (error as Error).message;
    // No cause: the CLI prints causes, and the reason already repeats the system error.
    throw new Error(`cannot read the map file '${path}': ${reason}`);
  }
  return loadMap({ bytes, ...(hash === undefined ? {} : { hash }), cache: false });
}
