import { baseEnvSchema, checkQueuePrefix, loadConfig, urlSchema } from "@paimon/core/config";
import { DEFAULT_QUEUE_PREFIX } from "@paimon/core/queues";
import { isAddress } from "ethers";
import { z } from "zod";

/** The event listener's environment (names of the operations spec's §2–§3), checked once at start. */
export const listenerEnvSchema = baseEnvSchema.extend({
  /** JSON-RPC over HTTP: every read (logs, blocks) goes here. */
  BSC_RPC_URL: urlSchema(["http:", "https:"]),
  /** JSON-RPC over WebSocket: new-head notifications only wake the listener up. Unset: it polls. */
  BSC_WS_URL: urlSchema(["ws:", "wss:"]).optional(),
  /** The chain the node must be on (56 BSC, 97 its testnet, 31337 the devnet); checked at start. */
  CHAIN_ID: z.coerce.number().int().positive(),
  FUND_ADDRESS: z.string().refine((value) => isAddress(value), { message: "must be a 0x-prefixed address" }),
  /** The block the fund was deployed in: where following starts on an empty database. */
  FUND_DEPLOY_BLOCK: z.coerce.number().int().min(0).default(0),
  /**
   * Blocks behind the head at which a block counts as final, in addition to the node's own
   * `finalized` tag (whichever is older wins). Local nodes call `latest` final, so it is this
   * depth that holds work back there; on BSC, fast finality makes 3 a safe depth.
   */
  FINALITY_DEPTH: z.coerce.number().int().min(0).max(1000).default(3),
  /** The widest `eth_getLogs` range asked for; halved on the node's range errors. */
  MAX_BLOCK_RANGE: z.coerce.number().int().min(1).max(100_000).default(2_000),
  /** Without a new-head notification for this long, the listener polls. */
  POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(3_000),
  /** Readiness fails when the last processed block is further than this behind the head. */
  MAX_HEAD_LAG_BLOCKS: z.coerce.number().int().min(1).default(50),
  /** Health and metrics (8001 in the cluster; 0 picks a free port in tests). */
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(8001),
  /** Key prefix of the BullMQ queues in Redis (tests give each run its own). */
  QUEUE_PREFIX: z.string().min(1).default(DEFAULT_QUEUE_PREFIX),
});
export type ListenerConfig = z.infer<typeof listenerEnvSchema>;

export const loadListenerConfig = (env: Readonly<Record<string, string | undefined>>): Readonly<ListenerConfig> =>
  checkQueuePrefix(loadConfig(listenerEnvSchema, env));
