/** One segment of text cut at special-token strings. */
export type TextSegment = { text: string } | { specialId: number };

/**
 * Cuts text at occurrences of special-token strings. At each position the longest special
 * string that starts there wins, and text between specials is returned as text segments.
 */
export class SpecialTokenSplitter {
  /** Special strings grouped by first UTF-16 unit, longest first. */
  readonly #byFirstUnit = new Map<number, [string, number][]>();

  /** Creates a splitter for the given string-to-ID table. Empty strings are ignored. */
  constructor(specials: Iterable<[string, number]>) {
    for (const [literal, id] of specials) {
      if (literal.length === 0) {
        continue;
      }
      const first = literal.charCodeAt(0);
      const group = this.#byFirstUnit.get(first) ?? [];
      group.push([literal, id]);
      this.#byFirstUnit.set(first, group);
    }
    for (const group of this.#byFirstUnit.values()) {
      group.sort(([left], [right]) => right.length - left.length);
    }
  }

  /** Whether the splitter has any special string. */
  get isEmpty(): boolean {
    return this.#byFirstUnit.size === 0;
  }

  /** Returns the longest special string at `index` as `[length, id]`, or undefined. */
  matchAt(text: string, index: number): [number, number] | undefined {
    const group = this.#byFirstUnit.get(text.charCodeAt(index));
    if (group === undefined) {
      return undefined;
    }
    for (const [literal, id] of group) {
      if (text.startsWith(literal, index)) {
        return [literal.length, id];
      }
    }
    return undefined;
  }

  /** Cuts `text` into text and special-token segments, in order. Empty text segments are left out. */
  split(text: string): TextSegment[] {
    const segments: TextSegment[] = [];
    let textStart = 0;
    let index = 0;
    while (index < text.length) {
      const match = this.matchAt(text, index);
      if (match === undefined) {
        index++;
        continue;
      }
      if (index > textStart) {
        segments.push({ text: text.slice(textStart, index) });
      }
      segments.push({ specialId: match[1] });
      index += match[0];
      textStart = index;
    }
    if (textStart < text.length) {
      segments.push({ text: text.slice(textStart) });
    }
    return segments;
  }
}
