import assert from "node:assert/strict";
import { test } from "node:test";

import { decodeStream } from "../src/protocol/decode-stream.js";
import type { CodecFrame } from "../src/protocol/frame.js";
import { postJson } from "./helpers/http.js";
import { startTestEngine } from "./helpers/test-engine.js";

test("stopping engine ends streams cleanly", async () => {
  const server = await startTestEngine({ contextSize: 4096 });
  const response = await postJson(`${server.baseUrl}/v1/completions`, {
    prompt: "x",
    max_tokens: 4000,
    ignore_eos: true,
    temperature: 0,
    stream_format: "msgpack",
  });
  const frames: CodecFrame[] = [];
  let closing: Promise<void> | undefined;
  for await (const frame of decodeStream(response.body!, "msgpack")) {
    frames.push(frame);
    // Stop the engine while it streams: the stream must end with a terminal frame, at once.
    if (frames.length === 1) closing = server.close();
  }
  await closing;
  assert.deepEqual(frames.at(-1), { ids: [], done: true, finish_reason: "abort" });
  assert.ok(frames.flatMap((frame) => frame.ids).length < 4000);
});
