/**
 * The listener under load while each of its dependencies fails, both ways a dependency fails:
 * refused (its host is down: connections reset, new ones refused) and blackholed (connections
 * stay open and nothing comes back, which only deadlines notice). PostgreSQL, Redis and the node's
 * JSON-RPC each sit behind a TCP proxy; a producer mines fund activity all along; against the
 * node, the listener collects its garbage constantly (a deadline collected would never fire). For
 * each:
 *
 * - no crash: the process stays up through the fault;
 * - the truth: `/health` says what is wrong and `/health/ready` is 503 naming the dependency, and
 *   what can go on does (with Redis away the chain is still followed into PostgreSQL);
 * - no hang: once the dependency is back, the listener is at the head and ready within a bound;
 * - nothing lost or doubled: every event on chain is stored once, every redemption matches the
 *   contract, every outbox row is sent, and every queue holds exactly its rows.
 */
import { randomInt } from "node:crypto";
import { RedemptionStatus } from "@paimon/contracts";
import { COMMAND_TIMEOUT_MS } from "@paimon/core/redis";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { seededRandom } from "@paimon/core/testing/random";
import { createTcpProxy, type ProxyMode, type TcpProxy } from "@paimon/core/testing/tcp-proxy";
import { describe, expect, vi } from "vitest";
import { test } from "./fixture";
import {
  eventsOnChain,
  getHealth,
  listenerEnv,
  mineBlocks,
  produceFundActivity,
  spawnListener,
  stopListener,
  testQueues,
  waitForCursor,
  type Chain,
  type ListenerProcess,
} from "./testing";

const RPC_TIMEOUT_MS = 1_000;
const RPC_ATTEMPTS = 2;
const DATABASE_TIMEOUT_MS = 2_000;
const FINALITY_DEPTH = 2;
/**
 * With Redis away, a depth deeper than the chain grows during the check: the newest blocks are
 * then followed one per step (by hash, as at the tip), never skipped over by a range read, so a
 * step that waited on Redis would show as one command timeout per block.
 */
const DEEP_FINALITY_DEPTH = 64;
/** How long the listener may take to show a fault in its health, and to recover from one. */
const BOUND_MS = 30_000;
const WAIT = { timeout: BOUND_MS, interval: 50 } as const;

type Dependency = "postgres" | "redis" | "rpc";
type Fault = Exclude<ProxyMode, "forward">;

// The producer's choices follow from the seed (its timing against the faults does not).
// eslint-disable-next-line no-restricted-properties -- a test's replay switch, not configuration
const SEED = Number(process.env["FAULTS_SEED"] ?? randomInt(2 ** 31));

/** A listener of its own (database, queue prefix, proxies) under load. */
interface Rig {
  /** The file's devnet, which the producer drives. */
  readonly chain: Chain;
  readonly database: TestDatabase;
  readonly proxies: Readonly<Record<Dependency, TcpProxy>>;
  readonly queues: ReturnType<typeof testQueues>;
  readonly listener: ListenerProcess;
  readonly port: number;
  readonly producing: AbortController;
  readonly producer: Promise<number>;
  readonly finalityDepth: number;
}

/** The producer's pace: a block every so often, well within what a loaded machine's listener follows. */
const PACE_MS = 200;

async function startRig(
  chain: Chain,
  seed: number,
  options: {
    readonly gcPressure?: boolean;
    readonly finalityDepth?: number;
  } = {},
): Promise<Rig> {
  const finalityDepth = options.finalityDepth ?? FINALITY_DEPTH;
  const database = await createTestDatabase();
  const [postgres, redis, rpc] = await Promise.all([
    createTcpProxy({ host: "127.0.0.1", port: 5432 }),
    createTcpProxy({ host: "127.0.0.1", port: 6379 }),
    createTcpProxy({ host: "127.0.0.1", port: chain.devnet.port }),
  ]);
  const env: Record<string, string> = listenerEnv(chain, postgres.through(database.url), {
    REDIS_URL: `redis://127.0.0.1:${String(redis.port)}`,
    BSC_RPC_URL: `http://127.0.0.1:${String(rpc.port)}`,
    RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS),
    RPC_ATTEMPTS: String(RPC_ATTEMPTS),
    DATABASE_TIMEOUT_MS: String(DATABASE_TIMEOUT_MS),
    FINALITY_DEPTH: String(finalityDepth),
    POLL_INTERVAL_MS: "250",
  });
  // It polls: every request to the node goes through the proxy.
  delete env["BSC_WS_URL"];
  const queues = testQueues(env["QUEUE_PREFIX"]!);
  const listener = spawnListener(env, {
    gcPressure: options.gcPressure ?? false,
  });
  const producing = new AbortController();
  const producer = produceFundActivity(chain, seededRandom(seed), producing.signal, { paceMs: PACE_MS });
  producer.catch(() => undefined);
  const port = await listener.port;
  return {
    chain,
    database,
    proxies: { postgres, redis, rpc },
    queues,
    listener,
    port,
    producing,
    producer,
    finalityDepth,
  };
}

async function stopRig(rig: Rig): Promise<void> {
  rig.producing.abort();
  await rig.producer.catch(() => undefined);
  for (const proxy of Object.values(rig.proxies)) await proxy.set("forward");
  await stopListener(rig.listener);
  await rig.queues.clean();
  await Promise.all(Object.values(rig.proxies).map((proxy) => proxy.close()));
  await rig.database.drop();
}

const count = (listener: ListenerProcess, message: string) =>
  listener.lines().filter((line) => line["message"] === message).length;

async function cursor(rig: Rig): Promise<number> {
  const row = await rig.database.db.selectFrom("sync_checkpoints").select("block_number").executeTakeFirstOrThrow();
  return Number(row.block_number);
}

async function unsent(rig: Rig): Promise<number> {
  const rows = await rig.database.db.selectFrom("outbox").select("id").where("sent_at", "is", null).execute();
  return rows.length;
}

/** Following, at the head as the producer moves it, and ready: the state a fault starts from and recovery returns to. */
async function expectFollowing(rig: Rig, what: string): Promise<void> {
  const head = await rig.chain.provider.getBlockNumber();
  await waitForCursor(rig.database.db, head, BOUND_MS);
  await vi.waitFor(async () => {
    expect((await getHealth(rig.port, "/health/ready")).status, what).toBe(200);
  }, WAIT);
}

/**
 * Puts `dependency` in `fault`, checks what `during` says must hold meanwhile and that the
 * process is still up, then restores it and expects the listener back at the head, ready.
 */
async function withFault(rig: Rig, dependency: Dependency, fault: Fault, during: () => Promise<void>) {
  await expectFollowing(rig, `ready before ${dependency} ${fault}`);
  await rig.proxies[dependency].set(fault);
  try {
    await during();
    expect(rig.listener.child.exitCode, `the listener is up through ${dependency} ${fault}`).toBeNull();
  } finally {
    await rig.proxies[dependency].set("forward");
  }
  await expectFollowing(rig, `ready again after ${dependency} ${fault}`);
  expect(rig.listener.child.exitCode).toBeNull();
}

/** Quiesces the chain, lets the listener finish, and compares everything with the chain. */
async function expectExactlyOnce(rig: Rig): Promise<void> {
  rig.producing.abort();
  const transactions = await rig.producer;
  expect(transactions).toBeGreaterThan(0);
  // Past the finality depth, so that every settlement is releasable.
  await mineBlocks(rig.chain, rig.finalityDepth + 1);
  await waitForCursor(rig.database.db, await rig.chain.provider.getBlockNumber(), BOUND_MS);
  await vi.waitFor(async () => {
    expect(await unsent(rig)).toBe(0);
  }, WAIT);

  const db = rig.database.db;
  const truth = await eventsOnChain(rig.chain);
  const stored = await db
    .selectFrom("chain_events")
    .select(["block_hash", "log_index", "event_type"])
    .orderBy("block_number")
    .orderBy("log_index")
    .execute();
  expect(stored.map((e) => [e.block_hash, e.log_index, e.event_type])).toEqual(
    truth.map((e) => [e.blockHash, e.logIndex, e.name]),
  );

  const redemptions = await db.selectFrom("redemptions").select(["id", "status"]).orderBy("id").execute();
  expect(redemptions).toHaveLength(Number((await rig.chain.fund.nextRedemptionId()) - 1n));
  const statusOf = {
    requested: RedemptionStatus.Requested,
    settled: RedemptionStatus.Settled,
    cancelled: RedemptionStatus.Cancelled,
  };
  const onChain = await Promise.all(
    redemptions.map(async (r) => [r.id, Number((await rig.chain.fund.redemption(BigInt(r.id))).status)] as const),
  );
  expect(onChain).toEqual(redemptions.map((r) => [r.id, statusOf[r.status]]));

  const outbox = await db.selectFrom("outbox").select(["queue", "job_id"]).execute();
  expect(outbox.filter((row) => row.queue === "settlements")).toHaveLength(
    truth.filter((e) => e.name === "RedemptionRequested").length,
  );
  expect(outbox.filter((row) => row.queue === "risk")).toHaveLength(new Set(stored.map((e) => e.block_hash)).size);
  // Every queue holds as many jobs as it has outbox rows: none lost, none made twice.
  for (const queue of rig.queues.queues) {
    const counts = Object.values(await queue.getJobCounts());
    expect(
      counts.reduce((sum, n) => sum + n, 0),
      queue.name,
    ).toBe(outbox.filter((row) => row.queue === queue.name).length);
  }
}

describe("the event listener under load while a dependency fails", () => {
  test("when PostgreSQL is refused, then blackholed, then it stays up as a standby naming the database, takes the lock again once it is back and resumes from the checkpoint, every event once", async ({
    chain,
  }) => {
    console.info(`faults test seed ${String(SEED)} (replay with FAULTS_SEED=${String(SEED)})`);
    const rig = await startRig(chain, SEED);
    try {
      const LOST = "lost the writer's database connection, and the lock with it; standing by to take it again";
      for (const [index, fault] of (["refuse", "blackhole"] as const).entries()) {
        await withFault(rig, "postgres", fault, async () => {
          await vi.waitFor(async () => {
            expect(count(rig.listener, LOST)).toBe(index + 1);
            const health = await getHealth(rig.port, "/health");
            expect(health).toEqual({
              status: 200,
              body: {
                status: "ok",
                role: "standby",
                reason: expect.stringMatching(/^database (unreachable|connection lost): \S/) as string,
              },
            });
            const ready = await getHealth(rig.port, "/health/ready");
            expect(ready).toEqual({
              status: 503,
              body: {
                status: "unready",
                checks: {
                  role: "standby",
                  reason: expect.stringMatching(/^database (unreachable|connection lost)/) as string,
                },
              },
            });
          }, WAIT);
          // While the database is away the standby keeps trying it (and says so), never exiting.
          await vi.waitFor(async () => {
            const { body } = await getHealth(rig.port, "/health");
            expect(body["reason"]).toMatch(/^database unreachable: \S/);
          }, WAIT);
        });
      }
      // Each fault ended the writer's term; a new one began each time, from the committed checkpoint.
      expect(count(rig.listener, "writer lock acquired")).toBe(3);
      await expectExactlyOnce(rig);
    } finally {
      await stopRig(rig);
    }
    expect((await rig.listener.exited).code).toBe(0);
  }, 120_000);

  test("when Redis is refused, then blackholed, then the chain is still followed into PostgreSQL, a warning names Redis, readiness names it, and the outbox drains once it is back, every job once", async ({
    chain,
  }) => {
    const rig = await startRig(chain, SEED + 1, {
      finalityDepth: DEEP_FINALITY_DEPTH,
    });
    try {
      const WARNING = "Redis is not taking the outbox's work; it stays in the outbox and the chain is still followed";
      for (const [index, fault] of (["refuse", "blackhole"] as const).entries()) {
        await withFault(rig, "redis", fault, async () => {
          await vi.waitFor(async () => {
            expect(count(rig.listener, WARNING)).toBe(index + 1);
            const ready = await getHealth(rig.port, "/health/ready");
            expect(ready.status).toBe(503);
            expect(ready.body["checks"]).toEqual({
              redis: expect.stringMatching(/^Redis\b/) as string,
            });
            expect((await getHealth(rig.port, "/health")).body).toEqual({
              status: "ok",
              role: "writer",
              reason: expect.stringMatching(/^redis: Redis\b/) as string,
            });
          }, WAIT);
          // Following goes on meanwhile, at its own pace rather than one step per Redis timeout:
          // ten more blocks (besides the producer's), each a step of its own, are followed within
          // two command timeouts (a step that waited for Redis would take one timeout each).
          const before = await cursor(rig);
          await mineBlocks(chain, 10);
          const head = await chain.provider.getBlockNumber();
          await waitForCursor(rig.database.db, head, 2 * COMMAND_TIMEOUT_MS);
          expect(await cursor(rig)).toBeGreaterThan(before);
          // The work of what it followed waits in the outbox.
          expect(await unsent(rig)).toBeGreaterThan(0);
        });
      }
      await expectExactlyOnce(rig);
    } finally {
      await stopRig(rig);
    }
    expect((await rig.listener.exited).code).toBe(0);
  }, 120_000);

  test("when the node's JSON-RPC is refused, then blackholed, then each call fails within its deadline, readiness names BSC_RPC_URL and its host, and it follows to the head once the node is back, every event once", async ({
    chain,
  }) => {
    // Collecting garbage all the time: a deadline that something collected would never fire.
    const rig = await startRig(chain, SEED + 2, { gcPressure: true });
    try {
      const FAILED = "follower step failed; resuming from the last committed block";
      const host = `127.0.0.1:${String(rig.proxies.rpc.port)}`;
      const causes = {
        refuse: /ECONNREFUSED|ECONNRESET|other side closed|socket/,
        blackhole: new RegExp(`no answer within ${String(RPC_TIMEOUT_MS)} ms \\(${String(RPC_ATTEMPTS)} attempts\\)`),
      };
      for (const fault of ["refuse", "blackhole"] as const) {
        await withFault(rig, "rpc", fault, async () => {
          const failedBefore = count(rig.listener, FAILED);
          // Step after step fails within its deadline, and is logged: nothing waits forever.
          await vi.waitFor(async () => {
            expect(count(rig.listener, FAILED)).toBeGreaterThanOrEqual(failedBefore + 2);
            const ready = await getHealth(rig.port, "/health/ready");
            expect(ready.status).toBe(503);
            const checks = ready.body["checks"] as Record<string, string>;
            expect(checks["rpc"]).toMatch(new RegExp(`^BSC_RPC_URL \\(${host.replace(/\./g, "\\.")}\\): eth_\\w+: `));
            expect(checks["rpc"]).toMatch(causes[fault]);
            expect((await getHealth(rig.port, "/health")).body).toMatchObject({
              status: "ok",
              role: "writer",
              reason: expect.stringContaining(`rpc: BSC_RPC_URL (${host})`) as string,
            });
          }, WAIT);
        });
      }
      await expectExactlyOnce(rig);
    } finally {
      await stopRig(rig);
    }
    expect((await rig.listener.exited).code).toBe(0);
  }, 120_000);
});
