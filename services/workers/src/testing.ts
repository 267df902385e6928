/**
 * What the workers' tests share: an environment on the test's own database and queue prefix, a
 * worker as a real process (so it can be SIGKILLed), the queues under that prefix, and a fund
 * history committed through the listener's own code (`commitBatch`, the outbox relay) exactly as
 * the listener commits and relays it.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import type { Database } from "@paimon/core/db";
import { createRedisClient } from "@paimon/core/redis";
import type { TestDatabase } from "@paimon/core/testing";
import { spawnService, type ServiceProcess } from "@paimon/core/testing/service-process";
import { createRelay } from "@paimon/event-listener/relay";
import {
  blockHash,
  commitBlock,
  type LayerValues,
  type SyntheticBlock,
  type SyntheticCommitOptions,
} from "@paimon/event-listener/synthetic-blocks";
import type { Kysely } from "kysely";
import type { WorkerName } from "./config";

export const REDIS_URL = "redis://127.0.0.1:6379";
export const TEST_CHAIN_ID = 31337;
const BIN = path.join(__dirname, "bin.ts");
const ROOT = path.resolve(__dirname, "..", "..", "..");

export function workerEnv(
  database: TestDatabase,
  overrides: Record<string, string> = {},
): Record<string, string> & { QUEUE_PREFIX: string } {
  return {
    ENVIRONMENT: "test",
    DATABASE_URL: database.url,
    METRICS_DATABASE_URL: database.url,
    REDIS_URL,
    QUEUE_PREFIX: `paimon-test-${randomBytes(6).toString("hex")}`,
    HEALTH_PORT: "0",
    // A killed worker's job is taken again once its lock has expired: soon, in a test.
    WORKER_LOCK_DURATION_MS: "2000",
    ...overrides,
  };
}

/** Starts `bin.ts --worker=<worker>` with exactly `env`. */
export const spawnWorker = (worker: WorkerName, env: Record<string, string>): ServiceProcess =>
  spawnService(["--import", "tsx", BIN, `--worker=${worker}`], { cwd: ROOT, env });

/** How many risk assessments the metrics database holds. */
export async function countAssessments(database: TestDatabase): Promise<number> {
  const row = await database.metricsDb
    .selectFrom("risk_assessments")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function stopWorker(worker: ServiceProcess) {
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGTERM");
  return worker.exited;
}

export { blockHash };
export { testQueues } from "@paimon/event-listener/test-queues";

/** One block of fund history: new layer balances, and redemptions requested in it. */
export type HistoryBlock = SyntheticBlock & { readonly layers: LayerValues };

/**
 * Commits `blocks` with the listener's own `commitBatch` (one batch per block, as at the tip), then
 * relays the outbox with the listener's relay: the risk queue gets one notice per block.
 */
export async function commitHistory(
  db: Kysely<Database>,
  prefix: string,
  blocks: readonly HistoryBlock[],
  options: SyntheticCommitOptions & {
    /** Where the relay sends the work. @default this machine's Redis */
    readonly redis?: { readonly url: string; readonly cluster: boolean };
  } = {},
): Promise<void> {
  for (const block of blocks) await commitBlock(db, TEST_CHAIN_ID, block, options);
  // The relay's own connection, built as the listener builds it.
  const connection = createRedisClient(options.redis?.url ?? REDIS_URL, {
    cluster: options.redis?.cluster ?? false,
    role: "queue-producer",
  });
  await connection.connect();
  const relay = createRelay({ db, connection, prefix });
  try {
    await relay.relay(options.finalized ?? 0n);
  } finally {
    await relay.close();
    await connection.quit();
  }
}
