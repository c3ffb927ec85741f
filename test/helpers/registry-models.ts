import { mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";

import { ensureDemoModel } from "../../src/demo-model/demo-model.js";
import { TEST_CACHE_DIR } from "./paths.js";

/**
 * Puts a demo model with `seed` into the registry as `<modelsDir>/<name>/<name>.gguf` (a
 * symlink to the shared test cache). Different seeds give different weights with the same
 * tokenizer, so two such models answer the same prompt differently.
 */
export async function addDemoModel(modelsDir: string, name: string, seed: number): Promise<string> {
  const cached = await ensureDemoModel(join(TEST_CACHE_DIR, "demo-models"), { seed });
  const directory = join(modelsDir, name);
  await mkdir(directory, { recursive: true });
  const path = join(directory, `${name}.gguf`);
  await symlink(cached, path);
  return path;
}
