import { homedir } from "node:os";
import { join } from "node:path";

import type { LogLevel } from "../http/logger.js";
import type { BackendKindName } from "./backend-kinds.js";
import type { CorsOrigins } from "./cors.js";
import type { SwapMode } from "./lifecycle/swap-plan.js";

/** Everything the supervisor needs; built from flags and `CODEC_*` variables by the CLI. */
export interface SupervisorOptions {
  host: string;
  port: number;
  backend: BackendKindName;
  backendHost: string;
  backendPort: number;
  /** Root for the demo model, caches and the saved serving state. */
  dataDir: string;
  /** Cache directory of the generated demo model, normally `<dataDir>/demo-models`. */
  demoModelsDir: string;
  modelsDir: string;
  /**
   * The model to load at start-up: a registry name, an absolute path, or (for external
   * backends) any spec the engine understands. `undefined` loads the generated demo model
   * on the embedded engine; `"none"` or the empty string starts with no backend.
   */
  initialModel: string | undefined;
  /** Extra arguments appended to the backend command line. */
  backendArgs: string[];
  startupTimeoutMs: number;
  shutdownGraceMs: number;
  /** Swap mode of a load that names none. */
  swapMode: SwapMode;
  /** How long in-flight requests may run on a model that is being replaced. */
  drainTimeoutMs: number;
  /** Requests held at once during a swap or restart; more get 503. */
  holdMaxRequests: number;
  /** Maximum time one request is held before it gets 503. */
  holdMaxWaitMs: number;
  /** Whether `/admin/load` may load a hub id or a path outside the registry when asked to. */
  allowRemoteLoad: boolean;
  /** Bearer token for `/admin/*`; without one, admin routes serve loopback clients only. */
  adminToken: string | undefined;
  /** Keys accepted on inference routes; empty means they are open. */
  apiKeys: readonly string[];
  /** Origins whose browser pages may call the inference routes; see `installCors`. */
  corsOrigins: CorsOrigins;
  logLevel: LogLevel;
}

/**
 * Returns the default data directory: `$CODEC_DATA_DIR`, else `$XDG_DATA_HOME/codec-serve`,
 * else `~/.local/share/codec-serve`. It works for a non-root user outside a container.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CODEC_DATA_DIR) return env.CODEC_DATA_DIR;
  const dataHome = env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(dataHome, "codec-serve");
}

/** Values of `initialModel` that mean "start without a backend". */
export function isNoModel(spec: string | undefined): boolean {
  return spec !== undefined && (spec.trim() === "" || spec.trim().toLowerCase() === "none");
}
