import type { FastifyInstance, HTTPMethods } from "fastify";

import { ERRORS, HttpError } from "./errors.js";

const METHODS: readonly HTTPMethods[] = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
];

/**
 * Responds to every method other than `allowed` on `url` with 405 and an `Allow` header, instead
 * of the 404 an unmatched method would get. HEAD counts as allowed with GET, as Fastify
 * serves it for every GET route.
 */
export function rejectOtherMethods(
  app: FastifyInstance,
  url: string,
  allowed: readonly HTTPMethods[],
): void {
  const served = allowed.includes("GET") ? [...allowed, "HEAD"] : allowed;
  const others = METHODS.filter((method) => !served.includes(method));
  const allow = served.join(", ");
  app.route({
    method: others as HTTPMethods[],
    url,
    handler: async (request) => {
      throw new HttpError(
        ERRORS.routeMethodNotAllowed,
        `${request.method} is not allowed on ${url}; use ${allowed.join(" or ")}`,
        {
          headers: { Allow: allow },
        },
      );
    },
  });
}
