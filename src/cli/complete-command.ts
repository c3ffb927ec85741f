import { Command, Option } from "commander";
import { createParser, type EventSourceMessage } from "eventsource-parser";

import { decodeStream } from "../protocol/decode-stream.js";
import { Detokenizer } from "../protocol/detokenizer.js";
import type { BinaryStreamFormat } from "../protocol/frame.js";
import { loadMapCached } from "./map-cache.js";
import { parseNonNegativeInteger, parseNumber } from "./option-parsers.js";

interface CompleteFlags {
  url: string;
  streamFormat: "json" | BinaryStreamFormat;
  maxTokens: number;
  temperature?: number;
  seed?: number;
  chat: boolean;
}

/** `codec-serve complete`: streams a completion and prints its text as it arrives. */
export function completeCommand(): Command {
  return new Command("complete")
    .description("Stream a completion from a running server and print the text as it arrives")
    .argument("<prompt>", "prompt text")
    .addOption(new Option("--url <url>", "server base URL").env("CODEC_URL").default("http://127.0.0.1:8080"))
    .addOption(
      new Option("--stream-format <format>", "wire format; binary frames are decoded here with the model's tokenizer map")
        .choices(["json", "msgpack", "protobuf"])
        .default("msgpack"),
    )
    .addOption(new Option("--max-tokens <number>", "tokens to generate").argParser(parseNonNegativeInteger).default(64))
    .addOption(new Option("--temperature <number>", "sampling temperature (0 is greedy)").argParser(parseNumber))
    .addOption(new Option("--seed <number>", "sampling seed").argParser(parseNonNegativeInteger))
    .option("--chat", "send the prompt as a user message to /v1/chat/completions", false)
    .action(async (prompt: string, flags: CompleteFlags) => {
      const finishReason = await complete(prompt, flags, (text) => process.stdout.write(text));
      process.stdout.write("\n");
      process.stderr.write(`[finish_reason: ${finishReason}]\n`);
    });
}

/** Streams one completion, passing text to `write` as it arrives; returns the finish reason. */
export async function complete(prompt: string, flags: CompleteFlags, write: (text: string) => void): Promise<string> {
  const base = flags.url.replace(/\/+$/, "");
  const binary = flags.streamFormat !== "json";
  const detokenizer = binary ? new Detokenizer(await fetchServedMap(base)) : undefined;

  const body: Record<string, unknown> = {
    ...(flags.chat ? { messages: [{ role: "user", content: prompt }] } : { prompt }),
    max_tokens: flags.maxTokens,
    stream: true,
    stream_format: flags.streamFormat,
    ...(flags.temperature === undefined ? {} : { temperature: flags.temperature }),
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
  };
  const response = await fetch(`${base}/v1/${flags.chat ? "chat/completions" : "completions"}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok || response.body === null) throw new Error(await describeFailure(response));

  if (detokenizer !== undefined) {
    let finishReason = "unknown";
    for await (const frame of decodeStream(response.body, flags.streamFormat as BinaryStreamFormat)) {
      write(detokenizer.render(frame.ids, { partial: !frame.done }));
      if (frame.done) finishReason = frame.finish_reason ?? "unknown";
    }
    return finishReason;
  }
  return printSse(response.body, write);
}

/** Reads the map id and hash from `/v1/models` and loads that map, verified and cached. */
async function fetchServedMap(base: string) {
  const response = await fetch(`${base}/v1/models`);
  if (!response.ok) throw new Error(await describeFailure(response));
  const models = (await response.json()) as { data?: Array<{ codec?: { map_url?: string; map_hash?: string } }> };
  const codec = models.data?.[0]?.codec;
  if (codec?.map_url === undefined || codec.map_hash === undefined) {
    throw new Error("the server does not advertise a Codec tokenizer map in /v1/models; use --stream-format json");
  }
  return loadMapCached(new URL(codec.map_url, `${base}/`).toString(), codec.map_hash);
}

async function printSse(body: ReadableStream<Uint8Array>, write: (text: string) => void): Promise<string> {
  let finishReason = "unknown";
  let failure: string | undefined;
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      if (message.data === "[DONE]") return;
      const chunk = JSON.parse(message.data) as {
        error?: { message?: string };
        choices?: Array<{ text?: string; delta?: { content?: string }; finish_reason?: string | null }>;
      };
      if (chunk.error !== undefined) failure = chunk.error.message ?? "the stream ended with an error";
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
    if (envelope.error?.message !== undefined) return `HTTP ${response.status}: ${envelope.error.message}`;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return `HTTP ${response.status}: ${text.slice(0, 500)}`;
}
