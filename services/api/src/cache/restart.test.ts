/**
 * The API as a real process (bin.ts, wired by main.ts) with its response cache: it follows the
 * listener's commits, and a restart serves what was committed while it was down. The re-check
 * interval is set far beyond the test, so only the commit signals can make a response move; the
 * process's own /metrics counts the rebuilds they caused.
 */
import { describe, expect, it, vi } from "vitest";
import { apiProcesses, TEST_JWT_SECRET } from "../testing";
import { commitBlock, seriesValue } from "./testing";

const processes = apiProcesses();

const fundBlock = async (port: number) => {
  const response = await fetch(`http://127.0.0.1:${String(port)}/v1/fund`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { as_of_block: string }).as_of_block;
};

describe("the API process and its response cache", () => {
  it("when the listener commits, then the running API follows; when it restarts, then it serves what was committed while it was down, and follows again", async () => {
    const env = {
      ENVIRONMENT: "test",
      PORT: "0",
      DATABASE_URL: processes.database.url,
      METRICS_DATABASE_URL: processes.database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      JWT_SECRET: TEST_JWT_SECRET,
      MAX_CHAIN_SYNC_AGE_SECONDS: "0",
      RESPONSE_CACHE_RECHECK_MS: "60000",
    };
    const { db } = processes.database;
    const layers = { l1: "100000", l2: "300000", l3: "600000" };
    const listeningForCommits = (api: ReturnType<typeof processes.start>) =>
      vi.waitFor(
        () => {
          expect(api.lines().some((line) => line["message"] === "listening for commit signals")).toBe(true);
        },
        { timeout: 30_000, interval: 20 },
      );

    let api = processes.start(env);
    let port = await api.port;
    await listeningForCommits(api);
    await commitBlock(db, { number: 5000, layers });
    // The signal reaches the process at its own pace: the response moves once it has.
    await vi.waitFor(
      async () => {
        expect(await fundBlock(port)).toBe("5000");
      },
      { timeout: 30_000, interval: 20 },
    );
    api.child.kill("SIGTERM");
    expect((await api.exited).code).toBe(0);
    expect(api.lines().filter((line) => line["level"] === "error")).toEqual([]);

    await commitBlock(db, { number: 5001, layers });
    api = processes.start(env);
    port = await api.port;
    // A new process has nothing cached: its first answer is the database's.
    expect(await fundBlock(port)).toBe("5001");
    await listeningForCommits(api);
    await commitBlock(db, { number: 5002, layers });
    await vi.waitFor(
      async () => {
        expect(await fundBlock(port)).toBe("5002");
      },
      { timeout: 30_000, interval: 20 },
    );
    const exposition = await (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).text();
    const rebuilds = (reason: string) =>
      seriesValue(exposition, "paimon_response_cache_rebuilds_total", { route: "/v1/fund", reason });
    expect(rebuilds("cold")).toBe(1);
    expect(rebuilds("signal")).toBeGreaterThanOrEqual(1);
    expect(rebuilds("recheck")).toBe(0);
    api.child.kill("SIGTERM");
    expect((await api.exited).code).toBe(0);
    expect(api.lines().filter((line) => line["level"] === "error")).toEqual([]);
    // Two processes start one after another through tsx, each in 10–20 s on a loaded 2-core machine.
  }, 120_000);
});
