/**
 * The BPE merge loop: repeatedly merges the adjacent pair of symbols with the lowest merge rank,
 * taking the leftmost pair when ranks tie, until no adjacent pair has a rank.
 *
 * A priority queue of candidate pairs makes this O(n log n) in the number of symbols, which
 * matters for SentencePiece text that has no spaces to split on. The merge order is the one the
 * Hugging Face `tokenizers` BPE model uses, which also queues pairs by (rank, position).
 */

/** A candidate merge of the symbol in slot `left` with the symbol after it. */
interface Candidate {
  rank: number;
  left: number;
  right: number;
  /** Versions of both slots when the candidate was queued; a later change makes it stale. */
  leftVersion: number;
  rightVersion: number;
}

/**
 * Merges `symbols` by `ranks` (key `"left right"`, lower merges first) and returns the final
 * symbols. The input array is not changed.
 */
export function mergeSymbols(
  symbols: readonly string[],
  ranks: ReadonlyMap<string, number>,
): string[] {
  const count = symbols.length;
  if (count < 2) {
    return symbols.slice();
  }

  const text = symbols.slice();
  const next = new Int32Array(count);
  const previous = new Int32Array(count);
  const version = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    next[i] = i + 1 < count ? i + 1 : -1;
    previous[i] = i - 1;
  }

  const queue = new CandidateQueue();
  const offer = (left: number, right: number): void => {
    const rank = ranks.get(`${text[left]} ${text[right]}`);
    if (rank !== undefined) {
      queue.push({
        rank,
        left,
        right,
        leftVersion: version[left] as number,
        rightVersion: version[right] as number,
      });
    }
  };
  for (let i = 0; i + 1 < count; i++) {
    offer(i, i + 1);
  }

  for (let candidate = queue.pop(); candidate !== undefined; candidate = queue.pop()) {
    const { left, right } = candidate;
    const stale =
      next[left] !== right ||
      version[left] !== candidate.leftVersion ||
      version[right] !== candidate.rightVersion;
    if (stale) {
      continue;
    }

    // The merged symbol stays in the left slot, so slot order remains text order.
    text[left] = `${text[left]}${text[right]}`;
    version[left] = (version[left] as number) + 1;
    version[right] = (version[right] as number) + 1;
    const after = next[right] as number;
    next[left] = after;
    if (after >= 0) {
      previous[after] = left;
      offer(left, after);
    }
    const before = previous[left] as number;
    if (before >= 0) {
      offer(before, left);
    }
  }

  const merged: string[] = [];
  for (let slot = 0; slot >= 0; slot = next[slot] as number) {
    merged.push(text[slot] as string);
  }
  return merged;
}

/** A binary min-heap of candidates ordered by rank, then by left slot (text position). */
class CandidateQueue {
  readonly #heap: Candidate[] = [];

  push(candidate: Candidate): void {
    const heap = this.#heap;
    heap.push(candidate);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!precedes(candidate, heap[parent] as Candidate)) {
        break;
      }
      heap[index] = heap[parent] as Candidate;
      index = parent;
    }
    heap[index] = candidate;
  }

  pop(): Candidate | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) {
      return top;
    }

    let index = 0;
    for (;;) {
      const leftChild = 2 * index + 1;
      if (leftChild >= heap.length) {
        break;
      }
      const rightChild = leftChild + 1;
      const child =
        rightChild < heap.length &&
        precedes(heap[rightChild] as Candidate, heap[leftChild] as Candidate)
          ? rightChild
          : leftChild;
      if (!precedes(heap[child] as Candidate, last)) {
        break;
      }
      heap[index] = heap[child] as Candidate;
      index = child;
    }
    heap[index] = last;
    return top;
  }
}

function precedes(a: Candidate, b: Candidate): boolean {
  return a.rank < b.rank || (a.rank === b.rank && a.left < b.left);
}
