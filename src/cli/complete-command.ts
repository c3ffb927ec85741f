import { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";

import { Command, Option } from "commander";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { request } from "undici";

import { decodeResponse, type ContentDecoder } from "../protocol/content-encoding.js";
import { Detokenizer } from "../protocol/detokenizer.js";
import { discoverZstdDict } from "../protocol/discover.js";
import type { DecodableStreamFormat } from "../protocol/frame.js";
import {
  CODEC_CLIENT_VERSION,
  CODEC_CLIENT_VERSION_HEADER,
} from "../protocol/version-signaling.js";
import { decompressZstd } from "../protocol/zstd-decoder.js";
import { loadMapCached } from "./map-cache.js";
import { parseNonNegativeInteger, parseNumber } from "./option-parsers.js";

/** Content codings `complete` can ask for; the body is decoded here, zstd with the server's dictionary. */
const ACCEPT_ENCODINGS = ["identity", "gzip", "br", "zstd"] as const;

interface CompleteFlags {
  url: string;
  streamFormat: "json" | DecodableStreamFormat;
  acceptEncoding?: (typeof ACCEPT_ENCODINGS)[number];
  maxTokens: number;
  temperature?: number;
  seed?: number;
  chat: boolean;
  apiKey?: string;
}

/** `codec-serve complete`: streams a completion and prints its text as it arrives. */
export function completeCommand(): Command {
  return new Command("complete")
    .description("Stream a completion from a running server and print the text as it arrives")
    .argument("<prompt>", "prompt text")
    .addOption(
      new Option("--url <url>", "server base URL")
        .env("CODEC_URL")
        .default("http://127.0.0.1:8080"),
    )
    .addOption(
      new Option(
        "--stream-format <format>",
        "wire format; binary frames are decoded here with the model's tokenizer map",
      )
        .choices(["json", "msgpack", "protobuf", "msgpack-delta"])
        .default("msgpack"),
    )
    .addOption(
      new Option(
        "--accept-encoding <coding>",
        "compression to ask for on binary formats; zstd uses the server's dictionary",
      )
        .choices(ACCEPT_ENCODINGS)
        .default("identity"),
    )
    .addOption(
      new Option("--max-tokens <number>", "tokens to generate")
        .argParser(parseNonNegativeInteger)
        .default(64),
    )
    .addOption(
      new Option("--temperature <number>", "sampling temperature (0 is greedy)").argParser(
        parseNumber,
      ),
    )
    .addOption(new Option("--seed <number>", "sampling seed").argParser(parseNonNegativeInteger))
    .option("--chat", "send the prompt as a user message to /v1/chat/completions", false)
    .addOption(
      new Option(
        "--api-key <key>",
        "key for a server that sets CODEC_API_KEY; of a comma-separated list, the first is sent",
      ).env("CODEC_API_KEY"),
    )
    .action(async (prompt: string, flags: CompleteFlags) => {
      const finishReason = await complete(prompt, flags, (text) => process.stdout.write(text));
      process.stdout.write("\n");
      process.stderr.write(`[finish_reason: ${finishReason}]\n`);
      // The server ends a stream it could not finish with the reason "error"; scripts must see that.
      if (finishReason === "error") {
        process.stderr.write(
          "codec-serve: the stream ended with an error; see the server's logs\n",
        );
        process.exitCode = 1;
      }
    });
}

/** Streams one completion, passing text to `write` as it arrives; returns the finish reason. */
export async function complete(
  prompt: string,
  flags: CompleteFlags,
  write: (text: string) => void,
): Promise<string> {
  const base = flags.url.replace(/\/+$/, "");
  const auth = authorization(flags.apiKey);
  const binary = flags.streamFormat !== "json";
  const detokenizer = binary ? new Detokenizer(await fetchServedMap(base, auth)) : undefined;

  const body: Record<string, unknown> = {
    ...(flags.chat ? { messages: [{ role: "user", content: prompt }] } : { prompt }),
    max_tokens: flags.maxTokens,
    stream: true,
    stream_format: flags.streamFormat,
    ...(flags.temperature === undefined ? {} : { temperature: flags.temperature }),
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
  };
  const url = `${base}/v1/${flags.chat ? "chat/completions" : "completions"}`;
  if (detokenizer !== undefined) {
    const response = await postRaw(url, body, flags.acceptEncoding ?? "identity", auth);
    let finishReason = "unknown";
    const frames = decodeResponse(response, flags.streamFormat as DecodableStreamFormat, {
      encodedBody: true,
      contentDecoders: NODE_DECODERS,
      zstd: decompressZstd,
      fetchZstdDictionary: (hash) => discoverZstdDict({ origin: base, hash }),
    });
    for await (const frame of frames) {
      write(detokenizer.render(frame.ids, { partial: !frame.done }));
      if (frame.done) finishReason = frame.finish_reason ?? "unknown";
    }
    return finishReason;
  }

  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...auth },
    body: JSON.stringify(body),
  });
  if (!response.ok || response.body === null) throw new Error(await describeFailure(response));
  return printSse(response.body, write);
}

/** Returns the Authorization header for `apiKey`, the first of a comma-separated list. */
function authorization(apiKey: string | undefined): Record<string, string> {
  const key = apiKey
    ?.split(",")
    .map((part) => part.trim())
    .find((part) => part !== "");
  return key === undefined ? {} : { Authorization: `Bearer ${key}` };
}

/** Node's zlib decoders, for bodies read raw: Node 20 has no brotli DecompressionStream. */
const NODE_DECODERS: Record<string, ContentDecoder> = {
  gzip: (body) => Readable.from(body).pipe(createGunzip()),
  deflate: (body) => Readable.from(body).pipe(createInflate()),
  br: (body) => Readable.from(body).pipe(createBrotliDecompress()),
};

/**
 * Posts with undici's `request`, which leaves the body as the server compressed it, and wraps
 * the result in a Response for `decodeResponse`.
 */
async function postRaw(
  url: string,
  body: unknown,
  acceptEncoding: string,
  auth: Record<string, string>,
): Promise<Response> {
  const response = await request(url, {
    method: "POST",
    headers: {
      ...auth,
      "Content-Type": "application/json",
      "Accept-Encoding": acceptEncoding,
      [CODEC_CLIENT_VERSION_HEADER]: CODEC_CLIENT_VERSION,
    },
    body: JSON.stringify(body),
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return new Response(Readable.toWeb(response.body) as ReadableStream<Uint8Array>, {
    status: response.statusCode,
    headers,
  });
}

/** Reads the map id and hash from `/v1/models` and loads that map, verified and cached. */
async function fetchServedMap(base: string, auth: Record<string, string>) {
  const response = await fetch(`${base}/v1/models`, { headers: auth });
  if (!response.ok) throw new Error(await describeFailure(response));
  const models = (await response.json()) as {
    data?: Array<{ codec?: { map_url?: string; map_hash?: string } }>;
  };
  const codec = models.data?.[0]?.codec;
  if (codec?.map_url === undefined || codec.map_hash === undefined) {
    throw new Error(
      "the server does not advertise a Codec tokenizer map in /v1/models; use --stream-format json",
    );
  }
  return loadMapCached(new URL(codec.map_url, `${base}/`).toString(), codec.map_hash);
}

async function printSse(
  body: ReadableStream<Uint8Array>,
  write: (text: string) => void,
): Promise<string> {
  let finishReason = "unknown";
  let failure: string | undefined;
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      if (message.data === "[DONE]") return;
      const chunk = JSON.parse(message.data) as {
        error?: { message?: string };
        choices?: Array<{
          text?: string;
          delta?: { content?: string };
          finish_reason?: string | null;
        }>;
      };
      if (chunk.error !== undefined)
        failure = chunk.error.message ?? "the stream ended with an error";
      const choice = chunk.choices?.[0];
      if (choice === undefined) return;
      write(choice.text ?? choice.delta?.content ?? "");
      if (choice.finish_reason != null) finishReason = choice.finish_reason;
    },
  });

  const decoder = new TextDecoder();
  const reader = body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    parser.feed(decoder.decode(read.value, { stream: true }));
  }
  if (failure !== undefined) throw new Error(failure);
  return finishReason;
}

async function describeFailure(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const envelope = JSON.parse(text) as { error?: { message?: string } };
    if (envelope.error?.message !== undefined)
      return `HTTP ${response.status}: ${envelope.error.message}`;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return `HTTP ${response.status}: ${text.slice(0, 500)}`;
}
