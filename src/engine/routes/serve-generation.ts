import { once } from "node:events";
import type { ServerResponse } from "node:http";

import type { FastifyReply, FastifyRequest } from "fastify";

import { toErrorEnvelope } from "../../http/envelope.js";
import { streamFailed } from "../../http/log-events.js";
import { newId } from "../../http/request-id.js";
import type { ReadyEngine } from "../engine-state.js";
import { generate, type GenerationResult } from "../generate.js";
import { generationFailed, generationFinished } from "../log-events.js";
import { CodecFrameEncoder } from "../output/codec-frame-encoder.js";
import { chatCompletionBody, completionBody } from "../output/json-bodies.js";
import { ChatSseEncoder, CompletionSseEncoder } from "../output/sse-encoders.js";
import type { BodyChunk, ResponseIdentity, StreamEncoder } from "../output/stream-encoder.js";
import type { GenerationRequest } from "../requests/generation-request.js";

/** The two OpenAI generation endpoints. */
export type GenerationKind = "completion" | "chat";

/**
 * Runs one generation request end to end: waits for a free sequence, generates, and
 * responds with JSON, SSE or Codec frames. A client that disconnects aborts the generation,
 * and the sequence is always released.
 */
export async function serveGeneration(
  request: FastifyRequest,
  reply: FastifyReply,
  engine: ReadyEngine,
  generation: GenerationRequest,
  kind: GenerationKind,
): Promise<void> {
  const disconnected = abortOnDisconnect(reply.raw);
  const sequence = await engine.pool.acquire(disconnected);
  const startedAt = performance.now();
  const tokens = generate(engine.host, sequence, generation, disconnected, (finishReason, usage) =>
    generationFinished(request.log, {
      finishReason,
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      durationMs: Math.round(performance.now() - startedAt),
    }),
  );
  try {
    const identity: ResponseIdentity = {
      id: newId(kind === "chat" ? "chatcmpl" : "cmpl"),
      created: Math.floor(Date.now() / 1000),
      model: engine.host.servedModelName,
    };

    if (generation.stream) {
      const encoder = createStreamEncoder(kind, generation, identity);
      await streamResponse(request, reply, encoder, tokens, disconnected, generation.format);
    } else {
      await sendJsonResponse(reply, kind, identity, tokens);
    }
  } finally {
    // Closing the generator ends llama.cpp's evaluation before the sequence is reused.
    await tokens.return(undefined as never);
    await engine.pool.release(sequence);
  }
}

function createStreamEncoder(
  kind: GenerationKind,
  generation: GenerationRequest,
  identity: ResponseIdentity,
): StreamEncoder {
  if (generation.format !== "json") return new CodecFrameEncoder(generation.format);
  if (kind === "chat") return new ChatSseEncoder(identity, generation.includeUsage);
  return new CompletionSseEncoder(identity, generation.includeUsage);
}

type TokenStream = AsyncGenerator<{ ids: number[]; text: string }, GenerationResult>;

async function sendJsonResponse(
  reply: FastifyReply,
  kind: GenerationKind,
  identity: ResponseIdentity,
  tokens: TokenStream,
): Promise<void> {
  let text = "";
  let step = await tokens.next();
  while (step.done !== true) {
    text += step.value.text;
    step = await tokens.next();
  }
  text += step.value.tail.text;
  if (reply.raw.destroyed) return;

  const body =
    kind === "chat" ? chatCompletionBody(identity, text, step.value) : completionBody(identity, text, step.value);
  await reply.type("application/json").send(body);
}

async function streamResponse(
  request: FastifyRequest,
  reply: FastifyReply,
  encoder: StreamEncoder,
  tokens: TokenStream,
  disconnected: AbortSignal,
  format: string,
): Promise<void> {
  const response = reply.raw;
  reply.hijack();
  response.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    "Content-Type": encoder.contentType,
    ...encoder.headers,
  });
  // Send the headers now, so clients see the response start before the first token.
  response.flushHeaders();

  try {
    await write(response, encoder.open(), disconnected);
    let step = await tokens.next();
    while (step.done !== true) {
      await write(response, encoder.chunk(step.value), disconnected);
      step = await tokens.next();
    }
    await write(response, encoder.close(step.value), disconnected);
  } catch (error) {
    if (disconnected.aborted) return;

    generationFailed(request.log, { format }, error);
    streamFailed(request.log, { format }, error);
    await write(response, encoder.fail(toErrorEnvelope(error, "engine")), disconnected).catch(() => undefined);
  } finally {
    if (!response.destroyed) response.end();
  }
}

/** Writes a chunk, waiting for the socket to drain so a slow client cannot grow memory. */
async function write(response: ServerResponse, chunk: BodyChunk | undefined, signal: AbortSignal): Promise<void> {
  if (chunk === undefined || signal.aborted || response.destroyed) return;
  if (!response.write(chunk)) await once(response, "drain", { signal });
}

/** Returns a signal that aborts when the client goes away before the response is finished. */
function abortOnDisconnect(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.once("close", () => {
    if (!response.writableFinished) controller.abort(new Error("client disconnected"));
  });
  return controller.signal;
}
