import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { decodeStream } from "../src/protocol/decode-stream.js";
import type { CodecFrame } from "../src/protocol/frame.js";
import { postJson, readSseData } from "./helpers/http.js";
import { addDemoModel } from "./helpers/registry-models.js";
import { startTestSupervisor, type TestSupervisor } from "./helpers/test-supervisor.js";

const PROMPT = { prompt: "Once upon a time", max_tokens: 16, temperature: 0, ignore_eos: true };

/** Result of one streamed response, reduced to what must be identical per model. */
interface Outcome {
  kind: "ok" | "retry_later" | "failed";
  detail: string;
  /** Token IDs (msgpack) or text (SSE), to compare with the reference of each model. */
  content?: string;
  model?: string;
}

/** Sends one request; returns the response, or the outcome when it did not start streaming. */
async function startStream(
  baseUrl: string,
  body: Record<string, unknown>,
): Promise<Response | Outcome> {
  let response: Response;
  try {
    response = await postJson(`${baseUrl}/v1/completions`, { ...PROMPT, ...body });
  } catch (error) {
    return { kind: "failed", detail: `request failed: ${String(error)}` };
  }
  if (response.status === 503 && response.headers.get("retry-after") !== null) {
    await response.arrayBuffer();
    return { kind: "retry_later", detail: "503" };
  }
  if (response.status !== 200)
    return { kind: "failed", detail: `status ${response.status}: ${await response.text()}` };
  return response;
}

async function streamMsgpack(baseUrl: string): Promise<Outcome> {
  const response = await startStream(baseUrl, { stream_format: "msgpack" });
  if (!(response instanceof Response)) return response;
  const frames: CodecFrame[] = [];
  try {
    for await (const frame of decodeStream(response.body!, "msgpack")) frames.push(frame);
  } catch (error) {
    return { kind: "failed", detail: `stream broken: ${String(error)}` };
  }
  const last = frames.at(-1)!;
  if (last.finish_reason !== "length")
    return { kind: "failed", detail: `finish_reason ${last.finish_reason}` };
  return { kind: "ok", detail: "", content: frames.flatMap((frame) => frame.ids).join(",") };
}

async function streamSse(baseUrl: string): Promise<Outcome> {
  const response = await startStream(baseUrl, { stream: true });
  if (!(response instanceof Response)) return response;
  let events: string[];
  try {
    events = await readSseData(response);
  } catch (error) {
    return { kind: "failed", detail: `stream broken: ${String(error)}` };
  }
  if (events.at(-1) !== "[DONE]") return { kind: "failed", detail: "no [DONE]" };
  const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
  if (chunks.some((chunk) => chunk.error !== undefined))
    return { kind: "failed", detail: "error event" };
  const models = new Set(chunks.map((chunk) => chunk.model as string));
  if (models.size !== 1)
    return { kind: "failed", detail: `chunks from several models: ${[...models]}` };
  const finish = chunks.at(-1).choices[0].finish_reason;
  if (finish !== "length") return { kind: "failed", detail: `finish_reason ${finish}` };
  return {
    kind: "ok",
    detail: "",
    content: chunks.map((chunk) => chunk.choices[0].text).join(""),
    model: [...models][0],
  };
}

async function load(server: TestSupervisor, name: string, mode: string) {
  const response = await postJson(`${server.baseUrl}/admin/load`, { name, mode });
  const body = (await response.json()) as any;
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

/** Polls `/admin/status` until `done` settles, and returns every status seen. */
async function statusesUntil(server: TestSupervisor, done: Promise<unknown>): Promise<any[]> {
  let settled = false;
  const finished = done.finally(() => {
    settled = true;
  });
  const statuses: any[] = [];
  while (!settled) {
    statuses.push(await (await fetch(`${server.baseUrl}/admin/status`)).json());
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await finished;
  return statuses;
}

/**
 * Runs eight clients (four SSE, four msgpack) that stream completions without pause while the
 * model is swapped A → B → A → B, and checks every response.
 */
async function swapUnderLoad(mode: "restart" | "overlap"): Promise<void> {
  const server = await startTestSupervisor(
    { initialModel: "model-a", swapMode: mode },
    undefined,
    async (modelsDir) => {
      await addDemoModel(modelsDir, "model-a", 42);
      await addDemoModel(modelsDir, "model-b", 43);
    },
  );
  try {
    await server.supervisor.initialLoad;

    // Reference outputs of each model, taken while nothing else runs.
    const referenceA = {
      ids: (await streamMsgpack(server.baseUrl)).content,
      text: (await streamSse(server.baseUrl)).content,
    };
    const firstSwap = load(server, "model-b", mode);
    const statuses = await statusesUntil(server, firstSwap);
    if (mode === "overlap") {
      // While the new engine loads, the old one serves and status names both.
      assert.ok(
        statuses.some(
          (status) =>
            /model-a\.gguf$/.test(status.current_model) &&
            /model-b\.gguf$/.test(status.loading?.model ?? ""),
        ),
        "status must show the engine loading beside the serving one",
      );
    }
    const referenceB = {
      ids: (await streamMsgpack(server.baseUrl)).content,
      text: (await streamSse(server.baseUrl)).content,
    };
    await load(server, "model-a", mode);
    assert.notEqual(
      referenceA.ids,
      referenceB.ids,
      "the two models must differ for this test to mean anything",
    );

    let swapping = true;
    const outcomes: Outcome[] = [];
    const clients = Array.from({ length: 8 }, async (_, index) => {
      while (swapping)
        outcomes.push(
          await (index % 2 === 0 ? streamSse(server.baseUrl) : streamMsgpack(server.baseUrl)),
        );
    });

    for (const name of ["model-b", "model-a", "model-b"]) await load(server, name, mode);
    swapping = false;
    await Promise.all(clients);

    const failed = outcomes.filter((outcome) => outcome.kind === "failed");
    assert.deepEqual(failed, [], "no request may fail, reset or be cut short");
    // The hold queue (64) is larger than the number of clients, so nothing may be turned away.
    assert.equal(outcomes.filter((outcome) => outcome.kind === "retry_later").length, 0);

    const ok = outcomes.filter((outcome) => outcome.kind === "ok");
    assert.ok(ok.length >= 16, `only ${ok.length} requests completed during the swaps`);
    for (const outcome of ok) {
      const candidates = [referenceA.ids, referenceA.text, referenceB.ids, referenceB.text];
      assert.ok(
        candidates.includes(outcome.content),
        `a response mixes models or is wrong: ${outcome.content}`,
      );
    }
    const fromB = ok.filter(
      (outcome) => outcome.content === referenceB.ids || outcome.content === referenceB.text,
    );
    assert.ok(fromB.length > 0, "some responses must come from model B");

    const status = (await (await fetch(`${server.baseUrl}/admin/status`)).json()) as any;
    assert.equal(status.state, "ready");
    assert.match(status.current_model, /model-b\.gguf$/);
  } finally {
    await server.close();
  }
}

describe("swap under load", () => {
  test("restart mode loses no request", () => swapUnderLoad("restart"));
  test("overlap mode loses no request", () => swapUnderLoad("overlap"));
});
