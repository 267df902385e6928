import type { Database, MetricsDatabase } from "@paimon/core/db";
import type { Logger } from "@paimon/core/logger";
import type { Metrics } from "@paimon/core/metrics";
import { AppError } from "@paimon/core/errors";
import express, { Router, type Express } from "express";
import { rateLimit } from "express-rate-limit";
import helmet from "helmet";
import type { RedisClient } from "@paimon/core/redis";
import type { Kysely } from "kysely";
import type { Registry } from "prom-client";
import { requireOperator, requireOrigin } from "./auth/operator";
import { fundRoutes } from "./fund/fund.routes";
import { openApiDocument } from "./openapi";
import type { HotReads } from "./cache/hot-reads";
import { healthRoutes, type HealthDeps } from "./health";
import { rateLimitKey } from "./http/client-address";
import { announcesBody, errorHandler, notFound, requireJsonBody } from "./http/errors";
import { identify, requestMetrics } from "./http/observability";
import { rebalanceRoutes } from "./rebalances/rebalances.routes";
import { redemptionRoutes } from "./redemptions/redemptions.routes";
import { riskRoutes } from "./risk/risk.routes";
import { transactionRoutes } from "./transactions/transactions.routes";

/** Request bodies beyond this are refused with 413. */
export const BODY_LIMIT = "16kb";

export interface AppDeps {
  readonly db: Kysely<Database>;
  /** The risk history (the risk monitor writes it). */
  readonly metricsDb: Kysely<MetricsDatabase>;
  readonly redis: RedisClient;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: Pick<Metrics, "paimon_http_request_duration_seconds">;
  readonly maxChainSyncAgeSeconds: number;
  readonly accepting: () => boolean;
  /** Signs operator tokens (the `jwt-secret` secret). */
  readonly jwtSecret: string;
  /** CloudFront's origin header value; absent in development, where there is no edge. */
  readonly originVerifySecret?: string | undefined;
  /** Requests one client may make per minute to /v1 (WAF limits per IP at the edge too). @default 600 */
  readonly rateLimitPerMinute?: number;
  /**
   * The window `rateLimitPerMinute` is counted over. Tests lengthen it, so that no window ends
   * while a slow machine is still sending a test's requests. @default 60_000 (a minute)
   */
  readonly rateLimitWindowMs?: number;
  /**
   * The fund and the redemption lists' first pages, served as built at the last commit.
   * @default none: every read queries (what tests that write rows without the writers' signals need)
   */
  readonly hotReads?: HotReads | undefined;
  /** The connections that hear the writers' commits, for readiness to report. */
  readonly commitSignals?: HealthDeps["commitSignals"];
}

/** The API, wired from its dependencies; it never listens (main.ts does). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  // Express's ETag would hash every body on every request; the per-block bodies (cache/) carry their
  // own, computed once per commit, and the rest is live state no client revalidates.
  app.set("etag", false);
  app.set("query parser", "simple");
  app.use(helmet());
  // Every request's own bookkeeping in one router layer (each layer costs a match per request).
  const measure = requestMetrics(deps.metrics.paimon_http_request_duration_seconds);
  app.use((request, response, next) => {
    // Once shutting down, the answer to every new request asks its client to reconnect (to another
    // instance); connections busy at that moment are closed by main.ts once their answer is out.
    if (!deps.accepting()) response.setHeader("connection", "close");
    identify(request, response);
    measure(request, response, next);
  });
  // Only a request that announces a body is checked and parsed: for the rest (every read) both
  // middlewares are no-ops, and skipping them spares two router layers per request.
  const body = Router().use(requireJsonBody, express.json({ limit: BODY_LIMIT, strict: true }));
  app.use((request, response, next) => {
    if (announcesBody(request)) body(request, response, next);
    else next();
  });
  // The read API first: the hot requests match their route without first passing the probes'.
  const fromEdge = requireOrigin(deps.originVerifySecret);
  const limit = rateLimit({
    windowMs: deps.rateLimitWindowMs ?? 60_000,
    limit: deps.rateLimitPerMinute ?? 600,
    standardHeaders: "draft-7",
    legacyHeaders: false,
    // The viewer's address as CloudFront wrote it, or the TCP peer; never X-Forwarded-For.
    keyGenerator: rateLimitKey,
    handler: (_request, _response, next) => {
      next(new AppError("rate_limited", "too many requests; slow down", { status: 429 }));
    },
  });
  // The edge's secret first (a request that lacks it is not counted against anyone), then the limit.
  app.use("/v1", (request, response, next) => {
    fromEdge(request, response, (error?: unknown) => {
      if (error === undefined) void limit(request, response, next);
      else next(error);
    });
  });
  app.use(fundRoutes(deps));
  app.use(redemptionRoutes(deps.db, deps.hotReads));
  app.use(riskRoutes(deps.metricsDb));
  app.use(rebalanceRoutes(deps.db, requireOperator(deps.jwtSecret)));
  app.use(transactionRoutes(deps.db));
  app.use(
    healthRoutes({
      db: deps.db,
      redis: deps.redis,
      maxChainSyncAgeSeconds: deps.maxChainSyncAgeSeconds,
      accepting: deps.accepting,
      ...(deps.commitSignals ? { commitSignals: deps.commitSignals } : {}),
    }),
  );
  const openApi = openApiDocument();
  app.get("/openapi.json", (_request, response) => {
    response.json(openApi);
  });
  app.get("/metrics", async (_request, response) => {
    response.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
