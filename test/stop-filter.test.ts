import assert from "node:assert/strict";
import { test } from "node:test";

import { StopFilter, type Release } from "../src/engine/stop-filter.js";

/** Feeds tokens (id, text) and returns every release plus whether a stop matched. */
function run(
  stops: string[],
  tokens: Array<[number, string]>,
): { releases: Release[]; stopped: boolean; tail: Release } {
  const filter = new StopFilter(stops);
  const releases: Release[] = [];
  for (const [id, text] of tokens) {
    const { release, stopped } = filter.push(id, text);
    releases.push(release);
    if (stopped) return { releases, stopped, tail: { ids: [], text: "" } };
  }
  return { releases, stopped: false, tail: filter.flush() };
}

function joined(releases: Release[]): Release {
  return { ids: releases.flatMap((r) => r.ids), text: releases.map((r) => r.text).join("") };
}

test("no stops releases every token at once", () => {
  const { releases, stopped } = run(
    [],
    [
      [1, "Hel"],
      [2, "lo"],
    ],
  );
  assert.equal(stopped, false);
  assert.deepEqual(releases, [
    { ids: [1], text: "Hel" },
    { ids: [2], text: "lo" },
  ]);
});

test("possible stop prefix is held back", () => {
  const filter = new StopFilter(["END"]);
  assert.deepEqual(filter.push(1, "abcE").release, { ids: [], text: "abc" });
  assert.deepEqual(filter.push(2, "N").release, { ids: [], text: "" });
  assert.deepEqual(filter.push(3, "x").release, { ids: [1, 2, 3], text: "ENx" });
});

test("stop inside one token cuts the text", () => {
  const { releases, stopped } = run(
    ["\n\n"],
    [
      [1, "one"],
      [2, "two\n\nthree"],
    ],
  );
  assert.equal(stopped, true);
  assert.deepEqual(joined(releases), { ids: [1], text: "onetwo" });
});

test("stop across tokens is never streamed", () => {
  const { releases, stopped } = run(
    ["STOP"],
    [
      [1, "aS"],
      [2, "T"],
      [3, "OP"],
      [4, "z"],
    ],
  );
  assert.equal(stopped, true);
  const all = joined(releases);
  assert.equal(all.text, "a");
  assert.ok(!all.text.includes("S"));
  assert.deepEqual(all.ids, []);
});

test("earliest of several stops wins", () => {
  const { releases, stopped } = run(["cd", "b"], [[1, "abcd"]]);
  assert.equal(stopped, true);
  assert.equal(joined(releases).text, "a");
});

test("flush releases held text at the end", () => {
  const { releases, tail } = run(
    ["END"],
    [
      [1, "xE"],
      [2, "N"],
    ],
  );
  assert.equal(joined(releases).text, "x");
  assert.deepEqual(tail, { ids: [1, 2], text: "EN" });
});

test("tokens with empty text keep their order", () => {
  const { releases } = run(
    ["zz"],
    [
      [1, ""],
      [2, "ab"],
      [3, ""],
    ],
  );
  assert.deepEqual(joined(releases).ids, [1, 2, 3]);
});
