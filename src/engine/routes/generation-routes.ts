import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import { invalidParam } from "../../http/errors.js";
import {
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

/** Registers `POST /v1/completions`, `POST /v1/chat/completions` and `POST /v1/completions/codec`. */
export function registerGenerationRoutes(app: FastifyInstance, state: EngineState): void {
  app.post("/v1/completions", async (request, reply) => {
    const engine = state.requireReady();
    const client = await admitClient(request, reply, engine);
    if (client === undefined) return;
    const generation = parseCompletionRequest(readJsonBody(request.body), engine.host);
    await serveGeneration(request, reply, engine, generation, "completion", client);
  });

  app.post("/v1/chat/completions", async (request, reply) => {
    const engine = state.requireReady();
    const client = await admitClient(request, reply, engine);
    if (client === undefined) return;
    const generation = parseChatRequest(readJsonBody(request.body), engine.host, engine.template);
    await serveGeneration(request, reply, engine, generation, "chat", client);
  });

  app.post("/v1/completions/codec", async (request, reply) => {
    const engine = state.requireReady();
    const client = await admitClient(request, reply, engine);
    if (client === undefined) return;
    const fields = readCodecRequestBody(request.body, request.headers["content-type"]);
    if (fields.stream_format === "json") {
      throw invalidParam(
        "stream_format",
        "the codec endpoint always streams Codec frames; use msgpack, protobuf or msgpack-delta",
      );
    }
    const generation = parseCompletionRequest(fields, engine.host);
    await serveGeneration(request, reply, engine, generation, "completion", client);
  });
}

/**
 * Reads `Codec-Client-Version` and applies the version policy. Returns the client's version,
 * or undefined after sending a 426.
 */
async function admitClient(
  request: FastifyRequest,
  reply: FastifyReply,
  engine: ReadyEngine,
): Promise<ClientVersion | undefined> {
  const client = parseClientVersion(request.headers["codec-client-version"]);
  const refusal = versionRefusal(engine.codec.config, client);
  if (refusal === undefined) return client;

  codecVersionRefused(request.log, {
    clientVersion: client.text,
    minimumVersion: refusal.minimum_version,
    requiredFeatures: refusal.required_features,
  });
  await sendVersionRequired(reply, refusal);
  return undefined;
}
