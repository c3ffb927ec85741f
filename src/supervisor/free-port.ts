import { createServer } from "node:net";

/**
 * Asks the OS for a free TCP port on `host`. Another process could take the port before
 * the backend binds it; the backend then fails to start and the start is reported as failed.
 */
export async function findFreePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string")
    throw new Error(`could not find a free port on ${host}`);
  return address.port;
}
