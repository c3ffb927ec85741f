import type { HoldStatistics } from "./hold-gate.js";
import type { BackendState } from "../backend-state.js";

/** Lifecycle events the manager publishes. */
export type LifecycleEventType =
  | "backend.state_changed"
  | "backend.load_started"
  | "backend.load_succeeded"
  | "backend.load_failed"
  | "backend.switched"
  | "backend.crashed"
  | "backend.restart_scheduled";

/** The model a backend process serves. */
export interface LoadedModel {
  model: string;
  args: readonly string[];
  startedAt: Date;
  pid: number;
}

/** The operation that is under way: a load (or the initial load), a crash restart, or a stop. */
export interface RunningOperation {
  kind: "load" | "restart" | "stop";
  model: string | undefined;
  startedAt: Date;
}

/** The `/admin/status` view of the backend. */
export interface BackendStatus {
  backend: string;
  state: BackendState;
  /** True while a backend process exists, including while it loads. */
  running: boolean;
  /** The model of the serving process, or of the loading one when none serves. */
  current_model: string | null;
  started_at: string | null;
  backend_url: string | null;
  pid: number | null;
  /** The engine an overlap swap is loading beside the serving one. */
  loading: { model: string; pid: number } | null;
  last_error: string | null;
  operation: { kind: string; model: string | null; started_at: string } | null;
  hold: { waiting: number } & HoldStatistics;
  draining: Array<{ model: string; pid: number; in_flight: number }>;
  restarts: number;
}

/** A route to the serving backend for one proxied request; `release` ends its in-flight count. */
export interface RouteLease {
  origin: string;
  release: () => void;
}
