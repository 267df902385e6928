/**
 * Redis cut and restored under the risk monitor (its connection runs through a TCP proxy): while
 * Redis is away the worker says so in its readiness and keeps running; once it is back, processing
 * resumes and every notice, before and after the cut, is assessed once.
 */
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { createTcpProxy, type TcpProxy } from "@paimon/core/testing/tcp-proxy";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { commitHistory, countAssessments, spawnWorker, stopWorker, testQueues, workerEnv } from "../testing";
import { riskHistory } from "./history";

let database: TestDatabase;
let proxy: TcpProxy;
beforeAll(async () => {
  database = await createTestDatabase();
  proxy = await createTcpProxy({ host: "127.0.0.1", port: 6379 });
});
afterAll(async () => {
  await proxy.close();
  await database.drop();
});

const assessed = () => countAssessments(database);

describe("the risk monitor across a Redis outage", () => {
  it("when Redis is cut mid-run and restored, then processing resumes and nothing is lost", async () => {
    const env = workerEnv(database, {
      REDIS_URL: `redis://127.0.0.1:${String(proxy.port)}`,
      RISK_IDLE_ASSESS_MS: "3600000",
    });
    const queues = testQueues(env.QUEUE_PREFIX);
    const before = riskHistory(200);
    const after = riskHistory(100, 201);
    const worker = spawnWorker("risk", env);
    try {
      const port = await worker.port;
      const ready = async () => (await fetch(`http://127.0.0.1:${String(port)}/health/ready`)).status;
      await vi.waitFor(
        async () => {
          expect(await ready()).toBe(200);
        },
        { timeout: 30_000, interval: 50 },
      );
      await commitHistory(database.db, env.QUEUE_PREFIX, before);
      await vi.waitFor(
        async () => {
          expect(await assessed()).toBeGreaterThan(20);
        },
        { timeout: 30_000, interval: 20 },
      );

      await proxy.cut();
      await vi.waitFor(
        async () => {
          const response = await fetch(`http://127.0.0.1:${String(port)}/health/ready`);
          expect(response.status).toBe(503);
          expect(((await response.json()) as { checks: Record<string, string> }).checks).toHaveProperty("redis");
        },
        { timeout: 30_000, interval: 50 },
      );
      // Work keeps arriving while the worker cannot reach Redis (the relay reaches it directly).
      await commitHistory(database.db, env.QUEUE_PREFIX, after);
      expect(worker.child.exitCode).toBeNull();

      await proxy.restore();
      await vi.waitFor(
        async () => {
          expect(await assessed()).toBe(before.length + after.length);
        },
        { timeout: 90_000, interval: 100 },
      );
      expect(await ready()).toBe(200);
      await vi.waitFor(
        async () => {
          expect(await queues.get("risk").getJobCounts("completed", "failed")).toEqual({
            completed: before.length + after.length,
            failed: 0,
          });
        },
        { timeout: 30_000, interval: 100 },
      );
    } finally {
      expect((await stopWorker(worker)).code).toBe(0);
      await queues.clean();
    }
  }, 180_000);
});
