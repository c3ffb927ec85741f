import { once } from "node:events";
import type { ServerResponse } from "node:http";

import type { FastifyReply, FastifyRequest } from "fastify";

import { toErrorEnvelope } from "../../http/envelope.js";
import { streamFailed } from "../../http/log-events.js";
import { newId } from "../../http/request-id.js";
import { CODEC_ZSTD_DICT_HEADER } from "../../protocol/content-encoding.js";
import { createBodyCompressor, type BodyCompressor } from "../compression/body-compressor.js";
import { FlushWindow } from "../compression/flush-window.js";
import { chooseContentCoding } from "../compression/negotiate.js";
import { filterCodecHeaders, isOlderThan, type ClientVersion } from "../codec-version.js";
import type { ReadyEngine } from "../engine-state.js";
import { generate, type GenerationResult } from "../generate.js";
import { generationFailed, generationFinished } from "../log-events.js";
import { CodecFrameEncoder, wireModeOf } from "../output/codec-frame-encoder.js";
import { chatCompletionBody, completionBody } from "../output/json-bodies.js";
import { ChatSseEncoder, CompletionSseEncoder } from "../output/sse-encoders.js";
import type { BodyChunk, ResponseIdentity, StreamEncoder } from "../output/stream-encoder.js";
import { ToolCallDetector } from "../output/tool-call-detector.js";
import type { GenerationRequest } from "../requests/generation-request.js";

/** The two OpenAI generation endpoints. */
export type GenerationKind = "completion" | "chat";

/**
 * Runs one generation request end to end: waits for a free sequence, generates, and
 * responds with JSON, SSE or Codec frames. A client that disconnects aborts the generation,
 * an engine that stops ends it with finish reason `abort`, and the sequence is always released.
 */
export async function serveGeneration(
  request: FastifyRequest,
  reply: FastifyReply,
  engine: ReadyEngine,
  generation: GenerationRequest,
  kind: GenerationKind,
  client: ClientVersion,
): Promise<void> {
  const disconnected = abortOnDisconnect(reply.raw);
  const sequence = await engine.pool.acquire(disconnected);
  const startedAt = performance.now();
  // Generation stops when the client goes away or the engine stops; writing stops only for the former.
  const halted = AbortSignal.any([disconnected, engine.stopping]);
  const tokens = generate(engine.host, sequence, generation, halted, (finishReason, usage) =>
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
      const encoder = createStreamEncoder(engine, kind, generation, identity);
      const compression = chooseCompression(request, engine, generation, client);
      await streamResponse(
        request,
        reply,
        encoder,
        compression,
        tokens,
        disconnected,
        generation.format,
      );
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
  engine: ReadyEngine,
  kind: GenerationKind,
  generation: GenerationRequest,
  identity: ResponseIdentity,
): StreamEncoder {
  if (generation.format !== "json") {
    const watcher = generation.toolWatcher;
    const detector =
      watcher === undefined
        ? undefined
        : new ToolCallDetector(watcher.startId, watcher.endId, (ids) =>
            engine.host.createDetokenizer().render(ids, { partial: false }),
          );
    return new CodecFrameEncoder(generation.format, detector);
  }
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
    kind === "chat"
      ? chatCompletionBody(identity, text, step.value)
      : completionBody(identity, text, step.value);
  await reply.type("application/json").send(body);
}

/** The content coding of one binary response, with the headers that announce it. */
interface Compression {
  compressor: BodyCompressor | undefined;
  headers: Record<string, string>;
  /** See FlushWindow: frames closer together than this are flushed together. */
  flushIntervalMs: number;
}

/**
 * Picks the response's content coding from `Accept-Encoding`. Only binary Codec streams are
 * compressed: SSE and JSON stay identity, as on the upstream Codec engines. zstd needs a
 * dictionary for the wire mode and a client of version 0.2 or newer. It is not offered to
 * browsers (requests with `Sec-Fetch-Dest`, which Node's fetch does not send), because their
 * network stack decodes zstd itself, without the dictionary, and would fail.
 */
function chooseCompression(
  request: FastifyRequest,
  engine: ReadyEngine,
  generation: GenerationRequest,
  client: ClientVersion,
): Compression {
  const flushIntervalMs = engine.codec.config.compressionFlushMs;
  if (generation.format === "json") return { compressor: undefined, headers: {}, flushIntervalMs };

  const dictionary = engine.codec.dictionaries.forFormat(wireModeOf(generation.format));
  const fromBrowser = request.headers["sec-fetch-dest"] !== undefined;
  // Codec-Zstd-Dict dates from 0.2, so an older client would get zstd without its dictionary name.
  const knowsDictHeader = !isOlderThan(client, [0, 2]);
  const zstdAvailable = dictionary !== undefined && !fromBrowser && knowsDictHeader;
  const coding = chooseContentCoding(request.headers["accept-encoding"], zstdAvailable);
  if (coding === "identity") return { compressor: undefined, headers: {}, flushIntervalMs };

  const headers: Record<string, string> = { "Content-Encoding": coding };
  if (coding === "zstd" && dictionary !== undefined)
    headers[CODEC_ZSTD_DICT_HEADER] = dictionary.hash;
  return {
    compressor: createBodyCompressor(coding, dictionary?.parsed),
    headers: filterCodecHeaders(headers, client),
    flushIntervalMs,
  };
}

async function streamResponse(
  request: FastifyRequest,
  reply: FastifyReply,
  encoder: StreamEncoder,
  compression: Compression,
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
    ...compression.headers,
  });
  // Send the headers now, so clients see the response start before the first token.
  response.flushHeaders();

  const compressor = compression.compressor;
  const window =
    compressor === undefined
      ? undefined
      : new FlushWindow(
          compressor,
          (bytes) => write(response, bytes, disconnected),
          compression.flushIntervalMs,
        );
  const send = async (chunk: BodyChunk | undefined) => {
    if (chunk === undefined) return;
    if (window === undefined) await write(response, chunk, disconnected);
    else await window.send(toBytes(chunk));
  };

  try {
    await send(encoder.open());
    let step = await tokens.next();
    while (step.done !== true) {
      await send(encoder.chunk(step.value));
      step = await tokens.next();
    }
    await send(encoder.close(step.value));
    await window?.finish();
  } catch (error) {
    if (disconnected.aborted) return;

    generationFailed(request.log, { format }, error);
    streamFailed(request.log, { format }, error);
    try {
      await send(encoder.fail(toErrorEnvelope(error, "engine")));
      await window?.finish();
    } catch {
      // The client gets a truncated stream, and the failure is already logged.
    }
  } finally {
    window?.cancel();
    compressor?.destroy();
    if (!response.destroyed) response.end();
  }
}

function toBytes(chunk: BodyChunk): Uint8Array {
  return typeof chunk === "string" ? Buffer.from(chunk) : chunk;
}

/** Writes a chunk, waiting for the socket to drain so a slow client cannot grow memory. */
async function write(
  response: ServerResponse,
  chunk: BodyChunk | undefined,
  signal: AbortSignal,
): Promise<void> {
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
