import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { test } from "node:test";

import { REPO_ROOT } from "./helpers/paths.js";

const SOURCE = join(REPO_ROOT, "src");

/** Lists every TypeScript file under `src/` with the import specifiers it contains. */
async function sourceFiles(): Promise<Array<{ path: string; imports: string[]; text: string }>> {
  const entries = await readdir(SOURCE, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile() && entry.name.endsWith(".ts"));
  return Promise.all(
    files.map(async (entry) => {
      const path = join(entry.parentPath, entry.name);
      const text = await readFile(path, "utf8");
      const imports = [
        ...text.matchAll(
          /(?:import|export)[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g,
        ),
      ].map((match) => (match[1] ?? match[2])!);
      return { path, imports, text };
    }),
  );
}

/** Returns the top-level source folder (protocol, engine, …) that a path lies in. */
function area(path: string): string {
  return relative(SOURCE, path).split("/")[0]!;
}

/** Which areas each area may import from: cli → supervisor | engine → http → protocol. */
const ALLOWED: Record<string, readonly string[]> = {
  protocol: ["protocol"],
  http: ["http", "protocol"],
  "demo-model": ["demo-model"],
  engine: ["engine", "http", "protocol"],
  supervisor: ["supervisor", "http", "protocol", "demo-model"],
  cli: ["cli", "supervisor", "engine", "http", "protocol", "demo-model"],
};

test("imports point one way", async () => {
  for (const file of await sourceFiles()) {
    const from = area(file.path);
    for (const specifier of file.imports.filter((value) => value.startsWith("."))) {
      const to = area(resolve(file.path, "..", specifier));
      assert.ok(
        ALLOWED[from]?.includes(to),
        `${relative(REPO_ROOT, file.path)} must not import ${specifier} (${from} -> ${to})`,
      );
    }
  }
});

test("protocol uses only web-standard APIs", async () => {
  for (const file of await sourceFiles()) {
    if (area(file.path) !== "protocol") continue;
    const name = relative(REPO_ROOT, file.path);
    for (const specifier of file.imports)
      assert.ok(!specifier.startsWith("node:"), `${name} imports ${specifier}`);
    assert.doesNotMatch(file.text, /\bBuffer\b|\bprocess\./, `${name} uses a Node.js global`);
  }
});

test("the core client entry point never reaches zstd-codec", async () => {
  const files = new Map((await sourceFiles()).map((file) => [file.path, file]));
  const seen = new Set<string>();
  const pending = [join(SOURCE, "protocol", "index.ts")];
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const file = files.get(path);
    assert.ok(file !== undefined, `missing ${path}`);
    for (const specifier of file.imports) {
      assert.ok(
        !specifier.startsWith("zstd-codec") && !specifier.endsWith("/zstd-decoder.js"),
        `${relative(REPO_ROOT, path)} imports ${specifier}; zstd belongs to codec-serve/client/zstd`,
      );
      if (specifier.startsWith("."))
        pending.push(resolve(path, "..", specifier.replace(/\.js$/, ".ts")));
    }
  }
  assert.ok(seen.size > 10);
});
