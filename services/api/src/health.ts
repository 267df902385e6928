import type { Database } from "@paimon/core/db";
import type { RedisClient } from "@paimon/core/redis";
import { sql, type Kysely } from "kysely";
import { Router } from "express";

export interface HealthDeps {
  readonly db: Kysely<Database>;
  readonly redis: RedisClient;
  /** A checkpoint older than this makes the API unready (the data it serves is stale). 0 disables the check. */
  readonly maxChainSyncAgeSeconds: number;
  /** False once shutdown has begun: the load balancer stops sending before the server closes. */
  readonly accepting: () => boolean;
  readonly now?: () => Date;
}

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => {
        reject(new Error(`timed out after ${ms} ms`));
      }, ms).unref(),
    ),
  ]);

/** `/health`: the process serves. `/health/ready`: PostgreSQL, Redis and chain sync are fresh; 503 naming what failed. */
export function healthRoutes(deps: HealthDeps): Router {
  const router = Router();
  router.get("/health", (_request, response) => {
    response.json({ status: "ok" });
  });
  router.get("/health/ready", async (_request, response) => {
    const checks: Record<string, string> = {};
    if (!deps.accepting()) checks["shutdown"] = "shutting down";
    await Promise.all([
      withTimeout(sql`select 1`.execute(deps.db), 2000).then(
        () => undefined,
        (error: unknown) => (checks["postgres"] = error instanceof Error ? error.message : "unreachable"),
      ),
      withTimeout(deps.redis.ping(), 2000).then(
        () => undefined,
        (error: unknown) => (checks["redis"] = error instanceof Error ? error.message : "unreachable"),
      ),
      deps.maxChainSyncAgeSeconds > 0
        ? withTimeout(
            deps.db
              .selectFrom("sync_checkpoints")
              .select((eb) => eb.fn.max("updated_at").as("latest"))
              .executeTakeFirst(),
            2000,
          ).then(
            (row) => {
              const latest = row?.latest ? new Date(row.latest) : undefined;
              const age = latest ? ((deps.now?.() ?? new Date()).getTime() - latest.getTime()) / 1000 : Infinity;
              if (age > deps.maxChainSyncAgeSeconds) {
                checks["chain_sync"] = latest
                  ? `last block processed ${Math.round(age)} s ago`
                  : "no block processed yet";
              }
            },
            () => undefined, // PostgreSQL's own check reports it
          )
        : Promise.resolve(),
    ]);
    const failed = Object.keys(checks).length > 0;
    response.status(failed ? 503 : 200).json(failed ? { status: "unavailable", failed: checks } : { status: "ready" });
  });
  return router;
}
