import fastifyCors from "@fastify/cors";
import type { FastifyInstance, FastifyRequest } from "fastify";

import { isAdminRequest } from "./auth.js";

/** Cross-origin browser access to the inference routes: `*`, or a list of allowed origins. */
export type CorsOrigins = "*" | ReadonlyArray<string | RegExp>;

/**
 * Origins allowed by default: pages served from this machine (`localhost`, `127.0.0.1`, `[::1]`,
 * any port), so a local browser app can stream from the server while other websites cannot.
 */
export const LOCAL_ORIGINS: ReadonlyArray<RegExp> = [
  /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/,
];

/** Headers a browser page may read from responses; the Codec client needs the dictionary hash. */
const EXPOSED_HEADERS = [
  "Codec-Zstd-Dict",
  "X-Request-Id",
  "Retry-After",
  "Codec-Min-Version",
  "Codec-Required-Features",
];
const ALLOWED_HEADERS = [
  "Content-Type",
  "Authorization",
  "X-Api-Key",
  "X-Request-Id",
  "Codec-Client-Version",
  "X-Codec-Map",
];

/**
 * Answers CORS preflights and adds CORS headers for inference and discovery routes. Admin
 * routes never get CORS headers, so no other website can drive them from a browser.
 */
export async function installCors(app: FastifyInstance, origins: CorsOrigins): Promise<void> {
  await app.register(fastifyCors, {
    delegator: (request: FastifyRequest, callback) => {
      if (isAdminRequest(request)) {
        callback(null, { origin: false });
        return;
      }
      callback(null, {
        origin: origins === "*" ? "*" : [...origins],
        methods: ["GET", "HEAD", "POST"],
        allowedHeaders: ALLOWED_HEADERS,
        exposedHeaders: EXPOSED_HEADERS,
        maxAge: 600,
      });
    },
  });
}

/** Parses `CODEC_CORS_ORIGINS`: unset means local pages only, `*` any origin, `none` no origin. */
export function parseCorsOrigins(value: string | undefined): CorsOrigins {
  const trimmed = value?.trim();
  if (trimmed === undefined || trimmed === "") return LOCAL_ORIGINS;
  if (trimmed === "*") return "*";
  if (trimmed.toLowerCase() === "none") return [];
  return trimmed
    .split(",")
    .map((origin) => origin.trim().replace(/\/+$/, ""))
    .filter((origin) => origin !== "");
}
