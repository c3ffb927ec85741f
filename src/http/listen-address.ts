import type { FastifyInstance } from "fastify";

/** Returns the port the app listens on, which differs from the configured one when that was 0. */
export function listeningPort(app: FastifyInstance): number {
  const address = app.server.address();
  if (address === null || typeof address === "string")
    throw new Error("the server is not listening on a TCP port");
  return address.port;
}
