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
      return issue.code === "invalid_type" && issue.input === undefined
        ? `${name}: missing`
        : `${name}: ${issue.message}`;
    });
    throw new AppError("invalid_configuration", `invalid configuration: ${problems.join("; ")}`, {
      details: { problems },
    });
  }
  return Object.freeze(result.data);
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
  /** Connections each process keeps to PostgreSQL: replicas × this must stay under max_connections. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
});
export type BaseConfig = z.infer<typeof baseEnvSchema>;

export { url as urlSchema };
