import { ERRORS, HttpError } from "../http/errors.js";
import type { ChatTemplate } from "./chat-template.js";
import type { CodecServerConfig } from "./codec-config.js";
import type { ModelHost } from "./model-host.js";
import type { SequencePool } from "./sequence-pool.js";
import type { DictionarySet } from "./zstd-dictionaries.js";

/** Loaded model, sequence pool and chat template, for request handlers. */
export interface ReadyEngine {
  host: ModelHost;
  pool: SequencePool;
  template: ChatTemplate;
  codec: CodecRuntime;
  /** Aborts when the engine stops; see `EngineState.stopping`. */
  stopping: AbortSignal;
}

/** The Codec settings and zstd dictionaries of a ready engine. */
export interface CodecRuntime {
  config: CodecServerConfig;
  dictionaries: DictionarySet;
}

/** Phases of the engine process: it serves HTTP while loading so `/health` can return 503. */
export type EnginePhase = "loading" | "ready" | "failed";

/** Holds the engine's phase and, once ready, the loaded model. */
export class EngineState {
  #phase: EnginePhase = "loading";
  #ready: ReadyEngine | undefined;
  readonly #stopping = new AbortController();

  /**
   * Aborts when the engine stops: running generations end at once with finish reason
   * `abort` and a normal terminal frame, instead of keeping the process alive.
   */
  get stopping(): AbortSignal {
    return this.#stopping.signal;
  }

  /** Ends every running generation; called once when the engine is asked to stop. */
  stop(): void {
    this.#stopping.abort(new Error("the engine is stopping"));
  }

  get phase(): EnginePhase {
    return this.#phase;
  }

  /** The loaded model, or `undefined` while loading or after a failure. */
  get ready(): ReadyEngine | undefined {
    return this.#ready;
  }

  markReady(ready: ReadyEngine): void {
    this.#ready = ready;
    this.#phase = "ready";
  }

  markFailed(): void {
    this.#ready = undefined;
    this.#phase = "failed";
  }

  /** Returns the loaded model, or throws a 503 with `Retry-After` while it is loading. */
  requireReady(): ReadyEngine {
    if (this.#ready !== undefined) return this.#ready;

    const message =
      this.#phase === "failed"
        ? "the model failed to load"
        : "the model is still loading; retry shortly";
    throw new HttpError(ERRORS.engineLoading, message, { headers: { "Retry-After": "1" } });
  }
}
