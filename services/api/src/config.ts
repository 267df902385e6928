import { baseEnvSchema, loadConfig } from "@paimon/core/config";
import { z } from "zod";

/** The API's environment (the names of the operations spec's §2–§3), checked once at start. */
export const apiEnvSchema = baseEnvSchema.extend({
  /** 8000 in the cluster; 0 picks a free port (tests). */
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  /** HS256 key of operator tokens: the `jwt-secret` secret. */
  JWT_SECRET: z.string().min(32, "must be at least 32 characters"),
  /** CloudFront's `X-Origin-Verify` value; unset where there is no edge (development). */
  ORIGIN_VERIFY_SECRET: z.string().min(16).optional(),
  /** Readiness fails when the chain follower's checkpoint is older than this; 0 disables. */
  MAX_CHAIN_SYNC_AGE_SECONDS: z.coerce.number().int().min(0).default(120),
});
export type ApiConfig = z.infer<typeof apiEnvSchema>;

export const loadApiConfig = (env: Readonly<Record<string, string | undefined>>): Readonly<ApiConfig> =>
  loadConfig(apiEnvSchema, env);
