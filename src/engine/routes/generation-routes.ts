import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import { invalidParam } from "../../http/errors.js";
import { rejectOtherMethods } from "../../http/method-not-allowed.js";
import {
  isCodecRequest,
  parseClientVersion,
  sendVersionRequired,
  versionRefusal,
  type ClientVersion,
} from "../codec-version.js";
import type { EngineState, ReadyEngine } from "../engine-state.js";
import { codecVersionRefused } from "../log-events.js";
import { parseChatRequest } from "../requests/chat-request.js";
import { readCodecRequestBody } from "../requests/codec-request-body.js";
import { parseCompletionRequest } from "../requests/completion-request.js";
import { readJsonBody } from "./json-body.js";
import { serveGeneration } from "./serve-generation.js";

/** Content-Type values as the client sent them, kept after `ignoreContentType` removed them. */
const sentContentTypes = new WeakMap<FastifyRequest, string | undefined>();

/**
 * Registers `POST /v1/completions`, `POST /v1/chat/completions` and `POST /v1/completions/codec`,
 * with 405 and `Allow: POST` for other methods on them.
 */
export function registerGenerationRoutes(app: FastifyInstance, state: EngineState): void {
  app.post("/v1/completions", { onRequest: ignoreContentType }, async (request, reply) => {
    const engine = state.requireReady();
    const body = readJsonBody(request.body);
    const client = await admitClient(request, reply, engine, isCodecJsonRequest(request, body));
    if (client === undefined) return;
    const generation = parseCompletionRequest(body, engine.host);
    await serveGeneration(request, reply, engine, generation, "completion", client);
  });

  app.post("/v1/chat/completions", { onRequest: ignoreContentType }, async (request, reply) => {
    const engine = state.requireReady();
    const body = readJsonBody(request.body);
    const client = await admitClient(request, reply, engine, isCodecJsonRequest(request, body));
    if (client === undefined) return;
    const generation = parseChatRequest(body, engine.host, engine.template);
    await serveGeneration(request, reply, engine, generation, "chat", client);
  });

  app.post("/v1/completions/codec", { onRequest: ignoreContentType }, async (request, reply) => {
    const engine = state.requireReady();
    const client = await admitClient(request, reply, engine, true);
    if (client === undefined) return;
    const fields = readCodecRequestBody(request.body, sentContentTypes.get(request));
    if (fields.stream_format === "json") {
      throw invalidParam(
        "stream_format",
        "the codec endpoint always streams Codec frames; use msgpack, protobuf or msgpack-delta",
      );
    }
    const generation = parseCompletionRequest(fields, engine.host, "prompt_ids");
    await serveGeneration(request, reply, engine, generation, "completion", client);
  });

  for (const url of ["/v1/completions", "/v1/chat/completions", "/v1/completions/codec"]) {
    rejectOtherMethods(app, url, ["POST"]);
  }
}

/**
 * Removes the Content-Type header before Fastify parses the body, and keeps its value for the
 * route. These routes read any body as bytes, but Fastify rejects with 415 a Content-Type it cannot
 * parse (an empty value, or one without a `/`) before a route runs. Without the header, the
 * engine's catch-all parser reads the body whatever it was labelled.
 */
async function ignoreContentType(request: FastifyRequest): Promise<void> {
  const header = request.headers["content-type"];
  sentContentTypes.set(request, header);
  delete request.headers["content-type"];
}

function isCodecJsonRequest(request: FastifyRequest, body: unknown): boolean {
  return isCodecRequest(request.headers["codec-client-version"], body);
}

/**
 * Reads `Codec-Client-Version` and, for a Codec request, applies the version policy. Returns
 * the client's version, or undefined after sending a 426.
 */
async function admitClient(
  request: FastifyRequest,
  reply: FastifyReply,
  engine: ReadyEngine,
  codecRequest: boolean,
): Promise<ClientVersion | undefined> {
  const client = parseClientVersion(request.headers["codec-client-version"]);
  const refusal = codecRequest ? versionRefusal(engine.codec.config, client) : undefined;
  if (refusal === undefined) return client;

  codecVersionRefused(request.log, {
    clientVersion: client.text,
    minimumVersion: refusal.minimum_version,
    requiredFeatures: refusal.required_features,
  });
  await sendVersionRequired(reply, refusal);
  return undefined;
}
