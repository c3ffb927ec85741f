import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

import { loadMap } from "../protocol/load-map.js";
import { normalizeMapHash } from "../protocol/map-hash.js";
import type { TokenizerMap } from "../protocol/tokenizer-map.js";

/** Directory where fetched tokenizer maps are kept, keyed by their sha256. */
export function mapCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cacheHome, "codec-serve", "maps");
}

/**
 * Loads a tokenizer map pinned by `hash`, from the local cache when present, else from
 * `url` (the bytes are verified against the hash either way, then cached).
 */
export async function loadMapCached(
  url: string,
  hash: string,
  cacheDir: string = mapCacheDir(),
): Promise<TokenizerMap> {
  const hex = normalizeMapHash(hash);
  const cachedPath = join(cacheDir, `${hex}.json`);

  const cached = await readFile(cachedPath).catch(() => undefined);
  if (cached !== undefined) return loadMap({ bytes: new Uint8Array(cached), hash });

  const response = await fetch(url);
  if (!response.ok)
    throw new Error(`fetching the tokenizer map ${url} failed with HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const map = await loadMap({ bytes, hash });

  await mkdir(cacheDir, { recursive: true });
  const temporary = `${cachedPath}.${process.pid}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, cachedPath);
  return map;
}
