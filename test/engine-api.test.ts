import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { decodeStream } from "../src/protocol/decode-stream.js";
import { Detokenizer } from "../src/protocol/detokenizer.js";
import type { CodecFrame } from "../src/protocol/frame.js";
import { loadMap } from "../src/protocol/load-map.js";
import type { TokenizerMap } from "../src/protocol/tokenizer-map.js";
import { postJson, readSseData } from "./helpers/http.js";
import { captureLog, waitFor } from "./helpers/log-capture.js";
import { startTestEngine, type TestEngine } from "./helpers/test-engine.js";

const log = captureLog();
let server: TestEngine;
let map: TokenizerMap;
let modelId: string;

before(async () => {
  server = await startTestEngine({}, log);
  const models = (await (await fetch(`${server.baseUrl}/v1/models`)).json()) as {
    data: Array<{ id: string; codec: { map_url: string; map_hash: string } }>;
  };
  const card = models.data[0]!;
  modelId = card.id;
  const bytes = new Uint8Array(
    await (await fetch(`${server.baseUrl}${card.codec.map_url}`)).arrayBuffer(),
  );
  map = await loadMap({ bytes, hash: card.codec.map_hash });
});

after(() => server.close());

async function collectFrames(
  response: Response,
  format: "msgpack" | "protobuf",
): Promise<CodecFrame[]> {
  const frames: CodecFrame[] = [];
  for await (const frame of decodeStream(response.body!, format)) frames.push(frame);
  return frames;
}

function completion(extra: Record<string, unknown> = {}) {
  return { prompt: "Hello, world!", max_tokens: 12, temperature: 0, ...extra };
}

describe("health and models", () => {
  test("health is 200 once loaded", async () => {
    const response = await fetch(`${server.baseUrl}/health`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok" });
  });

  test("models advertises the tokenizer map", async () => {
    const response = await fetch(`${server.baseUrl}/v1/models`);
    const body = (await response.json()) as { object: string; data: Array<Record<string, any>> };
    assert.equal(body.object, "list");
    assert.equal(body.data.length, 1);
    const card = body.data[0]!;
    assert.equal(card.object, "model");
    assert.equal(card.max_model_len, 512);
    assert.match(card.codec.map_id, /^gguf\/[a-z0-9._-]+$/);
    assert.match(card.codec.map_hash, /^sha256:[0-9a-f]{64}$/);
    assert.equal(card.codec.map_url, `/.well-known/codec/maps/${card.codec.map_id}.json`);
  });

  test("map bytes hash to the advertised hash", async () => {
    const models = (await (await fetch(`${server.baseUrl}/v1/models`)).json()) as any;
    const codec = models.data[0].codec;
    const response = await fetch(`${server.baseUrl}${codec.map_url}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.match(response.headers.get("content-type") ?? "", /application\/json/);
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.equal(`sha256:${createHash("sha256").update(bytes).digest("hex")}`, codec.map_hash);
    assert.equal(map.vocab_size, 151669);
    assert.equal(map.encoder, "byte_level");
  });

  test("map revalidation answers 304", async () => {
    const models = (await (await fetch(`${server.baseUrl}/v1/models`)).json()) as any;
    const codec = models.data[0].codec;
    const response = await fetch(`${server.baseUrl}${codec.map_url}`, {
      headers: { "If-None-Match": `"${codec.map_hash}"`, "Accept-Encoding": "identity" },
    });
    assert.equal(response.status, 304);
    assert.equal(response.headers.get("etag"), `"${codec.map_hash}"`);
  });

  test("unknown map id is 404", async () => {
    const response = await fetch(`${server.baseUrl}/.well-known/codec/maps/other/model.json`);
    assert.equal(response.status, 404);
    const body = (await response.json()) as any;
    assert.equal(body.error.code, "CODEC_ERR_MAP_NOT_FOUND");
  });

  test("model retrieve by id", async () => {
    const ok = await fetch(`${server.baseUrl}/v1/models/${modelId}`);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as any).id, modelId);
    const missing = await fetch(`${server.baseUrl}/v1/models/not-this-one`);
    assert.equal(missing.status, 404);
  });
});

describe("completions", () => {
  test("json completion has text, usage and length", async () => {
    const response = await postJson(`${server.baseUrl}/v1/completions`, completion());
    assert.equal(response.status, 200);
    const body = (await response.json()) as any;
    assert.equal(body.object, "text_completion");
    assert.match(body.id, /^cmpl-/);
    assert.equal(body.model, modelId);
    assert.equal(body.choices.length, 1);
    assert.equal(body.choices[0].finish_reason, "length");
    assert.equal(typeof body.choices[0].text, "string");
    assert.deepEqual(body.usage, { prompt_tokens: 4, completion_tokens: 12, total_tokens: 16 });
  });

  test("greedy completion is deterministic", async () => {
    const first = (await (
      await postJson(`${server.baseUrl}/v1/completions`, completion())
    ).json()) as any;
    const second = (await (
      await postJson(`${server.baseUrl}/v1/completions`, completion())
    ).json()) as any;
    assert.equal(first.choices[0].text, second.choices[0].text);
  });

  test("seeded sampling is reproducible", async () => {
    const body = completion({
      temperature: 0.9,
      top_k: 40,
      top_p: 0.95,
      seed: 1234,
      max_tokens: 16,
    });
    const first = (await (await postJson(`${server.baseUrl}/v1/completions`, body)).json()) as any;
    const second = (await (await postJson(`${server.baseUrl}/v1/completions`, body)).json()) as any;
    assert.equal(first.choices[0].text, second.choices[0].text);
  });

  test("unseeded sampling differs between requests", async () => {
    const body = completion({ temperature: 1, max_tokens: 8 });
    const first = (await (await postJson(`${server.baseUrl}/v1/completions`, body)).json()) as any;
    const second = (await (await postJson(`${server.baseUrl}/v1/completions`, body)).json()) as any;
    assert.notEqual(first.choices[0].text, second.choices[0].text);
  });

  test("token-id prompt equals text prompt", async () => {
    const text = (await (
      await postJson(`${server.baseUrl}/v1/completions`, completion())
    ).json()) as any;
    const ids = (await (
      await postJson(
        `${server.baseUrl}/v1/completions`,
        completion({ prompt: [9707, 11, 1879, 0] }),
      )
    ).json()) as any;
    assert.equal(ids.choices[0].text, text.choices[0].text);
    assert.equal(ids.usage.prompt_tokens, 4);
  });

  test("sse stream matches json text", async () => {
    const json = (await (
      await postJson(`${server.baseUrl}/v1/completions`, completion())
    ).json()) as any;
    const response = await postJson(
      `${server.baseUrl}/v1/completions`,
      completion({ stream: true, stream_options: { include_usage: true } }),
    );
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events = await readSseData(response);
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
    const text = chunks.map((chunk) => chunk.choices[0]?.text ?? "").join("");
    assert.equal(text, json.choices[0].text);
    const finish = chunks.find((chunk) => chunk.choices[0]?.finish_reason != null);
    assert.equal(finish.choices[0].finish_reason, "length");
    const usageChunk = chunks.at(-1);
    assert.deepEqual(usageChunk.choices, []);
    assert.deepEqual(usageChunk.usage, json.usage);
    for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.usage, null);
  });

  test("msgpack and protobuf frames decode to the json text", async () => {
    const json = (await (
      await postJson(`${server.baseUrl}/v1/completions`, completion())
    ).json()) as any;
    for (const format of ["msgpack", "protobuf"] as const) {
      const response = await postJson(
        `${server.baseUrl}/v1/completions`,
        completion({ stream_format: format }),
      );
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), `application/x-${format}`);
      assert.equal(response.headers.get("vary"), "Accept-Encoding");
      const frames = await collectFrames(response, format);
      const last = frames.at(-1)!;
      assert.equal(last.done, true);
      assert.equal(last.finish_reason, "length");
      assert.ok(frames.slice(0, -1).every((frame) => !frame.done));
      const ids = frames.flatMap((frame) => frame.ids);
      assert.equal(ids.length, json.usage.completion_tokens);
      const detokenizer = new Detokenizer(map);
      const text = frames
        .map((frame) => detokenizer.render(frame.ids, { partial: !frame.done }))
        .join("");
      assert.equal(text, json.choices[0].text);
    }
  });

  test("stop string ends generation without leaking it", async () => {
    const free = (await (
      await postJson(`${server.baseUrl}/v1/completions`, completion({ max_tokens: 24 }))
    ).json()) as any;
    const fullText: string = free.choices[0].text;
    // Pick a stop string from the middle of the greedy output, so it is sure to appear.
    const stop = fullText.slice(6, 9);
    assert.ok(stop.length === 3);
    const cut = fullText.indexOf(stop);

    const stopped = (await (
      await postJson(
        `${server.baseUrl}/v1/completions`,
        completion({ max_tokens: 24, stop: [stop] }),
      )
    ).json()) as any;
    assert.equal(stopped.choices[0].finish_reason, "stop");
    assert.equal(stopped.choices[0].text, fullText.slice(0, cut));

    const streamed = await postJson(
      `${server.baseUrl}/v1/completions`,
      completion({ max_tokens: 24, stop, stream: true }),
    );
    const events = (await readSseData(streamed)).slice(0, -1).map((data) => JSON.parse(data));
    const text = events.map((chunk) => chunk.choices[0].text).join("");
    assert.equal(text, fullText.slice(0, cut));
    assert.ok(!text.includes(stop));
  });

  test("max_tokens zero returns empty length", async () => {
    const body = (await (
      await postJson(`${server.baseUrl}/v1/completions`, completion({ max_tokens: 0 }))
    ).json()) as any;
    assert.equal(body.choices[0].text, "");
    assert.equal(body.choices[0].finish_reason, "length");
    assert.equal(body.usage.completion_tokens, 0);
  });

  test("binary format always streams", async () => {
    const response = await postJson(
      `${server.baseUrl}/v1/completions`,
      completion({ stream: false, stream_format: "msgpack" }),
    );
    assert.equal(response.headers.get("content-type"), "application/x-msgpack");
    const frames = await collectFrames(response, "msgpack");
    assert.equal(frames.at(-1)!.done, true);
  });

  test("logit bias steers to a token", async () => {
    const body = (await (
      await postJson(
        `${server.baseUrl}/v1/completions`,
        completion({ max_tokens: 3, logit_bias: { "9707": 100 } }),
      )
    ).json()) as any;
    assert.equal(body.choices[0].text, "HelloHelloHello");
  });
});

describe("end of generation", () => {
  test("eos token stops with reason stop", async () => {
    const body = (await (
      await postJson(
        `${server.baseUrl}/v1/completions`,
        completion({ max_tokens: 5, logit_bias: { "151645": 100 } }),
      )
    ).json()) as any;
    assert.equal(body.choices[0].finish_reason, "stop");
    assert.equal(body.choices[0].text, "");
    assert.equal(body.usage.completion_tokens, 0);
  });

  test("eos stop ends frames with stop", async () => {
    const response = await postJson(
      `${server.baseUrl}/v1/completions`,
      completion({ max_tokens: 5, logit_bias: { "151645": 100 }, stream_format: "msgpack" }),
    );
    const frames = await collectFrames(response, "msgpack");
    assert.deepEqual(frames, [{ ids: [], done: true, finish_reason: "stop" }]);
  });

  test("ignore_eos keeps generating", async () => {
    const body = (await (
      await postJson(
        `${server.baseUrl}/v1/completions`,
        completion({
          max_tokens: 5,
          logit_bias: { "151645": 100 },
          ignore_eos: true,
          stream_format: "protobuf",
        }),
      )
    ).body!) as any;
    const frames: CodecFrame[] = [];
    for await (const frame of decodeStream(body, "protobuf")) frames.push(frame);
    assert.deepEqual(
      frames.flatMap((frame) => frame.ids),
      [151645, 151645, 151645, 151645, 151645],
    );
    assert.equal(frames.at(-1)!.finish_reason, "length");
  });
});

describe("chat completions", () => {
  const chat = (extra: Record<string, unknown> = {}) => ({
    messages: [
      { role: "system", content: "You are terse." },
      { role: "user", content: "Say hello." },
    ],
    max_tokens: 10,
    temperature: 0,
    ...extra,
  });

  test("json chat completion", async () => {
    const response = await postJson(`${server.baseUrl}/v1/chat/completions`, chat());
    assert.equal(response.status, 200);
    const body = (await response.json()) as any;
    assert.equal(body.object, "chat.completion");
    assert.match(body.id, /^chatcmpl-/);
    assert.equal(body.choices[0].message.role, "assistant");
    assert.equal(typeof body.choices[0].message.content, "string");
    assert.ok(["stop", "length"].includes(body.choices[0].finish_reason));
    assert.ok(body.usage.prompt_tokens > 10);
  });

  test("chat sse matches chat json", async () => {
    const json = (await (
      await postJson(`${server.baseUrl}/v1/chat/completions`, chat())
    ).json()) as any;
    const response = await postJson(
      `${server.baseUrl}/v1/chat/completions`,
      chat({ stream: true }),
    );
    const events = await readSseData(response);
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
    assert.equal(chunks[0].object, "chat.completion.chunk");
    assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" });
    const text = chunks.map((chunk) => chunk.choices[0].delta.content ?? "").join("");
    assert.equal(text, json.choices[0].message.content);
    assert.equal(chunks.at(-1).choices[0].finish_reason, json.choices[0].finish_reason);
  });

  test("chat frames decode to chat json text", async () => {
    const json = (await (
      await postJson(`${server.baseUrl}/v1/chat/completions`, chat())
    ).json()) as any;
    const response = await postJson(
      `${server.baseUrl}/v1/chat/completions`,
      chat({ stream_format: "protobuf" }),
    );
    const frames = await collectFrames(response, "protobuf");
    const detokenizer = new Detokenizer(map);
    const text = frames
      .map((frame) => detokenizer.render(frame.ids, { partial: !frame.done }))
      .join("");
    assert.equal(text, json.choices[0].message.content);
  });

  test("content parts are joined", async () => {
    const parts = chat({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Say " },
            { type: "text", text: "hello." },
          ],
        },
      ],
    });
    const plain = chat({ messages: [{ role: "user", content: "Say hello." }] });
    const first = (await (
      await postJson(`${server.baseUrl}/v1/chat/completions`, parts)
    ).json()) as any;
    const second = (await (
      await postJson(`${server.baseUrl}/v1/chat/completions`, plain)
    ).json()) as any;
    assert.equal(first.usage.prompt_tokens, second.usage.prompt_tokens);
    assert.equal(first.choices[0].message.content, second.choices[0].message.content);
  });
});

describe("concurrency", () => {
  test("parallel requests all complete", async () => {
    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        postJson(`${server.baseUrl}/v1/completions`, completion({ max_tokens: 8 })),
      ),
    );
    const bodies = (await Promise.all(responses.map((response) => response.json()))) as any[];
    for (const body of bodies) assert.equal(body.usage.completion_tokens, 8);
  });

  test("client disconnect aborts generation", async () => {
    const before = log.events.length;
    // Start as many long streams as there are sequences, read one frame, then disconnect.
    await Promise.all(
      [0, 1].map(async () => {
        const controller = new AbortController();
        const response = await fetch(`${server.baseUrl}/v1/completions`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(completion({ max_tokens: 480, stream_format: "msgpack" })),
          signal: controller.signal,
        });
        const reader = response.body!.getReader();
        await reader.read();
        controller.abort();
      }),
    );

    const finished = () =>
      log.events.slice(before).filter((event) => event.event === "engine.generation_finished");
    await waitFor(() => finished().length === 2, 10_000, "both generations to finish");
    for (const event of finished()) {
      assert.equal(event.finishReason, "abort");
      assert.ok(event.completionTokens < 480);
    }

    const pool = server.engine.state.ready!.pool;
    await waitFor(() => pool.idle === 2, 10_000, "both sequences to be released");
    const body = (await (
      await postJson(`${server.baseUrl}/v1/completions`, completion({ max_tokens: 4 }))
    ).json()) as any;
    assert.equal(body.usage.completion_tokens, 4);
  });
});
