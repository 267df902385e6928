import { z } from "zod";
import { AppError } from "./errors";

/**
 * Reads a service's configuration from the environment, once, at start. Every bad or missing
 * variable is reported at once, by name; the result is frozen. No module reads `process.env`
 * but the composition roots, which pass it here.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): Readonly<z.infer<S>> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join(".") || "(environment)";
      // Missing means absent from the environment, not whatever a check's issue calls its input.
      const key = issue.path[0];
      return issue.code === "invalid_type" && typeof key === "string" && env[key] === undefined
        ? `${name}: missing`
        : `${name}: ${issue.message}`;
    });
    throw new AppError("invalid_configuration", `invalid configuration: ${problems.join("; ")}`, {
      details: { problems },
    });
  }
  return Object.freeze(result.data);
}

/**
 * A number read from the environment, then checked by `schema`: an empty value or anything but a
 * plain decimal number is refused by name (`PORT: must be a number, not ""`) — never read as 0,
 * as `envNumber(z.number())` reads `""`, nor as "missing".
 */
export function envNumber<S extends z.ZodNumber>(schema: S) {
  return z
    .string()
    .transform((value, context) => {
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(value.trim())) {
        context.addIssue({ code: "custom", message: `must be a number, not ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return Number(value);
    })
    .pipe(schema);
}

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a ${protocols.map((p) => p.replace(/:$/, "://")).join(" or ")} URL` },
  );

/** The variables every service reads (the names of the operations spec's §2–§3). */
export const baseEnvSchema = z.object({
  ENVIRONMENT: z.enum(["development", "test", "staging", "production"]),
  LOG_LEVEL: z.enum(["error", "warn", "info", "debug"]).default("info"),
  DATABASE_URL: url(["postgres:", "postgresql:"]),
  REDIS_URL: url(["redis:", "rediss:"]),
  /**
   * "true" where Redis runs in cluster mode (production's ElastiCache): the clients discover the
   * shards, and the queues' prefix must carry a hash tag (see QUEUE_PREFIX).
   */
  REDIS_CLUSTER: z
    .enum(["true", "false"], { message: 'must be "true" or "false"' })
    .default("false")
    .transform((value) => value === "true"),
  /** Connections each process keeps to PostgreSQL: replicas × this must stay under max_connections. */
  DATABASE_POOL_SIZE: envNumber(z.number().int().min(1).max(100)).default(10),
});
export type BaseConfig = z.infer<typeof baseEnvSchema>;

/**
 * A configuration whose QUEUE_PREFIX has no hash tag where Redis runs in cluster mode is refused,
 * naming the key: BullMQ's scripts touch several keys of a queue at once, which Redis Cluster
 * allows only when they share a slot, and a `{…}` tag in the prefix puts them all in one.
 */
export function checkQueuePrefix<C extends { readonly REDIS_CLUSTER: boolean; readonly QUEUE_PREFIX: string }>(
  config: C,
): C {
  if (config.REDIS_CLUSTER && !/\{[^{}]+\}/.test(config.QUEUE_PREFIX)) {
    const problem = "QUEUE_PREFIX: must contain a hash tag such as {paimon} when REDIS_CLUSTER is true";
    throw new AppError("invalid_configuration", `invalid configuration: ${problem}`, {
      details: { problems: [problem] },
    });
  }
  return config;
}
export { url as urlSchema };

/**
 * The chain every program that reads or writes the fund's contract names the same way: the
 * listener follows it, the rebalance worker sends the operator's transactions to it.
 */
export const chainEnvShape = {
  /** JSON-RPC over HTTP. */
  BSC_RPC_URL: url(["http:", "https:"]),
  /** The chain the node must be on (56 BSC, 97 its testnet, 31337 the devnet); checked at start. */
  CHAIN_ID: envNumber(z.number().int().positive()),
  FUND_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed address"),
  /**
   * Blocks behind the head at which a block counts as final, in addition to the node's own
   * `finalized` tag where a program reads it (whichever is older wins). Local nodes call `latest`
   * final, so it is this depth that holds work back there; on BSC, fast finality makes 3 a safe
   * depth.
   */
  FINALITY_DEPTH: envNumber(z.number().int().min(0).max(1000)).default(3),
};
