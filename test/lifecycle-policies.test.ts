import assert from "node:assert/strict";
import { describe, mock, test } from "node:test";

import { HttpError } from "../src/http/errors.js";
import { HoldGate } from "../src/supervisor/lifecycle/hold-gate.js";
import {
  decideRestart,
  DEFAULT_RESTART_POLICY,
} from "../src/supervisor/lifecycle/restart-policy.js";
import {
  executeSwap,
  planSwap,
  type SwapEffects,
  type SwapStep,
} from "../src/supervisor/lifecycle/swap-plan.js";

describe("restart policy", () => {
  const policy = {
    ...DEFAULT_RESTART_POLICY,
    baseDelayMs: 1000,
    maxDelayMs: 8000,
    maxAttempts: 4,
    stableAfterMs: 60_000,
  };

  test("delays double up to the maximum", () => {
    const delays = [0, 1, 2, 3].map((previous) => decideRestart(previous, 0, policy));
    assert.deepEqual(delays, [
      { action: "restart", attempt: 1, delayMs: 1000 },
      { action: "restart", attempt: 2, delayMs: 2000 },
      { action: "restart", attempt: 3, delayMs: 4000 },
      { action: "restart", attempt: 4, delayMs: 8000 },
    ]);
  });

  test("gives up after the maximum attempts", () => {
    assert.deepEqual(decideRestart(4, 0, policy), { action: "give_up", attempts: 4 });
  });

  test("stable backend starts a new series", () => {
    assert.deepEqual(decideRestart(4, 60_000, policy), {
      action: "restart",
      attempt: 1,
      delayMs: 1000,
    });
  });

  test("delay never exceeds the maximum", () => {
    const wide = { ...policy, maxAttempts: 50 };
    const decision = decideRestart(40, 0, wide);
    assert.equal(decision.action, "restart");
    assert.equal(decision.action === "restart" && decision.delayMs, 8000);
  });
});

describe("swap plan", () => {
  test("restart mode holds, drains, then starts", () => {
    assert.deepEqual(planSwap("restart", true), {
      steps: [
        "hold_requests",
        "drain_current",
        "stop_current",
        "start_candidate_same_port",
        "promote_candidate",
        "release_requests",
      ],
      onCandidateFailure: ["stop_candidate", "restart_previous", "release_requests"],
    });
  });

  test("overlap mode never holds", () => {
    const plan = planSwap("overlap", true);
    assert.deepEqual(plan.steps, [
      "start_candidate_spare_port",
      "promote_candidate",
      "drain_current",
      "stop_current",
    ]);
    assert.deepEqual(plan.onCandidateFailure, ["stop_candidate"]);
    assert.ok(!plan.steps.includes("hold_requests"));
  });

  test("first load has nothing to restore", () => {
    for (const mode of ["restart", "overlap"] as const) {
      const plan = planSwap(mode, false);
      assert.deepEqual(plan.steps, [
        "hold_requests",
        "start_candidate_same_port",
        "promote_candidate",
        "release_requests",
      ]);
      assert.deepEqual(plan.onCandidateFailure, ["reject_held_requests", "release_requests"]);
    }
  });
});

/** Effects that record each step and fail the steps named in `failing`. */
function recordingEffects(failing: SwapStep[] = []): { effects: SwapEffects; steps: SwapStep[] } {
  const steps: SwapStep[] = [];
  const effect = (step: SwapStep) => async () => {
    steps.push(step);
    if (failing.includes(step)) throw new Error(`${step} failed`);
  };
  const names: SwapStep[] = [
    "hold_requests",
    "drain_current",
    "stop_current",
    "start_candidate_same_port",
    "start_candidate_spare_port",
    "promote_candidate",
    "release_requests",
    "stop_candidate",
    "restart_previous",
    "reject_held_requests",
  ];
  return {
    effects: Object.fromEntries(names.map((name) => [name, effect(name)])) as SwapEffects,
    steps,
  };
}

describe("swap execution", () => {
  test("successful swap runs every step", async () => {
    const { effects, steps } = recordingEffects();
    const outcome = await executeSwap(planSwap("restart", true), effects);
    assert.deepEqual(outcome, { kind: "swapped" });
    assert.deepEqual(steps, planSwap("restart", true).steps);
  });

  test("failed candidate restores the previous model", async () => {
    const { effects, steps } = recordingEffects(["start_candidate_same_port"]);
    const outcome = await executeSwap(planSwap("restart", true), effects);
    assert.equal(outcome.kind, "rolled_back");
    assert.deepEqual(steps, [
      "hold_requests",
      "drain_current",
      "stop_current",
      "start_candidate_same_port",
      "stop_candidate",
      "restart_previous",
      "release_requests",
    ]);
  });

  test("failed rollback still releases held requests", async () => {
    const { effects, steps } = recordingEffects(["start_candidate_same_port", "restart_previous"]);
    const outcome = await executeSwap(planSwap("restart", true), effects);
    assert.equal(outcome.kind, "rollback_failed");
    assert.equal(steps.at(-1), "release_requests");
  });

  test("overlap failure only stops the candidate", async () => {
    const { effects, steps } = recordingEffects(["start_candidate_spare_port"]);
    const outcome = await executeSwap(planSwap("overlap", true), effects);
    assert.equal(outcome.kind, "rolled_back");
    assert.deepEqual(steps, ["start_candidate_spare_port", "stop_candidate"]);
  });

  test("failure outside a start propagates", async () => {
    const { effects } = recordingEffects(["drain_current"]);
    await assert.rejects(executeSwap(planSwap("restart", true), effects), /drain_current failed/);
  });
});

describe("hold gate", () => {
  const signal = () => new AbortController().signal;

  test("open gate lets requests through", async () => {
    const gate = new HoldGate({ maxHeld: 1, maxWaitMs: 1000 });
    await gate.pass(signal());
    assert.equal(gate.waiting, 0);
  });

  test("closed gate holds until opened", async () => {
    const gate = new HoldGate({ maxHeld: 4, maxWaitMs: 10_000 });
    gate.close("swapping");
    const order: number[] = [];
    const held = [1, 2, 3].map((n) => gate.pass(signal()).then(() => order.push(n)));
    assert.equal(gate.waiting, 3);
    gate.open();
    await Promise.all(held);
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(gate.statistics.released, 3);
  });

  test("full queue rejects with retry-after", async () => {
    const gate = new HoldGate({ maxHeld: 1, maxWaitMs: 10_000 });
    gate.close("swapping");
    const first = gate.pass(signal());
    await assert.rejects(gate.pass(signal()), (error: unknown) => {
      assert.ok(HttpError.isHttpError(error));
      assert.equal(error.statusCode, 503);
      assert.equal(error.headers["Retry-After"], "2");
      assert.match(error.message, /swapping; the hold queue is full/);
      return true;
    });
    gate.open();
    await first;
    assert.equal(gate.statistics.rejected, 1);
  });

  test("long wait is rejected", async () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      const gate = new HoldGate({ maxHeld: 4, maxWaitMs: 5000 });
      gate.close("restarting");
      const waiting = gate.pass(signal());
      mock.timers.tick(5000);
      await assert.rejects(waiting, /waited 5 s/);
      assert.equal(gate.waiting, 0);
    } finally {
      mock.timers.reset();
    }
  });

  test("aborted request leaves the queue", async () => {
    const gate = new HoldGate({ maxHeld: 4, maxWaitMs: 10_000 });
    gate.close("swapping");
    const controller = new AbortController();
    const waiting = gate.pass(controller.signal);
    controller.abort(new Error("client left"));
    await assert.rejects(waiting, /client left/);
    assert.equal(gate.waiting, 0);
  });

  test("reject all fails held requests", async () => {
    const gate = new HoldGate({ maxHeld: 4, maxWaitMs: 10_000 });
    gate.close("swapping");
    const waiting = gate.pass(signal());
    gate.rejectAll(
      new HttpError({ code: "CODEC_ERR_PROXY_NO_BACKEND", status: 503 }, "load failed"),
    );
    await assert.rejects(waiting, /load failed/);
  });
});
