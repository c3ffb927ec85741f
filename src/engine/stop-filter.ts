/** Token IDs and text that may be sent to the client now. */
export interface Release {
  ids: number[];
  text: string;
}

interface PendingToken {
  id: number;
  /** Offset in the held text where this token's text ends. */
  end: number;
}

/**
 * Applies stop strings to a token stream without ever sending text that is later retracted.
 *
 * Text that could still grow into a stop string is held back. When a stop string appears,
 * the text before it is released and everything from it on is dropped. A token ID is
 * released only once all of its text has been released, so with a stop string a token that
 * straddles the stop boundary is withheld even though the text before the boundary is sent.
 */
export class StopFilter {
  readonly #stops: readonly string[];
  #held = "";
  #pending: PendingToken[] = [];

  constructor(stops: readonly string[]) {
    this.#stops = stops;
  }

  /** Adds one generated token; `stopped` is true when a stop string matched. */
  push(id: number, text: string): { release: Release; stopped: boolean } {
    this.#held += text;
    this.#pending.push({ id, end: this.#held.length });

    const stopAt = this.#findStop();
    if (stopAt >= 0) {
      const release = this.#releaseUpTo(stopAt);
      this.#held = "";
      this.#pending = [];
      return { release, stopped: true };
    }

    const safe = this.#held.length - this.#longestStopPrefixSuffix();
    return { release: this.#releaseUpTo(safe), stopped: false };
  }

  /** Releases everything still held, at the end of generation. */
  flush(): Release {
    return this.#releaseUpTo(this.#held.length);
  }

  #findStop(): number {
    let earliest = -1;
    for (const stop of this.#stops) {
      const at = this.#held.indexOf(stop);
      if (at >= 0 && (earliest < 0 || at < earliest)) earliest = at;
    }
    return earliest;
  }

  /** Length of the longest suffix of the held text that is a proper prefix of a stop string. */
  #longestStopPrefixSuffix(): number {
    let longest = 0;
    for (const stop of this.#stops) {
      const max = Math.min(stop.length - 1, this.#held.length);
      for (let length = max; length > longest; length--) {
        if (this.#held.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }

  #releaseUpTo(offset: number): Release {
    const text = this.#held.slice(0, offset);
    const ids: number[] = [];
    let released = 0;
    while (released < this.#pending.length && this.#pending[released]!.end <= offset) {
      ids.push(this.#pending[released]!.id);
      released++;
    }

    this.#held = this.#held.slice(offset);
    this.#pending = this.#pending
      .slice(released)
      .map((token) => ({ id: token.id, end: token.end - offset }));
    return { ids, text };
  }
}
