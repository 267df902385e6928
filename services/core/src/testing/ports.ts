import { once } from "node:events";
import { createServer } from "node:net";

/** A loopback port nothing listens on now, chosen by the OS, for a server a test starts. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  await new Promise<void>((resolve, reject) => {
    server.close((error) => {
      if (error) reject(error);
      else resolve();
    });
  });
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}
