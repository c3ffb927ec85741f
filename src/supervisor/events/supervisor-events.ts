import type { EventLogger } from "../../http/logger.js";
import type { LifecycleEventType } from "../lifecycle/backend-types.js";
import type { JobEventMap } from "../jobs/job-types.js";
import { EventBus } from "./event-bus.js";
import { eventListenerFailed } from "./log-events.js";

/** Backend lifecycle events, as BackendManager reports them through its `onEvent` option. */
export type BackendEventMap = Record<LifecycleEventType, Record<string, unknown>>;

/**
 * Every event type the supervisor publishes on its bus, mapped to its payload. A component
 * adds its event types here (as a map of type to payload) and publishes them with
 * `bus.publish(type, payload)`; `GET /admin/events` streams them all.
 */
export interface SupervisorEventMap extends JobEventMap, BackendEventMap {}

export type SupervisorEventBus = EventBus<SupervisorEventMap>;

/** Creates the supervisor's bus; a subscriber that throws is logged and skipped. */
export function createSupervisorEventBus(log: EventLogger): SupervisorEventBus {
  return new EventBus<SupervisorEventMap>({
    onListenerError: (error, event) =>
      eventListenerFailed(log, { type: event.type, id: event.id }, error),
  });
}
