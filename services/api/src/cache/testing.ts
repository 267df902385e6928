/**
 * What the response cache's tests share: the listener's own commit path (`commitBatch`,
 * `rollBack`, `touchCursor`) writing blocks of fund history into a test database, and an app
 * wired as main.ts wires it — commit signals, the cache following them, the routes, one metrics
 * registry — on a clock the test moves, and what its `/metrics` says.
 */
import { once } from "node:events";
import { PassThrough } from "node:stream";
import { CHAIN_COMMIT_CHANNEL, RISK_COMMIT_CHANNEL } from "@paimon/core/commit-signal";
import type { Database, MetricsDatabase } from "@paimon/core/db";
import { createLogger, type Logger } from "@paimon/core/logger";
import type { MetricName } from "@paimon/core/metrics";
import type { RedisClient } from "@paimon/core/redis";
import { rollBack } from "@paimon/event-listener/store";
import {
  blockHash,
  commitBlock as commitSyntheticBlock,
  type SyntheticBlock,
} from "@paimon/event-listener/synthetic-blocks";
import type { Express } from "express";
import type { Kysely } from "kysely";
import request from "supertest";
import { createApiMetrics } from "../metrics";
import { createTestApp } from "../testing";
import { createCommitSignals, type CommitSignals } from "./commit-signals";
import { HotReads } from "./hot-reads";

export const TEST_CHAIN_ID = 56;
export const RECHECK_MS = 1_000;

export { blockHash };

/** Commits `block` on the test chain as the listener does at the tip (one batch, its signal on commit). */
export const commitBlock = (db: Kysely<Database>, block: SyntheticBlock) =>
  commitSyntheticBlock(db, TEST_CHAIN_ID, block);

/** Undoes every block above `number` (of fork 0), as the listener does on a reorganisation. */
export function rollBackTo(db: Kysely<Database>, number: number): Promise<number> {
  return rollBack(db, TEST_CHAIN_ID, { number: BigInt(number), hash: blockHash(number) });
}

export const silentLogger = (): Logger =>
  createLogger({ service: "paimon-api", environment: "test", stream: new PassThrough() });

/** A clock the test moves by hand: the cache's re-check interval passes only when the test says so. */
export function manualClock() {
  let now = 0;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** The app with its response cache, following the signals of `signalsUrl` (the test database's by default). */
export async function cachedApp(options: {
  readonly db: Kysely<Database>;
  readonly metricsDb: Kysely<MetricsDatabase>;
  readonly redis: RedisClient;
  /** Where the commit signals are listened for. */
  readonly signalsUrl: string;
  readonly now: () => number;
  readonly logger?: Logger;
}) {
  const logger = options.logger ?? silentLogger();
  const signals: CommitSignals = createCommitSignals({
    sources: [{ url: options.signalsUrl, channels: [CHAIN_COMMIT_CHANNEL, RISK_COMMIT_CHANNEL] }],
    logger,
    timeoutMs: 5_000,
    reconnect: { startingDelayMs: 20, maxDelayMs: 200 },
    heartbeatMs: 60_000,
  });
  const { registry, metrics } = createApiMetrics({ defaultMetrics: false });
  const hotReads = new HotReads({
    db: options.db,
    metricsDb: options.metricsDb,
    logger,
    metrics,
    recheckMs: RECHECK_MS,
    now: options.now,
  });
  hotReads.follow(signals);
  const listening = once(signals, "listening");
  signals.start();
  await listening;
  const { app } = createTestApp({
    db: options.db,
    metricsDb: options.metricsDb,
    redis: options.redis,
    logger,
    registry,
    metrics,
    hotReads,
    commitSignals: signals,
    rateLimitPerMinute: 1_000_000,
  });
  /** How many rebuilds of each resource started from now on. */
  const refreshes = () => {
    const counts = new Map<string, number>();
    hotReads.on("refresh", ({ resource }) => counts.set(resource, (counts.get(resource) ?? 0) + 1));
    return (resource: string) => counts.get(resource) ?? 0;
  };
  return { app, signals, hotReads, refreshes, close: () => signals.close() };
}

/** A series of a catalogued metric, a histogram's `_bucket`, `_sum` and `_count` included. */
export type SeriesName = MetricName | `${MetricName}_${"bucket" | "sum" | "count"}`;

/**
 * The Prometheus text exposition `text`, read as a query would: the sum of `name`'s series whose
 * labels include `labels` (0 when none has them).
 */
export function seriesValue(text: string, name: SeriesName, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (sample?.[1] !== name) continue;
    const own = new Map([...(sample[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]));
    if (Object.entries(labels).every(([label, value]) => own.get(label) === value)) sum += Number(sample[3]);
  }
  return sum;
}

/** The app's `/metrics` as it is now: `seriesValue` over it. */
export async function scrape(app: Express) {
  const { text } = await request(app).get("/metrics").expect(200);
  return (name: SeriesName, labels: Readonly<Record<string, string>> = {}) => seriesValue(text, name, labels);
}
