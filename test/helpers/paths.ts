import { fileURLToPath } from "node:url";

/** Repository root (tests run compiled from dist/test). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The compiled CLI entry. */
export const CLI_ENTRY = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Shared cache for generated test models; git ignores it. */
export const TEST_CACHE_DIR = fileURLToPath(new URL("../../../.cache/test", import.meta.url));
