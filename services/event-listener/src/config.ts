import { baseEnvSchema, chainEnvShape, checkQueuePrefix, loadConfig, urlSchema, envNumber } from "@paimon/core/config";
import { DEFAULT_QUEUE_PREFIX } from "@paimon/core/queues";
import { z } from "zod";

/** The event listener's environment (names of the operations spec's §2–§3), checked once at start. */
export const listenerEnvSchema = baseEnvSchema.extend({
  ...chainEnvShape,
  /** JSON-RPC over WebSocket: new-head notifications only wake the listener up. Unset: it polls. */
  BSC_WS_URL: urlSchema(["ws:", "wss:"]).optional(),
  /** The block the fund was deployed in: where following starts on an empty database. */
  FUND_DEPLOY_BLOCK: envNumber(z.number().int().min(0)).default(0),
  /** The widest `eth_getLogs` range asked for; halved on the node's range errors. */
  MAX_BLOCK_RANGE: envNumber(z.number().int().min(1).max(100_000)).default(2_000),
  /** Without a new-head notification for this long, the listener polls. */
  POLL_INTERVAL_MS: envNumber(z.number().int().min(50).max(60_000)).default(3_000),
  /** Readiness fails when the last processed block is further than this behind the head. */
  MAX_HEAD_LAG_BLOCKS: envNumber(z.number().int().min(1)).default(50),
  /** Each JSON-RPC request's deadline (connection, headers and body); a node that never answers fails it. */
  RPC_TIMEOUT_MS: envNumber(z.number().int().min(100).max(120_000)).default(10_000),
  /** Attempts of one JSON-RPC call (timeouts, resets, 5xx, rate limits) before its step fails. */
  RPC_ATTEMPTS: envNumber(z.number().int().min(1).max(20)).default(8),
  /**
   * The writer's database deadline: connecting, and each statement (PostgreSQL cancels it at this
   * age; with no answer at all a little later, the connection — and the lock — is given up).
   */
  DATABASE_TIMEOUT_MS: envNumber(z.number().int().min(500).max(600_000)).default(30_000),
  /** Health and metrics (8001 in the cluster; 0 picks a free port in tests). */
  HEALTH_PORT: envNumber(z.number().int().min(0).max(65535)).default(8001),
  /** Key prefix of the BullMQ queues in Redis (tests give each run its own). */
  QUEUE_PREFIX: z.string().min(1).default(DEFAULT_QUEUE_PREFIX),
});
export type ListenerConfig = z.infer<typeof listenerEnvSchema>;

export const loadListenerConfig = (env: Readonly<Record<string, string | undefined>>): Readonly<ListenerConfig> =>
  checkQueuePrefix(loadConfig(listenerEnvSchema, env));
