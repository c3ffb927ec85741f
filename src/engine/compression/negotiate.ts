/** Content codings the engine can apply to binary Codec responses. */
export type ContentCoding = "zstd" | "br" | "gzip" | "identity";

/** Codings in the order the server prefers them, the same order as the upstream Codec engines. */
const PREFERENCE: readonly Exclude<ContentCoding, "identity">[] = ["zstd", "br", "gzip"];

/**
 * Parses `Accept-Encoding` into lowercase coding names and q-values. An entry with a malformed
 * q-value is ignored, as RFC 9110 allows; `x-gzip` counts as `gzip`.
 */
export function parseAcceptEncoding(header: string | undefined): Map<string, number> {
  const accepted = new Map<string, number>();
  for (const entry of (header ?? "").split(",")) {
    const [rawName, ...parameters] = entry.split(";");
    let name = rawName?.trim().toLowerCase() ?? "";
    if (name === "") continue;
    if (name === "x-gzip") name = "gzip";

    let quality = 1;
    let valid = true;
    for (const parameter of parameters) {
      const [key, value] = parameter.split("=").map((part) => part.trim().toLowerCase());
      if (key !== "q") continue;
      quality = Number(value);
      valid = value !== undefined && /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value);
    }
    if (valid) accepted.set(name, Math.max(quality, accepted.get(name) ?? 0));
  }
  return accepted;
}

/**
 * Picks the coding for a binary response: the first of zstd, br, gzip that the client accepts
 * with a q-value above 0 (named, or through `*`) and the server can apply, else identity.
 * q-values decide acceptability only, not order. `q=0` means "not acceptable", as RFC 9110
 * defines it, although the sglang Codec engine ignores q-values, `q=0` included.
 */
export function chooseContentCoding(
  header: string | undefined,
  zstdAvailable: boolean,
): ContentCoding {
  const accepted = parseAcceptEncoding(header);
  const wildcard = accepted.get("*") ?? 0;
  for (const coding of PREFERENCE) {
    if (coding === "zstd" && !zstdAvailable) continue;
    const quality = accepted.get(coding) ?? wildcard;
    if (quality > 0) return coding;
  }
  return "identity";
}
