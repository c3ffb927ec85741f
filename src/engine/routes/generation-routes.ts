import type { FastifyInstance } from "fastify";

import type { EngineState } from "../engine-state.js";
import { parseChatRequest } from "../requests/chat-request.js";
import { parseCompletionRequest } from "../requests/completion-request.js";
import { readJsonBody } from "./json-body.js";
import { serveGeneration } from "./serve-generation.js";

/** Registers `POST /v1/completions` and `POST /v1/chat/completions`. */
export function registerGenerationRoutes(app: FastifyInstance, state: EngineState): void {
  app.post("/v1/completions", async (request, reply) => {
    const engine = state.requireReady();
    const generation = parseCompletionRequest(readJsonBody(request.body), engine.host);
    await serveGeneration(request, reply, engine, generation, "completion");
  });

  app.post("/v1/chat/completions", async (request, reply) => {
    const engine = state.requireReady();
    const generation = parseChatRequest(readJsonBody(request.body), engine.host, engine.template);
    await serveGeneration(request, reply, engine, generation, "chat");
  });
}
