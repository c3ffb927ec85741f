import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import {
  DEFAULT_REGION_CAP,
  isCodecError,
  ToolWatcher,
  ToolWatcherError,
  validateTokenizerMap,
} from "../src/protocol/index.js";
import type { TokenizerMap, ToolWatcherEvent } from "../src/protocol/index.js";
import { readFixture } from "./helpers/protocol-tokenizer-maps.js";

interface FixtureEvent {
  kind: string;
  ids: number[];
  finish_reason?: string | null;
}

interface ContractFile {
  start_id: number;
  end_id: number;
  cases: {
    name: string;
    region_cap: number | null;
    feeds: number[][];
    end: { finish_reason: string | null } | null;
    events: FixtureEvent[];
  }[];
}

let contract: ContractFile;
let map: TokenizerMap;

before(async () => {
  contract = await readFixture<ContractFile>("codec/tool-watcher-events.json");
  map = validateTokenizerMap({
    id: "test/tools",
    version: "2",
    vocab_size: 100,
    tokens: { "0": "a" },
    special_tokens: { "<tool_call>": contract.start_id, "</tool_call>": contract.end_id },
    tool_calling: { convention: "qwen25", markers: { start: "<tool_call>", end: "</tool_call>" } },
  });
});

/** Converts an event to the fixture's spelling (`finish_reason`). */
function toFixtureEvent(event: ToolWatcherEvent): FixtureEvent {
  return event.kind === "truncated"
    ? { kind: event.kind, ids: event.ids, finish_reason: event.finishReason }
    : { kind: event.kind, ids: event.ids };
}

describe("ToolWatcher event contract", () => {
  it("reproduces every fixture case", () => {
    assert.equal(contract.cases.length, 15);
    for (const testCase of contract.cases) {
      const watcher = new ToolWatcher(
        map,
        "<tool_call>",
        "</tool_call>",
        testCase.region_cap ?? undefined,
      );
      const events: ToolWatcherEvent[] = [];
      for (const feed of testCase.feeds) {
        events.push(...watcher.feed(feed));
      }
      if (testCase.end !== null) {
        events.push(...watcher.end(testCase.end.finish_reason));
      }
      assert.deepEqual(events.map(toFixtureEvent), testCase.events, testCase.name);
      assert.equal(watcher.inside, false, `${testCase.name} leaves no open region after end`);
    }
  });
});

describe("ToolWatcher", () => {
  it("resolves markers from tool_calling", () => {
    const watcher = ToolWatcher.fromMap(map);
    assert.equal(watcher.startId, 90);
    assert.equal(watcher.endId, 91);
    assert.equal(watcher.regionCap, DEFAULT_REGION_CAP);
  });

  it("uses the default cap for zero or negative", () => {
    assert.equal(
      new ToolWatcher(map, "<tool_call>", "</tool_call>", 0).regionCap,
      DEFAULT_REGION_CAP,
    );
    assert.equal(
      new ToolWatcher(map, "<tool_call>", "</tool_call>", -5).regionCap,
      DEFAULT_REGION_CAP,
    );
  });

  it("returns fresh arrays", () => {
    const watcher = new ToolWatcher(map, "<tool_call>", "</tool_call>");
    const input = [1, 2];
    const [passthrough] = watcher.feed(input);
    assert.notEqual(passthrough?.ids, input);

    watcher.feed([90, 5]);
    const [truncated] = watcher.end("length");
    truncated?.ids.push(99);
    watcher.feed([90, 5]);
    assert.deepEqual(watcher.end(null)[0]?.ids, [5]);
  });

  it("keeps an open region across feeds until reset", () => {
    const watcher = new ToolWatcher(map, "<tool_call>", "</tool_call>");
    watcher.feed([90, 1]);
    assert.equal(watcher.inside, true);
    watcher.reset();
    assert.equal(watcher.inside, false);
    assert.deepEqual(watcher.feed([2, 91]), [{ kind: "passthrough", ids: [2, 91] }]);
  });

  it("rejects a missing marker", () => {
    assert.throws(
      () => new ToolWatcher(map, "<tool_call>", "<|eom_id|>"),
      (error: unknown) =>
        error instanceof ToolWatcherError &&
        isCodecError(error, "CODEC_ERR_TOOL_WATCHER_MARKER_MISSING") &&
        error.marker === "<|eom_id|>",
    );
  });

  it("rejects a map without tool_calling", () => {
    const bare: TokenizerMap = { ...map };
    delete bare.tool_calling;
    assert.throws(() => ToolWatcher.fromMap(bare), ToolWatcherError);
  });
});
