import assert from "node:assert/strict";
import { test } from "node:test";

import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";

import { SequencePool } from "../src/engine/sequence-pool.js";
import { HttpError } from "../src/http/errors.js";

/** Creates a stand-in for a llama.cpp context, since the pool only counts and clears sequences. */
function fakeContext(sequences: number): { context: LlamaContext; cleared: number[] } {
  const cleared: number[] = [];
  let next = 0;
  const context = {
    totalSequences: sequences,
    getSequence() {
      const id = next++;
      return {
        id,
        clearHistory: async () => void cleared.push(id),
      } as unknown as LlamaContextSequence;
    },
  } as unknown as LlamaContext;
  return { context, cleared };
}

const signal = () => new AbortController().signal;

test("acquire hands out each sequence once", async () => {
  const pool = new SequencePool(fakeContext(2).context, 4);
  const first = await pool.acquire(signal());
  const second = await pool.acquire(signal());
  assert.notEqual(first, second);
  assert.equal(pool.idle, 0);
});

test("waiters are served in order after release", async () => {
  const { context, cleared } = fakeContext(1);
  const pool = new SequencePool(context, 4);
  const held = await pool.acquire(signal());
  const order: string[] = [];
  const a = pool.acquire(signal()).then((sequence) => (order.push("a"), sequence));
  const b = pool.acquire(signal()).then((sequence) => (order.push("b"), sequence));
  assert.equal(pool.queued, 2);

  await pool.release(held);
  await pool.release(await a);
  await b;
  assert.deepEqual(order, ["a", "b"]);
  assert.equal(cleared.length, 2);
});

test("full queue fails with 503 and retry-after", async () => {
  const pool = new SequencePool(fakeContext(1).context, 1);
  await pool.acquire(signal());
  void pool.acquire(signal());
  await assert.rejects(pool.acquire(signal()), (error: unknown) => {
    assert.ok(HttpError.isHttpError(error));
    assert.equal(error.statusCode, 503);
    assert.equal(error.code, "CODEC_ERR_ENGINE_BUSY");
    assert.equal(error.headers["Retry-After"], "1");
    return true;
  });
});

test("aborted waiter leaves the queue", async () => {
  const pool = new SequencePool(fakeContext(1).context, 4);
  const held = await pool.acquire(signal());
  const controller = new AbortController();
  const waiting = pool.acquire(controller.signal);
  controller.abort(new Error("gone"));
  await assert.rejects(waiting, /gone/);
  assert.equal(pool.queued, 0);
  await pool.release(held);
  assert.equal(pool.idle, 1);
});

test("already aborted signal is rejected at once", async () => {
  const pool = new SequencePool(fakeContext(1).context, 4);
  const controller = new AbortController();
  controller.abort(new Error("early"));
  await assert.rejects(pool.acquire(controller.signal), /early/);
  assert.equal(pool.idle, 1);
});
