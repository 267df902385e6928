/**
 * The RPC client's own HTTP transport (http-post.ts) against a node:http server that answers the
 * way nodes and gateways do: compressed, over connections it keeps alive and closes when idle, and
 * wrongly — a body cut short, headers and then nothing, a 503 whose body never comes.
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRpcClient, RpcUnavailableError } from "./rpc";

type Behaviour = (request: { method: string }, response: http.ServerResponse) => void;

const answer = (result: unknown) => JSON.stringify({ jsonrpc: "2.0", id: 1, result });

/**
 * A deadline no test here waits out: longer than a pause of this process on a loaded machine (some
 * 15 s), so that an answer that comes is never taken for one that does not, nor one that fails at
 * once for one that fails at its deadline.
 */
const TIMEOUT_MS = 30_000;
/** The deadline of the one test that waits it out. */
const SHORT_TIMEOUT_MS = 500;

describe("the RPC client's transport", () => {
  let server: http.Server;
  let url: string;
  let behaviour: Behaviour;
  const connections: Socket[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        behaviour(JSON.parse(Buffer.concat(chunks).toString()) as { method: string }, response);
      });
    });
    server.on("connection", (socket) => connections.push(socket));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, "close");
  });

  const client = (timeoutMs = TIMEOUT_MS) => createRpcClient({ url, name: "BSC_RPC_URL", timeoutMs, attempts: 1 });

  it("when the node compresses its answer with gzip, then it is read decompressed", async () => {
    behaviour = (_request, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      response.end(gzipSync(answer("0x2a")));
    };
    expect(await client().blockNumber()).toBe(42n);
  });

  it("when calls follow one another, then they share one kept-alive connection, and a connection the node closed while idle is not reused", async () => {
    behaviour = (_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(answer("0x1"));
    };
    const rpc = client();
    const before = connections.length;
    for (let i = 0; i < 5; i++) expect(await rpc.blockNumber()).toBe(1n);
    expect(connections.length - before).toBe(1);
    const idle = connections.at(-1);
    idle?.destroy();
    if (idle && !idle.closed) await once(idle, "close");
    expect(await rpc.blockNumber()).toBe(1n);
    expect(connections.length - before).toBe(2);
  });

  it("when the body is cut short, then the call fails as no usable answer, naming the variable and host only", async () => {
    behaviour = (_request, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      response.write(answer("0x1").slice(0, 10));
      setImmediate(() => response.socket?.destroy());
    };
    const error = await client()
      .blockNumber()
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(RpcUnavailableError);
    expect((error as Error).message).toMatch(/^BSC_RPC_URL \(127\.0\.0\.1:\d+\): eth_blockNumber: \S/);
  });

  it("when the node sends its headers and then nothing, then the call fails at its deadline", async () => {
    behaviour = (_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write("[");
    };
    const started = performance.now();
    const error = await client(SHORT_TIMEOUT_MS)
      .blockNumber()
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(RpcUnavailableError);
    expect((error as Error).message).toMatch(`eth_blockNumber: no answer within ${String(SHORT_TIMEOUT_MS)} ms`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(SHORT_TIMEOUT_MS - 50);
  });

  it("when the node answers 503 and never sends the body, then the call fails at once as the node in trouble", async () => {
    behaviour = (_request, response) => {
      response.writeHead(503, { "content-type": "text/plain", "content-length": "1000" });
      response.write("overloaded");
    };
    const started = performance.now();
    const error = await client()
      .blockNumber()
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(RpcUnavailableError);
    expect((error as Error).message).toMatch(/eth_blockNumber: HTTP 503$/);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS);
  });

  it("when the answer is not JSON, then the call fails naming the status", async () => {
    behaviour = (_request, response) => {
      response.writeHead(200, { "content-type": "text/html" });
      response.end("<html>maintenance</html>");
    };
    await expect(client().blockNumber()).rejects.toThrow(/eth_blockNumber: the answer is not JSON \(HTTP 200\)$/);
  });
});
