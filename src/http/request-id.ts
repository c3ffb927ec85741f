import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** The header that carries a request id in both directions and across the proxy. */
export const REQUEST_ID_HEADER = "x-request-id";

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Returns the inbound `X-Request-Id` when it is short and made of safe characters,
 * otherwise a new random id. Hostile values never reach logs or response headers.
 */
export function resolveRequestId(request: IncomingMessage): string {
  const inbound = request.headers[REQUEST_ID_HEADER];
  if (typeof inbound === "string" && SAFE_REQUEST_ID.test(inbound)) return inbound;

  return newId("req");
}

/** Creates a random id with a kind prefix, e.g. `cmpl-3f9a…` or `chatcmpl-…`. */
export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString("hex")}`;
}
