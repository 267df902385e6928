/**
 * Every JSON-RPC call settles within its bound (attempts × deadline + the backoff between them),
 * even against a node that accepts the connection and never answers — and even while garbage is
 * collected all the time. (On Node 20 a deadline made of `AbortSignal.timeout` inside
 * `AbortSignal.any` could be collected and never fire: the call, and the listener, hung forever.)
 * The client runs here, in the test's process, with a full collection every few milliseconds; the
 * listener as a process, with the same pressure, exits at start naming the node it cannot reach.
 */
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { createTcpProxy } from "@paimon/core/testing/tcp-proxy";
import { afterAll, beforeAll, describe, expect, vi } from "vitest";
import { test as base } from "./fixture";
import { createRpcClient, rpcCallBoundMs, RpcUnavailableError } from "./rpc";
import { listenerEnv, spawnListener, stopListener } from "./testing";

/** A full collection this often: far more often than any deadline below fires. */
const GC_EVERY_MS = 50;
const CLIENT = {
  timeoutMs: 400,
  attempts: 3,
  startingDelayMs: 20,
  maxDelayMs: 100,
} as const;
/**
 * What a loaded machine's timers may add to a bound (they fire late, never early), a pause of this
 * process of some 15 s included: a bound tells a call that settles from one that hangs.
 */
const SLACK_MS = 30_000;

/** The devnet behind a proxy the tests can blackhole. */
const test = base.extend("proxy", { scope: "file" }, async ({ chain }, { onCleanup }) => {
  const proxy = await createTcpProxy({
    host: "127.0.0.1",
    port: chain.devnet.port,
  });
  onCleanup(() => proxy.close());
  return proxy;
});

/** How `call` settled and when; a call still pending past `guardMs` counts as hung (and fails the test). */
async function settle(call: Promise<unknown>, guardMs: number) {
  const started = performance.now();
  let guard: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((resolve) => {
    guard = setTimeout(() => {
      resolve("hung");
    }, guardMs);
  });
  try {
    const outcome = await Promise.race([
      call.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      hung,
    ]);
    return { outcome, elapsed: performance.now() - started };
  } finally {
    clearTimeout(guard);
  }
}

describe("the RPC client against a node that never answers, under constant garbage collection", () => {
  let collecting: NodeJS.Timeout;
  beforeAll(() => {
    // `gc` without --expose-gc on the worker's command line (as Jest's leak detector gets it).
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    collecting = setInterval(gc, GC_EVERY_MS);
  });
  afterAll(() => {
    clearInterval(collecting);
  });

  test("when the node stalls from the first call and again mid-stream after answering, then every call rejects within attempts × timeout + backoff, naming the variable and host", async ({
    chain,
    proxy,
  }) => {
    // With a shutdown signal, as the listener makes it: each request's deadline is combined with it.
    const stopping = new AbortController();
    const rpc = createRpcClient({
      url: `http://127.0.0.1:${String(proxy.port)}/`,
      name: "BSC_RPC_URL",
      signal: stopping.signal,
      ...CLIENT,
    });
    const bound = rpcCallBoundMs(CLIENT);
    const stalled = new RegExp(
      `^BSC_RPC_URL \\(127\\.0\\.0\\.1:${String(proxy.port)}\\): eth_blockNumber: no answer within ${String(CLIENT.timeoutMs)} ms \\(${String(CLIENT.attempts)} attempts\\)$`,
    );
    const expectStalledCall = async () => {
      const { outcome, elapsed } = await settle(rpc.blockNumber(), bound + SLACK_MS);
      expect(outcome, "the call settled (it did not hang)").not.toBe("hung");
      const { error } = outcome as { error?: unknown };
      expect(error).toBeInstanceOf(RpcUnavailableError);
      expect((error as Error).message).toMatch(stalled);
      // Every attempt waited out its deadline; the whole call stayed within its bound.
      expect(elapsed).toBeGreaterThanOrEqual(CLIENT.attempts * CLIENT.timeoutMs - 50);
      expect(elapsed).toBeLessThan(bound + SLACK_MS);
    };

    // At start: no request has ever been answered.
    await proxy.set("blackhole");
    await expectStalledCall();

    // The node answers again; then stalls mid-stream, several calls in a row.
    await proxy.set("forward");
    await vi.waitFor(
      async () => {
        expect(await rpc.blockNumber()).toBe(BigInt(await chain.provider.getBlockNumber()));
      },
      { timeout: 30_000, interval: 50 },
    );
    for (let i = 0; i < 5; i++) expect(typeof (await rpc.chainId())).toBe("number");
    await proxy.set("blackhole");
    for (let i = 0; i < 3; i++) await expectStalledCall();

    await proxy.set("forward");
    await vi.waitFor(
      async () => {
        expect(await rpc.chainId()).toBe(chain.devnet.chainId);
      },
      { timeout: 30_000, interval: 50 },
    );
  });
});

describe("the event listener against a node that never answers at start, under constant garbage collection", () => {
  test("when the node accepts and never answers, then the listener exits 1 within the RPC bound, naming BSC_RPC_URL and the host", async ({
    chain,
    database,
    proxy,
  }) => {
    await proxy.set("blackhole");
    const env = listenerEnv(chain, database.url, {
      BSC_RPC_URL: `http://127.0.0.1:${String(proxy.port)}`,
      RPC_TIMEOUT_MS: "1000",
      RPC_ATTEMPTS: "2",
    });
    const listener = spawnListener(env, { gcPressure: true });
    try {
      await listener.port;
      const started = performance.now();
      // The default backoff (100 ms doubling, 10 s ceiling) between the two attempts.
      const bound = rpcCallBoundMs({ timeoutMs: 1000, attempts: 2 });
      await vi.waitFor(
        () => {
          expect(listener.child.exitCode, `still running: ${listener.output().stderr}`).not.toBeNull();
        },
        { timeout: bound + SLACK_MS, interval: 50 },
      );
      expect(performance.now() - started).toBeLessThan(bound + SLACK_MS);
      expect(listener.child.exitCode).toBe(1);
      const reasons = listener
        .output()
        .stderr.split("\n")
        .filter((line) => line.startsWith("paimon-event-listener: "));
      expect(reasons).toEqual([
        `paimon-event-listener: cannot reach the node: BSC_RPC_URL (127.0.0.1:${String(proxy.port)}): eth_chainId: no answer within 1000 ms (2 attempts)`,
      ]);
    } finally {
      await stopListener(listener);
      await proxy.set("forward");
    }
    // tsx's start (10–20 s on a loaded 2-core machine), then the bound and its slack.
  }, 120_000);
});
