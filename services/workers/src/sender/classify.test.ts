/**
 * The node's answers to `eth_sendRawTransaction`, as the sender's chain client really surfaces
 * them: a local HTTP server answers each JSON-RPC error (or HTTP status) that nodes give, and the
 * classification is read from the error `createChain` rejects with.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChain, type Chain } from "./chain";
import { classifySendError, type SendOutcome } from "./classify";

let answer: { status: number; body: unknown } = { status: 200, body: {} };
let server: Server;
let chain: Chain;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const { id } = JSON.parse(body) as { id: number };
      response.writeHead(answer.status, { "content-type": "application/json" });
      response.end(
        JSON.stringify(answer.status === 200 ? { jsonrpc: "2.0", id, ...(answer.body as object) } : answer.body),
      );
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  chain = createChain({ url: `http://127.0.0.1:${port}`, chainId: 56, timeoutMs: 5_000 });
});
afterAll(async () => {
  chain.destroy();
  server.close();
  await once(server, "close");
});

const RAW = "0x02f8";

async function outcomeOf(status: number, body: unknown): Promise<SendOutcome> {
  answer = { status, body };
  const error = await chain.sendRawTransaction(RAW).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeDefined();
  return classifySendError(error).outcome;
}

const rpcError = (code: number, message: string) => ({ error: { code, message } });

describe("what a node's answer to a broadcast means", () => {
  it.each([
    ["geth: already known", rpcError(-32000, "already known"), "submitted"],
    ["Hardhat: Known transaction", rpcError(-32003, "Known transaction: 0xabc…"), "submitted"],
    ["Nethermind: AlreadyKnown", rpcError(-32010, "AlreadyKnown"), "submitted"],
    ["geth: nonce too low", rpcError(-32000, "nonce too low: next nonce 8, tx nonce 7"), "nonce_too_low"],
    ["Hardhat: Nonce too low", rpcError(-32003, "Nonce too low. Expected nonce to be 8 but got 7."), "nonce_too_low"],
    ["geth: replacement underpriced", rpcError(-32000, "replacement transaction underpriced"), "underpriced"],
    ["geth: insufficient funds", rpcError(-32000, "insufficient funds for gas * price + value"), "retry"],
    ["geth: txpool is full", rpcError(-32000, "txpool is full"), "retry"],
    ["geth: intrinsic gas too low", rpcError(-32000, "intrinsic gas too low"), "rejected"],
    ["BSC: under the minimum gas price", rpcError(-32000, "transaction underpriced"), "rejected"],
  ] as const)("%s", async (_name, body, expected) => {
    expect(await outcomeOf(200, body)).toBe(expected);
  });

  it.each([502, 503, 500])("HTTP %s → retry (the same bytes again later)", async (status) => {
    expect(await outcomeOf(status, { message: "upstream failed" })).toBe("retry");
  });

  it("no node at all → retry", async () => {
    const gone = createChain({ url: "http://127.0.0.1:9", chainId: 56, timeoutMs: 2_000 });
    try {
      const error = await gone.sendRawTransaction(RAW).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(classifySendError(error).outcome).toBe("retry");
    } finally {
      gone.destroy();
    }
  });
});
