/** `If-None-Match` evaluation for the engine's fixed documents, as RFC 9110 §13.1.2 defines it. */

const ENTITY_TAG = /(?:W\/)?"([^"]*)"/g;

/**
 * Returns whether `If-None-Match` matches a representation whose entity tag is `etag`: the
 * header is `*`, or any tag in its comma-separated list equals `etag` by weak comparison, which
 * ignores the `W/` prefix on both sides. A match means the response is 304.
 */
export function ifNoneMatchMatches(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(",") : header;
  if (value.trim() === "*") return true;

  const opaque = opaqueTag(etag);
  for (const match of value.matchAll(ENTITY_TAG)) {
    if (match[1] === opaque) return true;
  }
  return false;
}

/** Returns the quoted part of an entity tag without its quotes and `W/` prefix. */
function opaqueTag(etag: string): string {
  return etag.replace(/^W\//, "").replace(/^"|"$/g, "");
}
