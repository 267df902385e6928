import { baseEnvSchema, loadConfig, urlSchema, envNumber } from "@paimon/core/config";
import { DEFAULT_CONNECT_TIMEOUT_MS } from "@paimon/core/db";
import { z } from "zod";

/** The API's environment (the names of the operations spec's §2–§3), checked once at start. */
export const apiEnvSchema = baseEnvSchema
  .extend({
    /** The metrics database, where the risk history lives (TimescaleDB in the cluster; in development the same PostgreSQL). */
    METRICS_DATABASE_URL: urlSchema(["postgres:", "postgresql:"]),
    /** 8000 in the cluster; 0 picks a free port (tests). */
    PORT: envNumber(z.number().int().min(0).max(65535)).default(8000),
    /** HS256 key of operator tokens: the `jwt-secret` secret. */
    JWT_SECRET: z.string().min(32, "must be at least 32 characters"),
    /** CloudFront's `X-Origin-Verify` value; unset where there is no edge (development). */
    ORIGIN_VERIFY_SECRET: z.string().min(16).optional(),
    /**
     * A chain follower's checkpoint older than this is reported as degraded by readiness (it does
     * not fail it: every replica shares the condition); 0 disables the report.
     */
    MAX_CHAIN_SYNC_AGE_SECONDS: envNumber(z.number().int().min(0)).default(120),
    /** PostgreSQL cancels an API statement running longer (`statement_timeout`); the request is a 503. */
    DATABASE_STATEMENT_TIMEOUT_MS: envNumber(z.number().int().min(100).max(600_000)).default(5_000),
    /**
     * A query with no answer from PostgreSQL after this fails on the client side and its connection
     * is dropped (a silent network, which the server's timeout cannot see). Must exceed
     * DATABASE_STATEMENT_TIMEOUT_MS, so a slow statement is cancelled by the server first.
     */
    DATABASE_QUERY_TIMEOUT_MS: envNumber(z.number().int().min(100).max(600_000)).default(6_000),
    /** Requests one client may make per minute to /v1 (the WAF also limits per IP at the edge). */
    RATE_LIMIT_PER_MINUTE: envNumber(z.number().int().min(1)).default(600),
    /**
     * On SIGTERM, how long readiness fails while requests are still served, so load balancers stop
     * routing here before the server stops accepting. 0 in Kubernetes, where the preStop hook
     * waits instead; set where nothing else does (docker-compose, bare processes).
     */
    SHUTDOWN_DELAY_SECONDS: envNumber(z.number().min(0).max(20)).default(0),
    /**
     * The fund and the redemption lists' first pages are served as built at the last commit the
     * writers announced; whatever the announcements do, a cached body is re-checked against the
     * checkpoint at most this long after it was last confirmed — the most it can lag a commit when
     * its announcement is lost. One cheap query per interval, and only while requests come.
     */
    RESPONSE_CACHE_RECHECK_MS: envNumber(z.number().int().min(10).max(60_000)).default(1_000),
    /** The ceiling of the backoff between attempts to listen for commits again after the connection is lost. */
    COMMIT_SIGNAL_RECONNECT_MAX_MS: envNumber(z.number().int().min(100).max(300_000)).default(10_000),
  })
  .refine((config) => config.DATABASE_QUERY_TIMEOUT_MS > config.DATABASE_STATEMENT_TIMEOUT_MS, {
    path: ["DATABASE_QUERY_TIMEOUT_MS"],
    message: "must exceed DATABASE_STATEMENT_TIMEOUT_MS",
  });
export type ApiConfig = z.infer<typeof apiEnvSchema>;

export const loadApiConfig = (env: Readonly<Record<string, string | undefined>>): Readonly<ApiConfig> =>
  loadConfig(apiEnvSchema, env);

/**
 * The API's PostgreSQL timeouts, for both of its pools: no request waits on the database for
 * longer than about the connect timeout plus the query timeout, and then it is a 503.
 */
export const databaseTimeouts = (
  config: Pick<ApiConfig, "DATABASE_STATEMENT_TIMEOUT_MS" | "DATABASE_QUERY_TIMEOUT_MS">,
) =>
  ({
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS,
    connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
  }) as const;
