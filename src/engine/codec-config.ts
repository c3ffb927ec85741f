/** Mode of the engine's Codec version policy. */
export type VersionPolicyMode = "off" | "advisory" | "strict";

/** Codec settings of the engine, read from `CODEC_*` environment variables. */
export interface CodecServerConfig {
  /**
   * `off`: no version policy document and no 426. `advisory`: the policy is published at
   * `/.well-known/codec/version-policy.json` but never enforced. `strict`: requests from clients
   * older than `minimumVersion` get 426 while `requiredFeatures` is not empty.
   */
  versionPolicy: VersionPolicyMode;
  /** Lowest client version the policy accepts, a bare minor version such as `0.4`. */
  minimumVersion: string;
  /** Features the deployment makes mandatory, e.g. `safety-policy-enforcement`. */
  requiredFeatures: string[];
  /** Sent as `deployment_id` in the policy document and in 426 bodies. */
  deploymentId: string | undefined;
  /** Sent as `docs_url` in the policy document and in 426 bodies. */
  docsUrl: string | undefined;
  /** Operator dictionaries that replace the shipped ones, per wire mode. */
  zstdDictionaryPaths: { msgpack: string | undefined; protobuf: string | undefined };
  /**
   * Milliseconds within which compressed Codec frames are flushed together; the first frame
   * after a pause is always flushed at once. 0 flushes every frame on its own.
   */
  compressionFlushMs: number;
}

/** Default flush window: at most this much added latency per token, in exchange for smaller streams. */
export const DEFAULT_COMPRESSION_FLUSH_MS = 20;

const MODES: readonly VersionPolicyMode[] = ["off", "advisory", "strict"];

/**
 * Reads the Codec settings: `CODEC_VERSION_POLICY` (`off`, `advisory` or `strict`, default `off`),
 * `CODEC_MIN_CLIENT_VERSION` (default `0.4`), `CODEC_REQUIRED_FEATURES` (comma-separated),
 * `CODEC_DEPLOYMENT_ID`, `CODEC_VERSION_DOCS_URL`, `CODEC_ZSTD_DICT_MSGPACK_PATH`,
 * `CODEC_ZSTD_DICT_PROTOBUF_PATH` and `CODEC_COMPRESSION_FLUSH_MS` (default 20).
 *
 * @throws Error naming the variable when a value is invalid
 */
export function codecConfigFromEnv(env: NodeJS.ProcessEnv): CodecServerConfig {
  const mode = (env.CODEC_VERSION_POLICY ?? "off").trim().toLowerCase();
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new Error(
      `CODEC_VERSION_POLICY must be off, advisory or strict, got '${env.CODEC_VERSION_POLICY}'`,
    );
  }
  const minimumVersion = (env.CODEC_MIN_CLIENT_VERSION ?? "0.4").trim();
  if (!/^\d+\.\d+$/.test(minimumVersion)) {
    throw new Error(
      `CODEC_MIN_CLIENT_VERSION must be a version such as 0.4, got '${minimumVersion}'`,
    );
  }
  return {
    versionPolicy: mode as VersionPolicyMode,
    minimumVersion,
    requiredFeatures: (env.CODEC_REQUIRED_FEATURES ?? "")
      .split(",")
      .map((feature) => feature.trim())
      .filter((feature) => feature !== ""),
    deploymentId: nonEmpty(env.CODEC_DEPLOYMENT_ID),
    docsUrl: nonEmpty(env.CODEC_VERSION_DOCS_URL),
    zstdDictionaryPaths: {
      msgpack: nonEmpty(env.CODEC_ZSTD_DICT_MSGPACK_PATH),
      protobuf: nonEmpty(env.CODEC_ZSTD_DICT_PROTOBUF_PATH),
    },
    compressionFlushMs: parseFlushMs(env.CODEC_COMPRESSION_FLUSH_MS),
  };
}

function parseFlushMs(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_COMPRESSION_FLUSH_MS;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0 || number > 10_000) {
    throw new Error(
      `CODEC_COMPRESSION_FLUSH_MS must be a number of milliseconds from 0 to 10000, got '${value}'`,
    );
  }
  return number;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}
