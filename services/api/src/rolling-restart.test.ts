/**
 * A rolling restart under keep-alive load: two API processes behind a load balancer that
 * health-checks `/health/ready`; each is sent SIGTERM in turn, repeatedly, and replaced once it
 * has exited — as a Deployment's rolling update does. Every request of the load must succeed,
 * and every process must exit 0 inside the pod's grace period.
 */
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { loadDemoFund } from "@paimon/core/demo";
import { createLoadBalancer, type LoadBalancer } from "@paimon/core/testing/load-balancer";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { spawnService } from "@paimon/core/testing/service-process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GRACE_PERIOD_SECONDS } from "../../../infra/k8s/api-chart";
import { TEST_JWT_SECRET } from "./testing";

const BIN = path.join(__dirname, "bin.ts");
const ROUNDS = 3;
const CLIENTS = 8;

interface Instance {
  readonly url: string;
  /** Sends SIGTERM; resolves with the exit code and how long the process took to exit. */
  stop(): Promise<{ code: number | null; ms: number }>;
}

/** Every process the test started: whatever is still running at the end is killed, pass or fail. */
const spawned = new Set<ChildProcess>();

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const service = spawnService(["--import", "tsx", BIN], { cwd: path.resolve(__dirname, "..", "..", ".."), env });
  spawned.add(service.child);
  const port = await service.port;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    async stop() {
      const started = performance.now();
      service.child.kill("SIGTERM");
      const { code } = await service.exited;
      return { code, ms: performance.now() - started };
    },
  };
}

describe("a rolling restart under keep-alive load", () => {
  let database: TestDatabase;
  let balancer: LoadBalancer;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    await loadDemoFund(database.db, database.metricsDb);
    balancer = await createLoadBalancer({ healthPath: "/health/ready", intervalMs: 100 });
    env = {
      ENVIRONMENT: "test",
      PORT: "0",
      DATABASE_URL: database.url,
      METRICS_DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      JWT_SECRET: TEST_JWT_SECRET,
      MAX_CHAIN_SYNC_AGE_SECONDS: "0",
      // No preStop hook here: the process itself fails readiness for a moment before closing.
      SHUTDOWN_DELAY_SECONDS: "0.5",
      RATE_LIMIT_PER_MINUTE: "1000000",
    };
  });

  afterAll(async () => {
    for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await balancer.close();
    await database.drop();
  });

  it("when each of two instances is restarted with SIGTERM three times, then no request fails", async () => {
    const instances = [await startInstance(env), await startInstance(env)];
    const upstreams = () => instances.map((instance) => instance.url);
    balancer.setUpstreams(upstreams());
    await Promise.all(upstreams().map((url) => balancer.waitUntilHealthy(url)));

    const outcome = { ok: 0, failed: [] as string[] };
    let loading = true;
    // Each client is one keep-alive connection to the balancer, asking as fast as it is answered.
    const client = async (index: number) => {
      const paths = ["/v1/fund", "/v1/redemptions?limit=20", "/v1/rebalances"];
      for (let n = index; loading; n += 1) {
        const target = `${balancer.url}${paths[n % paths.length] ?? "/"}`;
        try {
          const response = await fetch(target);
          await response.arrayBuffer();
          if (response.status === 200) outcome.ok += 1;
          else outcome.failed.push(`${target}: ${String(response.status)}`);
        } catch (error) {
          outcome.failed.push(`${target}: ${String(error)}`);
        }
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, index) => client(index)));
    const exits: { code: number | null; ms: number }[] = [];
    try {
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const slot of [0, 1]) {
          const requestsBefore = outcome.ok;
          const old = instances[slot];
          if (!old) throw new Error("no instance");
          // As a Deployment with maxSurge 1 and maxUnavailable 0: the replacement joins first, and
          // the old one is signalled once the replacement is ready.
          const replacement = await startInstance(env);
          balancer.setUpstreams([...upstreams(), replacement.url]);
          await balancer.waitUntilHealthy(replacement.url);
          exits.push(await old.stop());
          instances[slot] = replacement;
          balancer.setUpstreams(upstreams());
          // The load kept flowing through the restart.
          expect(outcome.ok).toBeGreaterThan(requestsBefore);
        }
      }
    } finally {
      // Whatever happened above, the load stops before the test ends.
      loading = false;
      await load;
    }
    const finals = await Promise.all(instances.map((instance) => instance.stop()));

    expect(outcome.failed).toEqual([]);
    expect(outcome.ok).toBeGreaterThan(100);
    for (const exit of [...exits, ...finals]) {
      expect(exit.code).toBe(0);
      expect(exit.ms).toBeLessThan(GRACE_PERIOD_SECONDS * 1000);
    }
    expect(exits).toHaveLength(ROUNDS * 2);
    // Eight processes start one after another through tsx, each in 10–20 s on a loaded 2-core machine.
  }, 400_000);
});
