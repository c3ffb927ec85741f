import type { FastifyInstance, FastifyRequest } from "fastify";

import { ERRORS, HttpError } from "../../http/errors.js";
import { rejectOtherMethods } from "../../http/method-not-allowed.js";
import { CODEC_PROTO_SCHEMA } from "../../protocol/protobuf-schema.js";
import { CODEC_CLIENT_VERSION } from "../../protocol/version-signaling.js";
import { versionPolicyDocument } from "../codec-version.js";
import type { EngineState } from "../engine-state.js";
import { DICT_PATH_PREFIX } from "../zstd-dictionaries.js";
import { MAP_PATH_PREFIX, WELL_KNOWN_HEADERS } from "./model-routes.js";

/** Dictionaries are addressed by their hash, so they never change and may be cached for a year. */
const DICT_HEADERS = {
  "Access-Control-Allow-Origin": "*",
  "Cache-Control": "public, max-age=31536000, immutable",
};

const HEX_NAME = /^([0-9a-f]{64})\.zstd$/;

/**
 * Registers the Codec discovery routes: `GET /codec/schema`, `/.well-known/codec/index.json`,
 * `/.well-known/codec/version-policy.json` and `/.well-known/codec/dicts/<sha256 hex>.zstd`.
 * Other methods on the first three get 405 with `Allow: GET, HEAD`.
 */
export function registerDiscoveryRoutes(app: FastifyInstance, state: EngineState): void {
  app.get("/codec/schema", async (_request, reply) => {
    await reply.type("text/plain; charset=utf-8").send(CODEC_PROTO_SCHEMA);
  });

  app.get("/.well-known/codec/index.json", async (request, reply) => {
    const engine = state.requireReady();
    const map = engine.host.tokenizerMap;
    const pointer = {
      id: map.id,
      url: absoluteUrl(request, `${MAP_PATH_PREFIX}${map.id}.json`),
      hash: map.hash,
    };
    await reply
      .headers(WELL_KNOWN_HEADERS)
      .type("application/json")
      .send({ codec_version: CODEC_CLIENT_VERSION, maps: [pointer] });
  });

  app.get("/.well-known/codec/version-policy.json", async (_request, reply) => {
    const engine = state.requireReady();
    const document = versionPolicyDocument(engine.codec.config);
    if (document === undefined) {
      throw new HttpError(
        ERRORS.routeNotFound,
        "this deployment has no version policy: it mandates no Codec feature (CODEC_VERSION_POLICY and CODEC_REQUIRED_FEATURES)",
      );
    }
    await reply.headers(WELL_KNOWN_HEADERS).type("application/json").send(document);
  });

  app.get<{ Params: { name: string } }>(`${DICT_PATH_PREFIX}:name`, async (request, reply) => {
    const engine = state.requireReady();
    const name = request.params.name.toLowerCase();
    const hex = HEX_NAME.exec(name)?.[1];
    const dictionary = hex === undefined ? undefined : engine.codec.dictionaries.byHex(hex);
    if (dictionary === undefined) {
      throw new HttpError(
        ERRORS.dictNotFound,
        `no zstd dictionary '${request.params.name}'; the served map lists the dictionaries in zstd_dictionaries`,
      );
    }
    const bytes = dictionary.parsed.bytes;
    await reply
      .headers(DICT_HEADERS)
      .header("ETag", `"${dictionary.hash}"`)
      .type("application/octet-stream")
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  for (const url of [
    "/codec/schema",
    "/.well-known/codec/index.json",
    "/.well-known/codec/version-policy.json",
  ]) {
    rejectOtherMethods(app, url, ["GET"]);
  }
}

/** Builds an absolute URL on the origin the client used, behind the supervisor too. */
function absoluteUrl(request: FastifyRequest, path: string): string {
  const forwardedHost = request.headers["x-forwarded-host"];
  const host =
    (Array.isArray(forwardedHost) ? forwardedHost[0] : forwardedHost) ??
    request.headers.host ??
    "127.0.0.1";
  const forwardedProto = request.headers["x-forwarded-proto"];
  const proto =
    (Array.isArray(forwardedProto) ? forwardedProto[0] : forwardedProto) ?? request.protocol;
  return `${proto === "https" ? "https" : "http"}://${host}${path}`;
}
