import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { EventBus } from "../src/supervisor/events/event-bus.js";
import { JobStore } from "../src/supervisor/jobs/job-store.js";
import {
  JOB_ID_PATTERN,
  type JobEventType,
  type JobSnapshot,
} from "../src/supervisor/jobs/job-types.js";
import { TransferProgress } from "../src/supervisor/jobs/transfer-progress.js";
import { ERRORS, HttpError } from "../src/http/errors.js";
import { createLogger } from "../src/http/logger.js";
import { startRegistryHarness, type RegistryHarness } from "./helpers/registry-harness.js";
import { subscribe } from "./helpers/sse-client.js";

interface TestEvents {
  "thing.happened": { id: string; n: number };
  "other.thing": { id: string };
}

describe("event bus", () => {
  test("delivers in order with ids", () => {
    const bus = new EventBus<TestEvents>();
    const seen: Array<[number, string]> = [];
    bus.subscribe((event) => seen.push([event.id, event.type]));
    bus.publish("thing.happened", { id: "a", n: 1 });
    bus.publish("other.thing", { id: "b" });
    assert.deepEqual(seen, [
      [1, "thing.happened"],
      [2, "other.thing"],
    ]);
  });

  test("throwing listener does not stop others", () => {
    const failures: unknown[] = [];
    const bus = new EventBus<TestEvents>({ onListenerError: (error) => failures.push(error) });
    let delivered = 0;
    bus.subscribe(() => {
      throw new Error("boom");
    });
    bus.subscribe(() => delivered++);
    bus.publish("other.thing", { id: "x" });
    assert.equal(delivered, 1);
    assert.equal(failures.length, 1);
  });

  test("unsubscribe stops delivery", () => {
    const bus = new EventBus<TestEvents>();
    let delivered = 0;
    const unsubscribe = bus.subscribe(() => delivered++);
    unsubscribe();
    bus.publish("other.thing", { id: "x" });
    assert.equal(delivered, 0);
    assert.equal(bus.listenerCount, 0);
  });

  test("history keeps the newest events", () => {
    const bus = new EventBus<TestEvents>({ historyLimit: 3 });
    for (let n = 0; n < 5; n++) bus.publish("thing.happened", { id: "a", n });
    assert.deepEqual(
      bus.eventsAfter(0).map((event) => event.id),
      [3, 4, 5],
    );
    assert.deepEqual(
      bus.eventsAfter(4).map((event) => event.id),
      [5],
    );
  });
});

describe("job store", () => {
  const log = createLogger("test", "silent");

  function store(published: Array<[JobEventType, JobSnapshot]>, concurrency = 1): JobStore {
    return new JobStore({
      log,
      publish: (type, job) => published.push([type, job]),
      concurrency,
      progressIntervalMs: 0,
    });
  }

  test("runs a job to success", async () => {
    const published: Array<[JobEventType, JobSnapshot]> = [];
    const jobs = store(published);
    const job = jobs.create({
      kind: "test",
      target: "t",
      params: { a: 1 },
      run: async () => ({ ok: true }),
    });
    const finished = await job.finished;
    assert.equal(finished.state, "succeeded");
    assert.deepEqual(finished.result, { ok: true });
    assert.match(finished.id, JOB_ID_PATTERN);
    assert.deepEqual(
      published.map(([type]) => type),
      ["job.queued", "job.started", "job.succeeded"],
    );
  });

  test("failed job keeps its catalogue error", async () => {
    const jobs = store([]);
    const job = jobs.create({
      kind: "test",
      target: "t",
      params: {},
      run: async () => {
        throw new HttpError(ERRORS.registryHubNotFound, "repo not found");
      },
    });
    const finished = await job.finished;
    assert.equal(finished.state, "failed");
    assert.deepEqual(finished.error, {
      code: "CODEC_ERR_REGISTRY_HUB_NOT_FOUND",
      message: "repo not found",
      status: 404,
    });
  });

  test("unknown errors are not exposed", async () => {
    const jobs = store([]);
    const job = jobs.create({
      kind: "test",
      target: "t",
      params: {},
      run: async () => {
        throw new Error("/secret/path exploded");
      },
    });
    const finished = await job.finished;
    assert.equal(finished.error?.status, 500);
    assert.ok(!finished.error?.message.includes("secret"));
  });

  test("queues beyond concurrency and cancels queued jobs", async () => {
    const published: Array<[JobEventType, JobSnapshot]> = [];
    const jobs = store(published, 1);
    let release!: () => void;
    const first = jobs.create({
      kind: "test",
      target: "a",
      params: {},
      run: (context) =>
        new Promise((resolve, reject) => {
          release = () => resolve({});
          context.signal.addEventListener("abort", () => reject(context.signal.reason));
        }),
    });
    const second = jobs.create({ kind: "test", target: "b", params: {}, run: async () => ({}) });
    assert.equal(second.snapshot().state, "queued");
    assert.equal(jobs.findActive("test", "b")?.id, second.id);

    const cancelled = await jobs.cancel(second.id);
    assert.equal(cancelled.state, "cancelled");
    assert.equal(jobs.findActive("test", "b"), undefined);

    release();
    assert.equal((await first.finished).state, "succeeded");
    await assert.rejects(
      jobs.cancel(first.id),
      (error: unknown) =>
        HttpError.isHttpError(error) && error.code === "CODEC_ERR_JOB_ALREADY_FINISHED",
    );
    await assert.rejects(
      jobs.cancel("job-missing"),
      (error: unknown) => HttpError.isHttpError(error) && error.statusCode === 404,
    );
  });

  test("cancel aborts a running job", async () => {
    const jobs = store([]);
    const job = jobs.create({
      kind: "test",
      target: "a",
      params: {},
      run: (context) =>
        new Promise((_resolve, reject) => {
          context.signal.addEventListener("abort", () => reject(context.signal.reason));
        }),
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const snapshot = await jobs.cancel(job.id, "test over");
    assert.equal(snapshot.state, "cancelled");
    assert.ok(snapshot.finished_at !== null);
  });
});

describe("transfer progress", () => {
  test("rate and eta come from recent transfers", () => {
    let now = 0;
    const progress = new TransferProgress(() => now);
    progress.setFiles([
      { path: "a", bytesTotal: 1000, bytesDone: 200 },
      { path: "b", bytesTotal: 1000 },
    ]);
    assert.equal(progress.snapshot().eta_s, null);

    progress.addTransferred(0);
    now = 1000;
    progress.setFileBytes("a", 700);
    progress.addTransferred(500);
    const snapshot = progress.snapshot();
    assert.equal(snapshot.bytes_done, 700);
    assert.equal(snapshot.bytes_total, 2000);
    assert.equal(snapshot.rate_bytes_per_s, 500);
    assert.equal(snapshot.eta_s, 3);
    assert.equal(snapshot.files_done, 0);
  });

  test("resumed bytes do not inflate the rate", () => {
    let now = 0;
    const progress = new TransferProgress(() => now);
    progress.setFiles([{ path: "a", bytesTotal: 1000, bytesDone: 900 }]);
    progress.addTransferred(0);
    now = 2000;
    progress.addTransferred(100);
    progress.setFileBytes("a", 1000);
    progress.setFileState("a", "done");
    const snapshot = progress.snapshot();
    assert.equal(snapshot.rate_bytes_per_s, 50);
    assert.equal(snapshot.eta_s, 0);
    assert.equal(snapshot.files_done, 1);
  });
});

describe("event stream route", () => {
  let harness: RegistryHarness;
  before(async () => {
    harness = await startRegistryHarness();
  });
  after(() => harness.close({ removeModelsDir: true }));

  const job = (id: string): JobSnapshot =>
    ({
      id,
      kind: "test",
      state: "running",
      target: "t",
      params: {},
      progress: {},
      result: null,
      error: null,
    }) as unknown as JobSnapshot;

  test("streams events with ids and keepalives", async () => {
    const stream = await subscribe(`${harness.baseUrl}/admin/events`);
    try {
      harness.events.publish("job.started", job("job-one"));
      const event = await stream.waitFor((received) => received.type === "job.started");
      assert.equal(event.payload.type, "job.started");
      assert.equal(event.payload.data.id, "job-one");
      assert.ok(!Number.isNaN(Date.parse(event.payload.at)));
      await new Promise((resolve) => setTimeout(resolve, 450));
      assert.match(stream.text(), /: keepalive\n\n/);
    } finally {
      stream.close();
    }
  });

  test("filters by type and job id", async () => {
    const byType = await subscribe(`${harness.baseUrl}/admin/events?types=job.failed,job.succ*`);
    const byPrefix = await subscribe(`${harness.baseUrl}/admin/events?types=job.*&job_id=job-b`);
    try {
      harness.events.publish("job.started", job("job-a"));
      harness.events.publish("job.failed", job("job-a"));
      harness.events.publish("job.progress", job("job-b"));
      harness.events.publish("job.succeeded", job("job-b"));
      await byType.waitFor((event) => event.type === "job.failed");
      await byPrefix.waitFor((event) => event.type === "job.succeeded");
      assert.deepEqual(
        byType.events.map((event) => event.type),
        ["job.failed"],
      );
      assert.deepEqual(
        byPrefix.events.map((event) => event.type),
        ["job.progress", "job.succeeded"],
      );
    } finally {
      byType.close();
      byPrefix.close();
    }
  });

  test("replays missed events after Last-Event-ID", async () => {
    const first = harness.events.publish("job.started", job("job-r1"));
    harness.events.publish("job.succeeded", job("job-r1"));
    const stream = await subscribe(`${harness.baseUrl}/admin/events?job_id=job-r1`, {
      "last-event-id": String(first.id - 1),
    });
    try {
      await stream.waitFor((event) => event.type === "job.succeeded");
      assert.deepEqual(
        stream.events.map((event) => Number(event.id)),
        [first.id, first.id + 1],
      );
    } finally {
      stream.close();
    }
  });

  test("streams end when the server closes", async () => {
    const other = await startRegistryHarness();
    const stream = await subscribe(`${other.baseUrl}/admin/events`);
    const startedAt = Date.now();
    // With a 20 s grace, a stream the route did not end would hold the close for 20 s.
    await other.close({ removeModelsDir: true, graceMs: 20_000 });
    assert.ok(Date.now() - startedAt < 10_000, "close waited for the open stream");
    stream.close();
  });
});
