import type { FastifyInstance } from "fastify";

import { ERRORS, HttpError } from "../../http/errors.js";
import { rejectOtherMethods } from "../../http/method-not-allowed.js";
import { StaticBody } from "../compression/static-body.js";
import type { EngineState, ReadyEngine } from "../engine-state.js";
import type { ServedTokenizerMap } from "../model-host.js";
import { ifNoneMatchMatches } from "./conditional-request.js";

/** Path prefix under which the engine serves its tokenizer map. */
export const MAP_PATH_PREFIX = "/.well-known/codec/maps/";

/** The discovery headers for Codec JSON documents: cacheable and readable from browsers. */
export const WELL_KNOWN_HEADERS = {
  "Access-Control-Allow-Origin": "*",
  "Cache-Control": "public, max-age=300, stale-while-revalidate=86400",
};

/**
 * Registers `/health`, `/v1/models` and the tokenizer map route. `/health` echoes
 * `instanceId`, so a supervisor can tell its own engine from another one on the same port. The
 * map is served gzip- or br-compressed when `Accept-Encoding` allows, and an
 * `If-None-Match` that matches its hash gets 304.
 */
export function registerModelRoutes(
  app: FastifyInstance,
  state: EngineState,
  startedAt: number,
  instanceId: string | undefined,
): void {
  app.get("/health", async (_request, reply) => {
    const phase = state.phase;
    const status = phase === "ready" ? "ok" : phase;
    await reply
      .code(phase === "ready" ? 200 : 503)
      .send(instanceId === undefined ? { status } : { status, instance_id: instanceId });
  });

  app.get("/v1/models", async () => {
    const engine = state.requireReady();
    return { object: "list", data: [modelCard(engine, startedAt)] };
  });

  app.get<{ Params: { "*": string } }>("/v1/models/*", async (request) => {
    const engine = state.requireReady();
    const id = request.params["*"];
    if (id !== engine.host.servedModelName) {
      throw new HttpError(
        ERRORS.routeNotFound,
        `model '${id}' is not served here; GET /v1/models lists the model`,
        {
          param: "model",
          value: id,
        },
      );
    }
    return modelCard(engine, startedAt);
  });

  app.get<{ Params: { "*": string } }>(`${MAP_PATH_PREFIX}*`, async (request, reply) => {
    const engine = state.requireReady();
    const map = engine.host.tokenizerMap;
    const requested = request.params["*"];
    if (requested !== `${map.id}.json`) {
      throw new HttpError(
        ERRORS.mapNotFound,
        `no tokenizer map at '${MAP_PATH_PREFIX}${requested}'; this engine serves map '${map.id}' at '${MAP_PATH_PREFIX}${map.id}.json'`,
      );
    }
    const coding = StaticBody.codingFor(request.headers["accept-encoding"]);
    // The compressed forms share the hash, so their tag is weak: equal content, other bytes.
    const etag = coding === "identity" ? `"${map.hash}"` : `W/"${map.hash}"`;
    const headers = { ...WELL_KNOWN_HEADERS, ETag: etag, Vary: "Accept-Encoding" };
    if (ifNoneMatchMatches(request.headers["if-none-match"], etag)) {
      await reply.code(304).headers(headers).send();
      return;
    }
    const bytes = await staticBodyOf(map).bytes(coding);
    await reply
      .headers(headers)
      .headers(coding === "identity" ? {} : { "Content-Encoding": coding })
      .type("application/json")
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  rejectOtherMethods(app, "/health", ["GET"]);
  rejectOtherMethods(app, "/v1/models", ["GET"]);
}

/** The served map's bytes and their compressed forms, made once per map. */
const staticBodies = new WeakMap<ServedTokenizerMap, StaticBody>();

function staticBodyOf(map: ServedTokenizerMap): StaticBody {
  let body = staticBodies.get(map);
  if (body === undefined) {
    body = new StaticBody(map.bytes);
    staticBodies.set(map, body);
  }
  return body;
}

/** Builds the `/v1/models` entry, with the Codec map that decodes this model's token IDs. */
function modelCard(engine: ReadyEngine, startedAt: number) {
  const map = engine.host.tokenizerMap;
  return {
    id: engine.host.servedModelName,
    object: "model",
    created: Math.floor(startedAt / 1000),
    owned_by: "codec-serve",
    max_model_len: engine.host.contextSize,
    codec: {
      map_id: map.id,
      map_hash: map.hash,
      map_url: `${MAP_PATH_PREFIX}${map.id}.json`,
      stream_formats: ["json", "msgpack", "protobuf", "msgpack-delta"],
    },
  };
}
