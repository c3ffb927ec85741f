import assert from "node:assert/strict";
import { test } from "node:test";

import {
  BACKEND_TRANSITIONS,
  BackendStateMachine,
  canTransition,
  IllegalTransitionError,
  type BackendState,
} from "../src/supervisor/backend-state.js";

const STATES = Object.keys(BACKEND_TRANSITIONS) as BackendState[];

test("every illegal transition is rejected", () => {
  for (const from of STATES) {
    for (const to of STATES) {
      const allowed = BACKEND_TRANSITIONS[from].includes(to);
      assert.equal(canTransition(from, to), allowed, `${from} -> ${to}`);
    }
  }
});

test("machine starts stopped", () => {
  assert.equal(new BackendStateMachine().state, "stopped");
});

test("machine follows a normal life", () => {
  const machine = new BackendStateMachine();
  const seen: string[] = [];
  machine.onTransition((transition) =>
    seen.push(`${transition.from}>${transition.to}:${transition.reason}`),
  );
  machine.transition("starting", "load");
  machine.transition("ready", "healthy");
  machine.transition("stopping", "stop");
  machine.transition("stopped", "exited");
  assert.deepEqual(seen, [
    "stopped>starting:load",
    "starting>ready:healthy",
    "ready>stopping:stop",
    "stopping>stopped:exited",
  ]);
});

test("illegal transition throws and keeps state", () => {
  const machine = new BackendStateMachine();
  assert.throws(
    () => machine.transition("ready", "skip"),
    (error: unknown) =>
      error instanceof IllegalTransitionError &&
      error.code === "CODEC_ERR_BACKEND_ILLEGAL_TRANSITION" &&
      error.from === "stopped" &&
      error.to === "ready",
  );
  assert.equal(machine.state, "stopped");
});

test("listener can unsubscribe", () => {
  const machine = new BackendStateMachine();
  let calls = 0;
  const unsubscribe = machine.onTransition(() => calls++);
  machine.transition("starting", "a");
  unsubscribe();
  machine.transition("failed", "b");
  assert.equal(calls, 1);
});
