import { sha256Hex } from "./map-hash.js";
import type { TokenizerMap } from "./tokenizer-map.js";

/** A serialized map and the content hash that pins it. */
export interface SerializedTokenizerMap {
  /** UTF-8 JSON bytes, to be served exactly as they are. */
  bytes: Uint8Array;
  /** `sha256:` followed by 64 lowercase hex digits of `bytes`. */
  hash: string;
}

/**
 * Order of the top-level fields: small descriptive fields first, so the start of the file shows
 * what the map is. Unknown fields follow, sorted.
 */
const TOP_LEVEL_FIELD_ORDER: readonly string[] = [
  "id",
  "version",
  "vocab_size",
  "encoder",
  "pre_tokenizer_pattern",
  "pre_tokenizer_program",
  "byte_fallback_start",
  "byte_fallback_end",
  "special_tokens",
  "tool_calling",
  "zstd_dictionaries",
  "published_at",
  "vocab",
  "tokens",
  "merges",
];

/**
 * Serializes a map to compact JSON with a fixed layout, so equal maps give equal bytes whatever
 * order their keys were inserted in. Top-level fields come in a fixed order (unknown fields last,
 * sorted). `vocab`, `special_tokens` and `tokens` are ordered by token ID, and other objects by key.
 * A `pre_tokenizer_program` of `null` is written as `null`; fields that are undefined are left out.
 */
export function serializeTokenizerMapBytes(map: TokenizerMap): Uint8Array {
  const record = map as unknown as Record<string, unknown>;
  const knownFields = TOP_LEVEL_FIELD_ORDER.filter((key) => record[key] !== undefined);
  const extraFields = Object.keys(record)
    .filter((key) => record[key] !== undefined && !TOP_LEVEL_FIELD_ORDER.includes(key))
    .sort(compareStrings);

  const members = [...knownFields, ...extraFields].map(
    (key) => `${JSON.stringify(key)}:${serializeField(key, record[key])}`,
  );
  return new TextEncoder().encode(`{${members.join(",")}}`);
}

/**
 * Serializes a map with {@link serializeTokenizerMapBytes} and hashes the bytes with Web Crypto.
 *
 * @throws {@link CodecUnsupportedHashAlgorithmError} when `crypto.subtle` is not available
 */
export async function serializeTokenizerMap(map: TokenizerMap): Promise<SerializedTokenizerMap> {
  const bytes = serializeTokenizerMapBytes(map);
  return { bytes, hash: `sha256:${await sha256Hex(bytes)}` };
}

function serializeField(key: string, value: unknown): string {
  if (key === "vocab" || key === "special_tokens") {
    return serializeRecordByValue(value as Record<string, number>);
  }
  if (key === "tokens") {
    return serializeRecordByNumericKey(value as Record<string, string>);
  }
  return canonicalJson(value);
}

/** Serializes a string → ID record ordered by ID, then by key. */
function serializeRecordByValue(record: Record<string, number>): string {
  const entries = Object.entries(record).sort(([leftKey, leftId], [rightKey, rightId]) =>
    leftId !== rightId ? leftId - rightId : compareStrings(leftKey, rightKey),
  );
  return `{${entries.map(([key, id]) => `${JSON.stringify(key)}:${JSON.stringify(id)}`).join(",")}}`;
}

/** Serializes a v1 `tokens` record (decimal ID → text) ordered by numeric ID. */
function serializeRecordByNumericKey(record: Record<string, string>): string {
  const entries = Object.entries(record).sort(
    ([left], [right]) => Number(left) - Number(right) || compareStrings(left, right),
  );
  return `{${entries.map(([key, text]) => `${JSON.stringify(key)}:${JSON.stringify(text)}`).join(",")}}`;
}

/** Serializes JSON data with object keys sorted, arrays in order and no whitespace. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(",")}]`;
  }
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort(compareStrings);
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Orders strings by UTF-16 code units, independent of locale. */
function compareStrings(left: string, right: string): number {
  if (left === right) {
    return 0;
  }
  return left < right ? -1 : 1;
}
