/**
 * How the listener starts and stops as a process: a configuration it cannot run with — a node on
 * another chain or one it cannot reach, no contract at the fund's address, variables missing or
 * malformed — ends it at once with exit code 1 and one stderr line that names what is wrong (a
 * node by its variable and host: its URL's path, query and credentials may hold an API key);
 * SIGTERM ends a running one cleanly with exit code 0.
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { freePort } from "@paimon/contracts/devnet";
import { describe, expect, vi } from "vitest";
import { test } from "./fixture";
import { listenerEnv, spawnListener, stopListener, testQueues, waitForLine, type ListenerProcess } from "./testing";

/**
 * Waits (bounded) for the process to end on its own, and returns how. The wait starts at the spawn,
 * so it holds tsx's start too (10–20 s on a loaded 2-core machine); the tests that call it get
 * twice as long.
 */
async function ended(listener: ListenerProcess) {
  await vi.waitFor(
    () => {
      if (listener.child.exitCode === null && listener.child.signalCode === null) {
        throw new Error(`still running: ${JSON.stringify(listener.output())}`);
      }
    },
    { timeout: 60_000, interval: 50 },
  );
  return listener.exited;
}

/**
 * Starts a listener that must refuse to run; returns its exit code and the one stderr line the
 * program writes about it (`paimon-event-listener: …`), whatever else the runtime printed there.
 */
async function refused(env: Record<string, string>) {
  const listener = spawnListener(env);
  try {
    const { code } = await ended(listener);
    const lines = listener.output().stderr.split("\n");
    return {
      code,
      reason: lines.filter((line) => line.startsWith("paimon-event-listener: ")),
    };
  } finally {
    await stopListener(listener);
  }
}

describe("the event listener as a process", () => {
  test("when CHAIN_ID is not the node's chain, then it exits 1 with a stderr line naming both chain ids", async ({
    chain,
    database,
  }) => {
    const { code, reason } = await refused(listenerEnv(chain, database.url, { CHAIN_ID: "56" }));
    expect(code).toBe(1);
    expect(reason).toEqual([expect.stringMatching(/\bchain 31337\b.*\bCHAIN_ID is 56$/)]);
  }, 120_000);

  test("when the node at BSC_RPC_URL cannot be reached, then it exits 1 naming BSC_RPC_URL and the host, and nothing else of the URL", async ({
    chain,
    database,
  }) => {
    const port = await freePort();
    const url = `http://rpc-user:s3cret-password@127.0.0.1:${String(port)}/v2/s3cret-api-key?token=s3cret-token`;
    const listener = spawnListener(listenerEnv(chain, database.url, { BSC_RPC_URL: url, RPC_ATTEMPTS: "2" }));
    try {
      expect((await ended(listener)).code).toBe(1);
      const { stdout, stderr } = listener.output();
      expect(stderr.split("\n").filter((line) => line.startsWith("paimon-event-listener: "))).toEqual([
        `paimon-event-listener: cannot reach the node: BSC_RPC_URL (127.0.0.1:${String(port)}): eth_chainId: connect ECONNREFUSED 127.0.0.1:${String(port)} (2 attempts)`,
      ]);
      expect(`${stdout}${stderr}`).not.toContain("s3cret");
    } finally {
      await stopListener(listener);
    }
  }, 120_000);

  test("when BSC_RPC_URL carries credentials, then they reach the node as basic authentication and it follows", async ({
    chain,
    database,
  }) => {
    const authorizations = new Set<string | undefined>();
    // A gateway in front of the devnet that notes how each request authenticated.
    const gateway = http.createServer((request, response) => {
      authorizations.add(request.headers.authorization);
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        fetch(chain.devnet.httpUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: Buffer.concat(chunks),
        })
          .then(async (upstream) => {
            response
              .writeHead(upstream.status, {
                "content-type": "application/json",
              })
              .end(await upstream.text());
          })
          .catch(() => response.destroy());
      });
    });
    gateway.listen(0, "127.0.0.1");
    await once(gateway, "listening");
    const port = (gateway.address() as AddressInfo).port;
    const env = listenerEnv(chain, database.url, {
      BSC_RPC_URL: `http://rpc-user:p%40ss@127.0.0.1:${String(port)}/key`,
    });
    const queues = testQueues(env.QUEUE_PREFIX);
    const listener = spawnListener(env);
    try {
      await waitForLine(listener, "following");
      expect([...authorizations]).toEqual([`Basic ${Buffer.from("rpc-user:p@ss").toString("base64")}`]);
    } finally {
      await stopListener(listener);
      await queues.clean();
      gateway.closeAllConnections();
      await new Promise((resolve) => gateway.close(resolve));
    }
  });

  test("when FUND_ADDRESS has no code, then it exits 1 naming the address", async ({ chain, database }) => {
    const address = chain.operator.address;
    const { code, reason } = await refused(listenerEnv(chain, database.url, { FUND_ADDRESS: address }));
    expect(code).toBe(1);
    expect(reason).toEqual([expect.stringContaining(`no contract at FUND_ADDRESS ${address}`)]);
  }, 120_000);

  test("when variables are invalid or missing, then it exits 1 naming each of them", async ({ chain, database }) => {
    const env = listenerEnv(chain, database.url, {
      BSC_RPC_URL: "ftp://x",
      POLL_INTERVAL_MS: "soon",
    });
    const { code, reason } = await refused(
      Object.fromEntries(Object.entries(env).filter(([name]) => name !== "FUND_ADDRESS")),
    );
    expect(code).toBe(1);
    expect(reason).toHaveLength(1);
    for (const problem of [
      "BSC_RPC_URL: must be a http:// or https:// URL",
      "FUND_ADDRESS: missing",
      "POLL_INTERVAL_MS:",
    ]) {
      expect(reason[0]).toContain(problem);
    }
  }, 120_000);

  test("when it receives SIGTERM while following, then it shuts down and exits 0", async ({ chain, database }) => {
    const env = listenerEnv(chain, database.url);
    const queues = testQueues(env.QUEUE_PREFIX);
    const listener = spawnListener(env);
    try {
      await waitForLine(listener, "following");
      listener.child.kill("SIGTERM");
      expect(await ended(listener)).toEqual({ code: 0, signal: null });
      expect(listener.lines()).toContainEqual(expect.objectContaining({ message: "shut down", reason: "SIGTERM" }));
      // Every step of the shutdown went through: none logged a failure.
      expect(listener.lines().filter((line) => line["level"] === "error")).toEqual([]);
    } finally {
      await stopListener(listener);
      await queues.clean();
    }
  }, 120_000);
});
