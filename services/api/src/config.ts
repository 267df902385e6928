import { baseEnvSchema, loadConfig, urlSchema, envNumber } from "@paimon/core/config";
import { z } from "zod";

/** The API's environment (the names of the operations spec's §2–§3), checked once at start. */
export const apiEnvSchema = baseEnvSchema.extend({
  /** The metrics database, where the risk history lives (TimescaleDB in the cluster; in development the same PostgreSQL). */
  METRICS_DATABASE_URL: urlSchema(["postgres:", "postgresql:"]),
  /** 8000 in the cluster; 0 picks a free port (tests). */
  PORT: envNumber(z.number().int().min(0).max(65535)).default(8000),
  /** HS256 key of operator tokens: the `jwt-secret` secret. */
  JWT_SECRET: z.string().min(32, "must be at least 32 characters"),
  /** CloudFront's `X-Origin-Verify` value; unset where there is no edge (development). */
  ORIGIN_VERIFY_SECRET: z.string().min(16).optional(),
  /** Readiness fails when the chain follower's checkpoint is older than this; 0 disables. */
  MAX_CHAIN_SYNC_AGE_SECONDS: envNumber(z.number().int().min(0)).default(120),
  /** Requests one client may make per minute to /v1 (the WAF also limits per IP at the edge). */
  RATE_LIMIT_PER_MINUTE: envNumber(z.number().int().min(1)).default(600),
  /**
   * On SIGTERM, how long readiness fails while requests are still served, so load balancers stop
   * routing here before the server stops accepting. 0 in Kubernetes, where the preStop hook
   * waits instead; set where nothing else does (docker-compose, bare processes).
   */
  SHUTDOWN_DELAY_SECONDS: envNumber(z.number().min(0).max(20)).default(0),
});
export type ApiConfig = z.infer<typeof apiEnvSchema>;

export const loadApiConfig = (env: Readonly<Record<string, string | undefined>>): Readonly<ApiConfig> =>
  loadConfig(apiEnvSchema, env);
