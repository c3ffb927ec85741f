import { readFileSync } from "node:fs";

/** The package version, read from package.json next to the compiled `dist/` folder. */
export const VERSION: string = (() => {
  const url = new URL("../../../package.json", import.meta.url);
  const manifest = JSON.parse(readFileSync(url, "utf8")) as { version?: unknown };
  return typeof manifest.version === "string" ? manifest.version : "0.0.0";
})();
