import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { postJson } from "./helpers/http.js";
import { startTestEngine, type TestEngine } from "./helpers/test-engine.js";

let server: TestEngine;

before(async () => {
  server = await startTestEngine({ contextSize: 256 });
});

after(() => server.close());

interface ErrorCase {
  name: string;
  path?: string;
  body: unknown;
  status?: number;
  code: string;
  param: string | null;
  message?: RegExp;
}

const valid = { prompt: "Hello", max_tokens: 2, temperature: 0 };
const chat = { messages: [{ role: "user", content: "Hi" }], max_tokens: 2 };

const cases: ErrorCase[] = [
  { name: "invalid json", body: "{not json", code: "CODEC_ERR_REQUEST_INVALID_JSON", param: null },
  { name: "empty body", body: "", code: "CODEC_ERR_REQUEST_INVALID_JSON", param: null },
  { name: "array body", body: [1, 2], code: "CODEC_ERR_REQUEST_INVALID_BODY", param: null },
  {
    name: "missing prompt",
    body: { max_tokens: 2 },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "prompt",
  },
  {
    name: "negative max_tokens",
    body: { ...valid, max_tokens: -1 },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "max_tokens",
  },
  {
    name: "fractional max_tokens",
    body: { ...valid, max_tokens: 1.5 },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "max_tokens",
  },
  {
    name: "temperature not a number",
    body: { ...valid, temperature: "hot" },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "temperature",
  },
  {
    name: "negative temperature",
    body: { ...valid, temperature: -0.5 },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "temperature",
  },
  {
    name: "top_p zero",
    body: { ...valid, top_p: 0 },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "top_p",
  },
  {
    name: "unknown stream_format",
    body: { ...valid, stream_format: "xml" },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "stream_format",
  },
  {
    name: "prompt id beyond vocabulary",
    body: { ...valid, prompt: [1, 2, 151669] },
    code: "CODEC_ERR_REQUEST_TOKEN_OUT_OF_VOCAB",
    param: "prompt",
    message: /151669/,
  },
  {
    name: "negative prompt id",
    body: { ...valid, prompt: [1, -2] },
    code: "CODEC_ERR_REQUEST_TOKEN_OUT_OF_VOCAB",
    param: "prompt",
  },
  {
    name: "fractional prompt id",
    body: { ...valid, prompt: [1, 2.5] },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "prompt",
  },
  {
    name: "empty prompt array",
    body: { ...valid, prompt: [] },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "prompt",
  },
  {
    name: "empty prompt text",
    body: { ...valid, prompt: "" },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "prompt",
  },
  {
    name: "prompt longer than context",
    body: { ...valid, prompt: Array.from({ length: 300 }, () => 9707) },
    code: "CODEC_ERR_REQUEST_CONTEXT_LENGTH",
    param: "prompt",
    message: /300 tokens/,
  },
  {
    name: "completion beyond context",
    body: { ...valid, max_tokens: 1000 },
    code: "CODEC_ERR_REQUEST_CONTEXT_LENGTH",
    param: "max_tokens",
  },
  {
    name: "n above one with binary format",
    body: { ...valid, n: 2, stream_format: "msgpack" },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "n",
  },
  {
    name: "n above one with json",
    body: { ...valid, n: 2 },
    code: "CODEC_ERR_REQUEST_UNSUPPORTED_PARAM",
    param: "n",
  },
  {
    name: "logprobs requested",
    body: { ...valid, logprobs: 2 },
    code: "CODEC_ERR_REQUEST_UNSUPPORTED_PARAM",
    param: "logprobs",
  },
  {
    name: "echo requested",
    body: { ...valid, echo: true },
    code: "CODEC_ERR_REQUEST_UNSUPPORTED_PARAM",
    param: "echo",
  },
  {
    name: "stream_options without stream",
    body: { ...valid, stream_options: { include_usage: true } },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "stream_options",
  },
  {
    name: "empty stop string",
    body: { ...valid, stop: [""] },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "stop.0",
  },
  {
    name: "logit_bias outside vocabulary",
    body: { ...valid, logit_bias: { "999999": 5 } },
    code: "CODEC_ERR_REQUEST_TOKEN_OUT_OF_VOCAB",
    param: "logit_bias",
  },
  {
    name: "logit_bias key not an id",
    body: { ...valid, logit_bias: { hello: 5 } },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "logit_bias.hello",
  },
  {
    name: "batched prompts",
    body: { ...valid, prompt: ["a", "b"] },
    code: "CODEC_ERR_REQUEST_UNSUPPORTED_PARAM",
    param: "prompt",
  },
  {
    name: "chat without messages",
    path: "/v1/chat/completions",
    body: { max_tokens: 2 },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "messages",
  },
  {
    name: "chat empty messages",
    path: "/v1/chat/completions",
    body: { ...chat, messages: [] },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "messages",
  },
  {
    name: "chat unknown role",
    path: "/v1/chat/completions",
    body: { ...chat, messages: [{ role: "wizard", content: "Hi" }] },
    code: "CODEC_ERR_REQUEST_INVALID_PARAM",
    param: "messages.0.role",
  },
  {
    name: "chat image part",
    path: "/v1/chat/completions",
    body: {
      ...chat,
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }],
    },
    code: "CODEC_ERR_REQUEST_UNSUPPORTED_PARAM",
    param: "messages.0.content.0",
  },
  {
    name: "chat json response format",
    path: "/v1/chat/completions",
    body: { ...chat, response_format: { type: "json_object" } },
    code: "CODEC_ERR_REQUEST_UNSUPPORTED_PARAM",
    param: "response_format",
  },
];

for (const errorCase of cases) {
  test(`rejects ${errorCase.name}`, async () => {
    const response = await postJson(
      `${server.baseUrl}${errorCase.path ?? "/v1/completions"}`,
      errorCase.body,
    );
    assert.equal(response.status, errorCase.status ?? 400);
    assert.match(response.headers.get("content-type") ?? "", /application\/json/);
    const body = (await response.json()) as { error: Record<string, unknown> };
    assert.equal(body.error.code, errorCase.code);
    assert.equal(body.error.param, errorCase.param);
    assert.equal(body.error.type, "invalid_request_error");
    assert.equal(body.error.source, "engine");
    assert.equal(typeof body.error.message, "string");
    if (errorCase.message !== undefined)
      assert.match(body.error.message as string, errorCase.message);
  });
}

test("unknown path is a 404 envelope", async () => {
  const response = await fetch(`${server.baseUrl}/v1/nothing-here`);
  assert.equal(response.status, 404);
  const body = (await response.json()) as { error: Record<string, unknown> };
  assert.equal(body.error.code, "CODEC_ERR_ROUTE_NOT_FOUND");
  assert.equal(body.error.type, "not_found_error");
});

test("wrong method is a 405 envelope", async () => {
  const response = await fetch(`${server.baseUrl}/v1/completions`);
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "POST");
  const body = (await response.json()) as { error: Record<string, unknown> };
  assert.equal(body.error.code, "CODEC_ERR_ROUTE_METHOD_NOT_ALLOWED");
  assert.equal(body.error.type, "method_not_allowed_error");
});

test("form-encoded content type is parsed as json", async () => {
  const response = await fetch(`${server.baseUrl}/v1/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: JSON.stringify(valid),
  });
  assert.equal(response.status, 200);
});

test("server keeps serving after bad input", async () => {
  const response = await postJson(`${server.baseUrl}/v1/completions`, valid);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { usage: { completion_tokens: number } };
  assert.equal(body.usage.completion_tokens, 2);
});
