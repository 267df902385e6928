/**
 * What `ops check` reads, from the environment, checked once naming each bad variable. Every
 * source is optional: an item whose source is not configured answers `unknown`, saying which
 * variable would give it one — the daily CronJob configures what the daily items read, an
 * operator's monthly run what the monthly ones do.
 */
import { envNumber, urlSchema } from "@paimon/core/config";
import { EVENT_LISTENER, WORKERS, workerName } from "@paimon/core/workloads";
import { z } from "zod";
import { BACKUP_KINDS, isBackupKind, type BackupKind } from "../manifest";
import type { ServiceTarget } from "./types";

/** The API's Service and Prometheus job (its chart's name). */
export const API_JOB = "paimon-api";

const optionalUrl = (protocols: readonly string[]) => urlSchema(protocols).optional();
const list = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .string()
    .transform((text) =>
      text
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== ""),
    )
    .pipe(z.array(item));

/** The services whose health the daily check reads: their URL variable, name and Prometheus job. */
export const SERVICE_URLS = {
  API_URL: { name: "api", job: API_JOB },
  EVENT_LISTENER_URL: { name: "event-listener", job: EVENT_LISTENER },
  ...Object.fromEntries(
    WORKERS.map((worker) => [
      `${worker.toUpperCase()}_WORKER_URL`,
      { name: `${worker}-worker`, job: workerName(worker) },
    ]),
  ),
} as Readonly<Record<string, { readonly name: string; readonly job: string }>>;

const http = ["http:", "https:"];

export const checkEnvSchema = z.object({
  PROMETHEUS_URL: optionalUrl(http),
  ...Object.fromEntries(Object.keys(SERVICE_URLS).map((key) => [key, optionalUrl(http)])),
  DATABASE_URL: optionalUrl(["postgres:", "postgresql:"]),
  PGSSLROOTCERT: z.string().min(1).optional(),
  REDIS_URL: optionalUrl(["redis:", "rediss:"]),
  BACKUP_TARGET: z
    .string()
    .refine((value) => /^(file|s3):\/\/./.test(value), "must be a file:// or s3:// URL")
    .optional(),
  AWS_REGION: z.string().min(1).optional(),
  AWS_S3_ENDPOINT: optionalUrl(http),
  /** The backup kinds this environment makes. @default every kind of the backup table */
  CHECK_BACKUP_KINDS: list(
    z.string().refine(isBackupKind, `must name backup kinds (${Object.keys(BACKUP_KINDS).join(", ")})`),
  ).optional(),
  /** `host:port` endpoints whose TLS certificate the weekly check reads. */
  CHECK_TLS_ENDPOINTS: list(z.string().regex(/^[\w.-]+:\d{1,5}$/, "must be host:port entries")).optional(),
  /** A PEM file of CAs trusted besides Node's own, for endpoints a private CA signs. */
  CHECK_TLS_CA_FILE: z.string().min(1).optional(),
  /** A plan snapshot, `infra/plans/<stack>.json`: the access review reads it. */
  PLAN_FILE: z.string().min(1).optional(),
  /** The pnpm workspace whose dependencies the monthly check audits (the repository's root). */
  CHECK_WORKSPACE: z.string().min(1).optional(),
  PUSHGATEWAY_URL: optionalUrl(http),
  /** How long any one request of a check may take. */
  CHECK_TIMEOUT_MS: envNumber(z.number().int().min(100).max(600_000)).default(10_000),
});

export interface CheckConfig {
  readonly prometheusUrl: string | undefined;
  readonly services: readonly ServiceTarget[];
  readonly databaseUrl: string | undefined;
  readonly sslRootCert: string | undefined;
  readonly redisUrl: string | undefined;
  readonly backupTarget: string | undefined;
  readonly awsRegion: string | undefined;
  readonly s3Endpoint: string | undefined;
  readonly backupKinds: readonly BackupKind[];
  readonly tlsEndpoints: readonly string[];
  readonly tlsCaFile: string | undefined;
  readonly planFile: string | undefined;
  readonly workspace: string | undefined;
  readonly pushgatewayUrl: string | undefined;
  readonly timeoutMs: number;
}

/** The parsed environment as the checks use it. */
export function checkConfig(env: Readonly<z.infer<typeof checkEnvSchema>>): CheckConfig {
  const values = env as Record<string, unknown>;
  return {
    prometheusUrl: env.PROMETHEUS_URL,
    services: Object.entries(SERVICE_URLS).flatMap(([key, service]) => {
      const url = values[key];
      return typeof url === "string" ? [{ ...service, url }] : [];
    }),
    databaseUrl: env.DATABASE_URL,
    sslRootCert: env.PGSSLROOTCERT,
    redisUrl: env.REDIS_URL,
    backupTarget: env.BACKUP_TARGET,
    awsRegion: env.AWS_REGION,
    s3Endpoint: env.AWS_S3_ENDPOINT,
    backupKinds: (env.CHECK_BACKUP_KINDS ?? Object.keys(BACKUP_KINDS)).filter(isBackupKind),
    tlsEndpoints: env.CHECK_TLS_ENDPOINTS ?? [],
    tlsCaFile: env.CHECK_TLS_CA_FILE,
    planFile: env.PLAN_FILE,
    workspace: env.CHECK_WORKSPACE,
    pushgatewayUrl: env.PUSHGATEWAY_URL,
    timeoutMs: env.CHECK_TIMEOUT_MS,
  };
}
