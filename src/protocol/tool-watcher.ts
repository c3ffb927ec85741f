import { ToolWatcherError } from "./tokenizer-errors.js";
import type { TokenizerMap } from "./tokenizer-map.js";

/** Region cap used when none is given, or when the given one is 0 or negative. */
export const DEFAULT_REGION_CAP = 65536;

/** An event of {@link ToolWatcher}. Every event carries a fresh `ids` array. */
export type ToolWatcherEvent =
  | {
      /**
       * `passthrough`: IDs outside any region. `region`: the body of a closed region, markers
       * left out. `overflow`: the first `regionCap` body IDs of a region that grew past the cap.
       * `nested_start`: a start marker inside an open region (`ids` is `[startId]`).
       */
      kind: "passthrough" | "region" | "overflow" | "nested_start";
      ids: number[];
    }
  | {
      /** A region still open when the stream ended, with the body IDs buffered so far. */
      kind: "truncated";
      ids: number[];
      finishReason: string | null;
    };

/**
 * Finds tool-call regions in a stream of token IDs by comparing IDs with a start and an end
 * marker token, with no detokenizing. Feed it each frame's IDs in order; it keeps an open region
 * across calls.
 *
 * - Outside a region, the start marker ends the current passthrough run and opens a region. Any
 *   other ID, a stray end marker included, joins the passthrough run.
 * - Inside a region, the end marker emits `region` with the body (unless the region overflowed)
 *   and closes it. A start marker emits `nested_start` and is left out of the body. A body ID
 *   that arrives when the body already contains `regionCap` IDs emits one `overflow` with those
 *   IDs. After that, body IDs are dropped until the end marker.
 * - A passthrough run still going at the end of a `feed` call is emitted then.
 *
 * @example
 * ```ts
 * const watcher = ToolWatcher.fromMap(map);
 * for await (const frame of decodeStream(body, "msgpack")) {
 *   for (const event of watcher.feed(frame.ids)) handle(event);
 *   if (frame.done) for (const event of watcher.end(frame.finish_reason ?? null)) handle(event);
 * }
 * ```
 */
export class ToolWatcher {
  /** ID of the start marker. */
  readonly startId: number;
  /** ID of the end marker. */
  readonly endId: number;
  /** Most body IDs a region keeps. */
  readonly regionCap: number;
  #inside = false;
  #capped = false;
  #body: number[] = [];

  /**
   * Creates a watcher for the markers named `startName` and `endName`, looked up in
   * `map.special_tokens`.
   *
   * @param regionCap - most body IDs per region; 0, a negative number or undefined means {@link DEFAULT_REGION_CAP}
   * @throws {@link ToolWatcherError} when a name is not a key of `map.special_tokens`
   */
  constructor(map: TokenizerMap, startName: string, endName: string, regionCap?: number) {
    this.startId = markerId(map, startName);
    this.endId = markerId(map, endName);
    this.regionCap =
      regionCap === undefined || regionCap <= 0 ? DEFAULT_REGION_CAP : Math.floor(regionCap);
  }

  /**
   * Creates a watcher for the markers the map declares in `tool_calling.markers`.
   *
   * @throws {@link ToolWatcherError} when the map has no `tool_calling` block or a marker is not a special token
   */
  static fromMap(map: TokenizerMap, regionCap?: number): ToolWatcher {
    const markers = map.tool_calling?.markers;
    if (markers === undefined) {
      throw new ToolWatcherError(map.id, undefined);
    }
    return new ToolWatcher(map, markers.start, markers.end, regionCap);
  }

  /**
   * Creates a watcher for marker token IDs given directly, as a server does with the IDs of a
   * request's `tool_watcher` field.
   *
   * @param regionCap - most body IDs per region; 0, a negative number or undefined means {@link DEFAULT_REGION_CAP}
   */
  static fromIds(startId: number, endId: number, regionCap?: number): ToolWatcher {
    const markers: TokenizerMap = {
      id: "tool-watcher-markers",
      version: "2",
      vocab_size: 1,
      vocab: {},
      special_tokens: { start: startId, end: endId },
    };
    return new ToolWatcher(markers, "start", "end", regionCap);
  }

  /** Whether a region is open. */
  get inside(): boolean {
    return this.#inside;
  }

  /** Processes the next IDs of the stream and returns the events they complete, in stream order. */
  feed(ids: readonly number[]): ToolWatcherEvent[] {
    const events: ToolWatcherEvent[] = [];
    let passthrough: number[] = [];

    for (const id of ids) {
      if (!this.#inside) {
        if (id === this.startId) {
          if (passthrough.length > 0) {
            events.push({ kind: "passthrough", ids: passthrough });
            passthrough = [];
          }
          this.#open();
        } else {
          passthrough.push(id);
        }
        continue;
      }

      if (id === this.endId) {
        if (!this.#capped) {
          events.push({ kind: "region", ids: this.#body.slice() });
        }
        this.#close();
      } else if (id === this.startId) {
        events.push({ kind: "nested_start", ids: [id] });
      } else if (this.#capped) {
        continue;
      } else if (this.#body.length >= this.regionCap) {
        events.push({ kind: "overflow", ids: this.#body.slice() });
        this.#capped = true;
      } else {
        this.#body.push(id);
      }
    }

    if (passthrough.length > 0) {
      events.push({ kind: "passthrough", ids: passthrough });
    }
    return events;
  }

  /**
   * Ends the stream. When a region is open, returns one `truncated` event with the body IDs
   * buffered (possibly none, or the capped prefix) and `finishReason`, and closes the region.
   * Otherwise returns no events.
   */
  end(finishReason: string | null): ToolWatcherEvent[] {
    if (!this.#inside) {
      return [];
    }
    const event: ToolWatcherEvent = { kind: "truncated", ids: this.#body.slice(), finishReason };
    this.#close();
    return [event];
  }

  /** Drops any open region, for example before reusing the watcher for another stream. */
  reset(): void {
    this.#close();
  }

  #open(): void {
    this.#inside = true;
    this.#capped = false;
    this.#body = [];
  }

  #close(): void {
    this.#inside = false;
    this.#capped = false;
    this.#body = [];
  }
}

function markerId(map: TokenizerMap, name: string): number {
  const specialTokens = map.special_tokens;
  if (specialTokens === undefined || !Object.hasOwn(specialTokens, name)) {
    throw new ToolWatcherError(map.id, name);
  }
  return specialTokens[name] as number;
}
