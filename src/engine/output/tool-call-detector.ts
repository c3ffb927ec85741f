import type { ToolCall } from "../../protocol/frame.js";
import { ToolWatcher } from "../../protocol/tool-watcher.js";

/** IDs to send in one frame, and the tool calls that closed in the same chunk. */
export interface WatchedChunk {
  ids: number[];
  toolCalls: ToolCall[];
}

/**
 * The server-side ToolWatcher: finds regions between the request's start and end marker IDs,
 * withholds them from the frames and reports each closed region as a ToolCall.
 *
 * Markers are consumed. A nested start marker inside a region is dropped. A region that grows
 * past the watcher's cap (65,536 IDs) is reported as a tool call of its first 65,536 body IDs
 * when it overflows. The rest of its body is dropped up to the end marker, as the newer sglang
 * watcher does.
 */
export class ToolCallDetector {
  readonly #watcher: ToolWatcher;
  readonly #detokenize: (ids: readonly number[]) => string;
  #callCount = 0;
  /** Whether the open region overflowed and was already reported. */
  #reported = false;

  /** `detokenize` renders a region body to text, skipping special tokens. */
  constructor(startId: number, endId: number, detokenize: (ids: readonly number[]) => string) {
    this.#watcher = ToolWatcher.fromIds(startId, endId);
    this.#detokenize = detokenize;
  }

  /** Feeds the IDs of one chunk and returns what its frame carries. */
  feed(ids: readonly number[]): WatchedChunk {
    const chunk: WatchedChunk = { ids: [], toolCalls: [] };
    for (const event of this.#watcher.feed(ids)) {
      switch (event.kind) {
        case "passthrough":
          chunk.ids.push(...event.ids);
          this.#reported = false;
          break;
        case "region":
          chunk.toolCalls.push(this.#toolCall(event.ids));
          break;
        case "overflow":
          chunk.toolCalls.push(this.#toolCall(event.ids));
          this.#reported = true;
          break;
        case "nested_start":
        case "truncated":
          break;
      }
    }
    if (!this.#watcher.inside) this.#reported = false;
    return chunk;
  }

  /**
   * Ends the stream. A region still open gives back its IDs, start marker first, so that the
   * terminal frame loses nothing and a client-side ToolWatcher reports the region as truncated.
   * A region that overflowed was already reported and gives back nothing.
   */
  end(): number[] {
    const startId = this.#watcher.startId;
    const reported = this.#reported;
    const events = this.#watcher.end(null);
    const truncated = events[0];
    if (truncated === undefined || reported) return [];
    return [startId, ...truncated.ids];
  }

  #toolCall(body: readonly number[]): ToolCall {
    this.#callCount += 1;
    const text = this.#detokenize(body).trim();
    const call: ToolCall = { arguments_json: text };
    const name = topLevelName(text);
    if (name !== undefined) call.name = name;
    call.id = `tc_${this.#callCount.toString(16).padStart(8, "0")}`;
    return call;
  }
}

/** Returns the top-level string `"name"` of a JSON object, or undefined. */
function topLevelName(text: string): string | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    const name = (value as Record<string, unknown>).name;
    return typeof name === "string" ? name : undefined;
  } catch {
    return undefined;
  }
}
