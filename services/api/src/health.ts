import type { Database } from "@paimon/core/db";
import type { RedisClient } from "@paimon/core/redis";
import { sql, type Kysely } from "kysely";
import { Router } from "express";
import { chainSync } from "./fund/fund.repository";
import { ageSeconds } from "./http/data-age";

export interface HealthDeps {
  readonly db: Kysely<Database>;
  readonly redis: RedisClient;
  /** A checkpoint older than this is reported degraded (the data served is stale). 0 disables the report. */
  readonly maxChainSyncAgeSeconds: number;
  /** False once shutdown has begun: the load balancer stops sending before the server closes. */
  readonly accepting: () => boolean;
  /** The commit signals' connections; while one is not listening, cached reads re-check on their own (reported, not failed). */
  readonly commitSignals?: {
    status(): { readonly listening: true } | { readonly listening: false; readonly reason: string };
  };
  readonly now?: () => Date;
}

/** PostgreSQL must answer `select 1` within this (the probe itself times out after 3 s). */
export const READINESS_DATABASE_BOUND_MS = 2_000;
/** What is only reported must not slow the answer down either. */
const DEGRADED_CHECK_BOUND_MS = 1_000;

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => {
        reject(new Error(`timed out after ${ms} ms`));
      }, ms).unref(),
    ),
  ]);

const messageOf = (error: unknown) => (error instanceof Error ? error.message : "unreachable");

/**
 * `/health`: the process serves. `/health/ready`: whether *this* instance can serve — it is not
 * shutting down and its PostgreSQL pool runs `select 1` in time; else 503 naming what failed.
 * Conditions every replica shares (Redis down, the chain follower behind) do not fail it — they
 * would take every replica out of the load balancer at once — and are reported under `degraded`;
 * so is a lost commit signal connection (this instance still serves, its cache re-checking the
 * checkpoint on its own while the connection is replaced).
 */
export function healthRoutes(deps: HealthDeps): Router {
  const router = Router();
  router.get("/health", (_request, response) => {
    response.json({ status: "ok" });
  });
  router.get("/health/ready", async (_request, response) => {
    const failed: Record<string, string> = {};
    const degraded: Record<string, string> = {};
    if (!deps.accepting()) failed["shutdown"] = "shutting down";
    // A disconnected client says so at once (its commands would fail fast); a connected one must answer.
    if (deps.redis.status !== "ready") degraded["redis"] = `connection ${deps.redis.status}`;
    const signals = deps.commitSignals?.status();
    if (signals?.listening === false) degraded["commit_signals"] = signals.reason;
    await Promise.all([
      withTimeout(sql`select 1`.execute(deps.db), READINESS_DATABASE_BOUND_MS).then(
        () => undefined,
        (error: unknown) => (failed["postgres"] = messageOf(error)),
      ),
      deps.redis.status === "ready"
        ? withTimeout(deps.redis.ping(), DEGRADED_CHECK_BOUND_MS).then(
            () => undefined,
            (error: unknown) => (degraded["redis"] = messageOf(error)),
          )
        : undefined,
      deps.maxChainSyncAgeSeconds > 0
        ? withTimeout(chainSync(deps.db), DEGRADED_CHECK_BOUND_MS).then(
            (checkpoint) => {
              const age = checkpoint ? ageSeconds(checkpoint.updated_at, deps.now?.() ?? new Date()) : Infinity;
              if (age > deps.maxChainSyncAgeSeconds) {
                degraded["chain_sync"] = checkpoint
                  ? `last block processed ${Math.round(age)} s ago`
                  : "no block processed yet";
              }
            },
            () => undefined, // PostgreSQL's own check reports it
          )
        : undefined,
    ]);
    const ready = Object.keys(failed).length === 0;
    response.status(ready ? 200 : 503).json({
      status: ready ? "ready" : "unavailable",
      ...(ready ? {} : { failed }),
      ...(Object.keys(degraded).length > 0 ? { degraded } : {}),
    });
  });
  return router;
}
