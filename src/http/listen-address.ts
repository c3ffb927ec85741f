import type { FastifyInstance } from "fastify";

/** The port the app actually listens on (useful when it was asked for port 0). */
export function listeningPort(app: FastifyInstance): number {
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("the server is not listening on a TCP port");
  return address.port;
}
