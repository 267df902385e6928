import type { Database, MetricsDatabase } from "@paimon/core/db";
import type { Logger } from "@paimon/core/logger";
import type { Metrics } from "@paimon/core/metrics";
import { AppError } from "@paimon/core/errors";
import express, { type Express } from "express";
import { rateLimit } from "express-rate-limit";
import helmet from "helmet";
import type { RedisClient } from "@paimon/core/redis";
import type { Kysely } from "kysely";
import type { Registry } from "prom-client";
import { requireOperator, requireOrigin } from "./auth/operator";
import { fundRoutes } from "./fund/fund.routes";
import { openApiDocument } from "./openapi";
import { healthRoutes } from "./health";
import { rateLimitKey } from "./http/client-address";
import { errorHandler, notFound, requireJsonBody } from "./http/errors";
import { requestId, requestMetrics } from "./http/observability";
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
}

/** The API, wired from its dependencies; it never listens (main.ts does). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  // Responses are live fund state: hashing every body for an ETag costs CPU and no client revalidates.
  app.set("etag", false);
  app.set("query parser", "simple");
  app.use(helmet());
  // Once shutting down, the answer to every new request asks its client to reconnect (to another
  // instance); connections busy at that moment are closed by main.ts once their answer is out.
  app.use((_request, response, next) => {
    if (!deps.accepting()) response.setHeader("connection", "close");
    next();
  });
  app.use(requestId);
  app.use(requestMetrics(deps.metrics.paimon_http_request_duration_seconds));
  app.use(requireJsonBody);
  app.use(express.json({ limit: BODY_LIMIT, strict: true }));
  app.use(
    healthRoutes({
      db: deps.db,
      redis: deps.redis,
      maxChainSyncAgeSeconds: deps.maxChainSyncAgeSeconds,
      accepting: deps.accepting,
    }),
  );
  const openApi = openApiDocument();
  app.get("/openapi.json", (_request, response) => {
    response.json(openApi);
  });
  app.get("/metrics", async (_request, response) => {
    response.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  app.use("/v1", requireOrigin(deps.originVerifySecret));
  app.use(
    "/v1",
    rateLimit({
      windowMs: 60_000,
      limit: deps.rateLimitPerMinute ?? 600,
      standardHeaders: "draft-7",
      legacyHeaders: false,
      // The viewer's address as CloudFront wrote it, or the TCP peer; never X-Forwarded-For.
      keyGenerator: rateLimitKey,
      handler: (_request, _response, next) => {
        next(new AppError("rate_limited", "too many requests; slow down", { status: 429 }));
      },
    }),
  );
  app.use(fundRoutes(deps.db, deps.metricsDb, deps.logger));
  app.use(redemptionRoutes(deps.db));
  app.use(riskRoutes(deps.metricsDb));
  app.use(rebalanceRoutes(deps.db, requireOperator(deps.jwtSecret)));
  app.use(transactionRoutes(deps.db));
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
