import { join } from "node:path";

import { ensureDemoModel } from "../../src/demo-model/demo-model.js";
import { TEST_CACHE_DIR } from "./paths.js";

/** Returns the default demo model, generated once into the shared test cache. */
export function demoModelPath(): Promise<string> {
  return ensureDemoModel(join(TEST_CACHE_DIR, "demo-models"));
}
