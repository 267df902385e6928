/**
 * A stand-in for the Pushgateway in the operations tests: an HTTP server on a free loopback port
 * that accepts every push and keeps it, so a test can say what a backup recorded — or that it
 * recorded nothing.
 */
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface Push {
  readonly method: string;
  readonly url: string;
  readonly body: string;
}

export interface PushgatewayRecorder {
  readonly url: string;
  readonly pushes: Push[];
  stop(): Promise<void>;
}

export async function startPushgatewayRecorder(): Promise<PushgatewayRecorder> {
  const pushes: Push[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => {
      pushes.push({ method: request.method ?? "", url: request.url ?? "", body });
      response.writeHead(200).end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pushes,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}
