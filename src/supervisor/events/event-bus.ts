/** One published event: a type from the event map, its payload and a sequence id. */
export interface BusEvent<Events, Type extends keyof Events & string = keyof Events & string> {
  /** Increases by one per published event, starting at 1; SSE sends it as the event id. */
  id: number;
  type: Type;
  /** ISO-8601 time of publication. */
  at: string;
  data: Events[Type];
}

/** The union of every event the map `Events` allows. */
export type AnyBusEvent<Events> = {
  [Type in keyof Events & string]: BusEvent<Events, Type>;
}[keyof Events & string];

export type BusListener<Events> = (event: AnyBusEvent<Events>) => void;

/** How many past events the bus keeps for subscribers that reconnect with `Last-Event-ID`. */
const DEFAULT_HISTORY = 512;

/**
 * A synchronous, typed publish/subscribe bus. `Events` maps each event type to its payload,
 * so publishers and subscribers agree at compile time. Listeners run in publication order;
 * a listener that throws does not stop the others or the publisher.
 */
export class EventBus<Events extends object> {
  readonly #listeners = new Set<BusListener<Events>>();
  readonly #history: Array<AnyBusEvent<Events>> = [];
  readonly #historyLimit: number;
  readonly #onListenerError: (error: unknown, event: AnyBusEvent<Events>) => void;
  #nextId = 1;

  constructor(
    options: {
      historyLimit?: number;
      onListenerError?: (error: unknown, event: AnyBusEvent<Events>) => void;
    } = {},
  ) {
    this.#historyLimit = options.historyLimit ?? DEFAULT_HISTORY;
    this.#onListenerError = options.onListenerError ?? (() => undefined);
  }

  /** Publishes an event to every current listener and returns it. */
  publish<Type extends keyof Events & string>(
    type: Type,
    data: Events[Type],
  ): BusEvent<Events, Type> {
    const event: BusEvent<Events, Type> = {
      id: this.#nextId++,
      type,
      at: new Date().toISOString(),
      data,
    };
    const stored = event as unknown as AnyBusEvent<Events>;
    this.#history.push(stored);
    if (this.#history.length > this.#historyLimit) this.#history.shift();

    for (const listener of this.#listeners) {
      try {
        listener(stored);
      } catch (error) {
        this.#onListenerError(error, stored);
      }
    }
    return event;
  }

  /** Calls `listener` for every event published from now on; returns the unsubscribe function. */
  subscribe(listener: BusListener<Events>): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Returns the kept events with an id greater than `afterId`, oldest first. */
  eventsAfter(afterId: number): Array<AnyBusEvent<Events>> {
    return this.#history.filter((event) => event.id > afterId);
  }

  /** Number of current listeners. */
  get listenerCount(): number {
    return this.#listeners.size;
  }
}
