import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { encode } from "@msgpack/msgpack";

import { decodeStream } from "../src/protocol/decode-stream.js";
import type { CodecFrame, DecodableStreamFormat } from "../src/protocol/frame.js";
import { ToolWatcher } from "../src/protocol/tool-watcher.js";
import { postJson } from "./helpers/http.js";
import {
  AFTER_TOOL_CALL,
  LOOP_PROMPT,
  steeredModelPath,
  TOOL_CALL_BODY,
  TOOL_CALL_END,
  TOOL_CALL_LOOP,
  TOOL_CALL_START,
} from "./helpers/steered-model.js";
import { startTestEngine, type TestEngine } from "./helpers/test-engine.js";

const WATCHER = { start_id: TOOL_CALL_START, end_id: TOOL_CALL_END };
const LOOKUP_CALL = { arguments_json: '{"name": "lookup"}', name: "lookup" };

let server: TestEngine;

before(async () => {
  server = await startTestEngine({ modelPath: await steeredModelPath(), contextSize: 256 });
});

after(() => server.close());

async function collect(response: Response, format: DecodableStreamFormat): Promise<CodecFrame[]> {
  assert.equal(response.status, 200, response.status === 200 ? "" : await response.clone().text());
  const frames: CodecFrame[] = [];
  for await (const frame of decodeStream(response.body!, format)) frames.push(frame);
  return frames;
}

function complete(extra: Record<string, unknown>): Promise<Response> {
  return postJson(
    `${server.baseUrl}/v1/completions`,
    { prompt: LOOP_PROMPT, temperature: 0, tool_watcher: WATCHER, ...extra },
    { "Accept-Encoding": "identity" },
  );
}

describe("steered model", () => {
  test("generates the tool-call loop", async () => {
    const frames = await collect(
      await postJson(`${server.baseUrl}/v1/completions`, {
        prompt: LOOP_PROMPT,
        temperature: 0,
        max_tokens: 20,
        stream_format: "msgpack",
      }),
      "msgpack",
    );
    assert.deepEqual(
      frames.flatMap((frame) => frame.ids),
      [...TOOL_CALL_LOOP, ...TOOL_CALL_LOOP],
    );
  });
});

describe("server-side ToolWatcher", () => {
  test("reports closed regions and releases an open one", async () => {
    // 24 tokens: two whole loops of 10, then the start marker and three body tokens.
    const frames = await collect(
      await complete({ max_tokens: 24, stream_format: "msgpack" }),
      "msgpack",
    );
    assert.deepEqual(frames, [
      { ids: [], done: false, tool_calls: [{ ...LOOKUP_CALL, id: "tc_00000001" }] },
      { ids: [AFTER_TOOL_CALL[0]!], done: false },
      { ids: [AFTER_TOOL_CALL[1]!], done: false },
      { ids: [], done: false, tool_calls: [{ ...LOOKUP_CALL, id: "tc_00000002" }] },
      { ids: [AFTER_TOOL_CALL[0]!], done: false },
      { ids: [AFTER_TOOL_CALL[1]!], done: false },
      {
        ids: [TOOL_CALL_START, ...TOOL_CALL_BODY.slice(0, 3)],
        done: true,
        finish_reason: "length",
      },
    ]);
  });

  test("a client-side watcher sees the open region as truncated", async () => {
    const frames = await collect(
      await complete({ max_tokens: 24, stream_format: "msgpack" }),
      "msgpack",
    );
    const watcher = ToolWatcher.fromIds(TOOL_CALL_START, TOOL_CALL_END);
    const events = frames.flatMap((frame) => [
      ...watcher.feed(frame.ids),
      ...(frame.done ? watcher.end(frame.finish_reason ?? null) : []),
    ]);
    assert.deepEqual(events.at(-1), {
      kind: "truncated",
      ids: TOOL_CALL_BODY.slice(0, 3),
      finishReason: "length",
    });
    assert.equal(events.filter((event) => event.kind === "region").length, 0);
  });

  test("withholds markers and bodies", async () => {
    const frames = await collect(
      await complete({ max_tokens: 20, stream_format: "msgpack" }),
      "msgpack",
    );
    const ids = frames.flatMap((frame) => frame.ids);
    assert.deepEqual(ids, [...AFTER_TOOL_CALL, ...AFTER_TOOL_CALL]);
    assert.deepEqual(frames.at(-1), { ids: [], done: true, finish_reason: "length" });
  });

  for (const format of ["protobuf", "msgpack-delta"] as const) {
    test(`${format} carries the same frames`, async () => {
      const reference = await collect(
        await complete({ max_tokens: 24, stream_format: "msgpack" }),
        "msgpack",
      );
      const frames = await collect(
        await complete({ max_tokens: 24, stream_format: format }),
        format,
      );
      assert.deepEqual(frames, reference);
    });
  }

  test("works on the codec endpoint", async () => {
    const body = encode({
      prompt_ids: LOOP_PROMPT,
      max_tokens: 24,
      temperature: 0,
      tool_watcher: WATCHER,
    });
    const response = await fetch(`${server.baseUrl}/v1/completions/codec`, {
      method: "POST",
      headers: { "Content-Type": "application/x-msgpack" },
      body,
    });
    const reference = await collect(
      await complete({ max_tokens: 24, stream_format: "msgpack" }),
      "msgpack",
    );
    assert.deepEqual(await collect(response, "msgpack"), reference);
  });

  test("works on chat completions", async () => {
    const response = await postJson(`${server.baseUrl}/v1/chat/completions`, {
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 10,
      temperature: 0,
      stream_format: "protobuf",
      tool_watcher: WATCHER,
    });
    const frames = await collect(response, "protobuf");
    assert.deepEqual(frames[0], {
      ids: [],
      done: false,
      tool_calls: [{ ...LOOKUP_CALL, id: "tc_00000001" }],
    });
    assert.deepEqual(
      frames.flatMap((frame) => frame.ids),
      AFTER_TOOL_CALL,
    );
  });

  test("a stop string after a region ends the stream", async () => {
    const frames = await collect(
      await complete({ max_tokens: 40, stop: [" Done"], stream_format: "msgpack" }),
      "msgpack",
    );
    assert.deepEqual(frames, [
      { ids: [], done: false, tool_calls: [{ ...LOOKUP_CALL, id: "tc_00000001" }] },
      { ids: [], done: true, finish_reason: "stop" },
    ]);
  });

  test("a stop string inside a region releases it", async () => {
    const frames = await collect(
      await complete({ max_tokens: 40, stop: ["lookup"], stream_format: "msgpack" }),
      "msgpack",
    );
    assert.deepEqual(frames, [
      { ids: [TOOL_CALL_START, ...TOOL_CALL_BODY.slice(0, 4)], done: true, finish_reason: "stop" },
    ]);
  });

  test("JSON output is unchanged without the watcher", async () => {
    const response = await postJson(`${server.baseUrl}/v1/completions`, {
      prompt: LOOP_PROMPT,
      temperature: 0,
      max_tokens: 10,
    });
    const body = (await response.json()) as { choices: Array<{ text: string }> };
    assert.equal(body.choices[0]!.text, '{"name": "lookup"} Done.');
  });
});
