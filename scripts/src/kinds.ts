/**
 * How each kind of the backup table is made, and how the kinds that are not PostgreSQL's are
 * restored, from the CLI's configuration: the variables each kind reads (checked with the rest of
 * the environment, once), the AWS clients it needs (built here, from those variables only), and
 * one producer per kind for `makeBackup`.
 *
 *   postgres     pg_dump -Fc of DATABASE_URL
 *   timescaledb  pg_dump -Fc of METRICS_DATABASE_URL, with TimescaleDB's version (timescale.ts)
 *   redis        REDIS_BACKUP_MODE=local: BGSAVE of REDIS_URL and its RDB (redis.ts);
 *                =elasticache: a snapshot of ELASTICACHE_REPLICATION_GROUP_ID (or
 *                ELASTICACHE_CACHE_CLUSTER_ID) exported into the bucket (elasticache.ts)
 *   secrets      every secret under SECRETS_PREFIX, sealed with BACKUP_KMS_KEY_ID (secrets.ts)
 */
import { ElastiCacheClient } from "@aws-sdk/client-elasticache";
import { KMSClient } from "@aws-sdk/client-kms";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { envNumber, urlSchema } from "@paimon/core/config";
import { AppError } from "@paimon/core/errors";
import { createRedisClient } from "@paimon/core/redis";
import { Redis } from "ioredis";
import { z } from "zod";
import type { BackupTarget, Produced } from "./backups";
import { exportElastiCacheSnapshot } from "./elasticache";
import type { BackupKind, Manifest } from "./manifest";
import { dumpPostgres } from "./postgres";
import { saveRedis } from "./redis";
import { keyArn } from "./secrets-envelope";
import { exportSecrets, restoreSecrets } from "./secrets";
import { openStore, s3Location, type BackupStore } from "./store";
import { dumpTimescale, restoreTimescale } from "./timescale";

const optionalUrl = (protocols: readonly string[]) => urlSchema(protocols).optional();

/** The variables the backup kinds read beyond the store's. */
export const kindsEnvShape = {
  METRICS_DATABASE_URL: optionalUrl(["postgres:", "postgresql:"]),
  REDIS_BACKUP_MODE: z.enum(["local", "elasticache"]).default("local"),
  ELASTICACHE_REPLICATION_GROUP_ID: z.string().min(1).optional(),
  ELASTICACHE_CACHE_CLUSTER_ID: z.string().min(1).optional(),
  /** The names of the snapshots the backup takes, and the only ones it may delete. */
  ELASTICACHE_SNAPSHOT_PREFIX: z
    .string()
    .regex(/^[a-z](?:-?[a-z0-9])*-?$/, "must be lower-case letters, digits and single hyphens, starting with a letter")
    .optional(),
  /** The bound on each wait (the snapshot; its export). The CronJob's deadline must be longer. */
  ELASTICACHE_WAIT_SECONDS: envNumber(z.number().positive().max(86_400)).default(2400),
  ELASTICACHE_POLL_SECONDS: envNumber(z.number().positive().max(600)).default(5),
  AWS_ELASTICACHE_ENDPOINT: optionalUrl(["http:", "https:"]),
  /** `paimon/<stack>/`: the secrets a secrets backup holds, and the only ones its restore writes. */
  SECRETS_PREFIX: z
    .string()
    .regex(/^[\w+=.@-]+(\/[\w+=.@-]+)*\/$/, "must be a Secrets Manager name prefix ending in /, e.g. paimon/staging/")
    .optional(),
  AWS_SECRETS_MANAGER_ENDPOINT: optionalUrl(["http:", "https:"]),
  AWS_KMS_ENDPOINT: optionalUrl(["http:", "https:"]),
} as const;

/** What the kinds read: their own variables, and those of the store and the databases. */
export interface KindsConfig {
  readonly BACKUP_TARGET: string;
  readonly DATABASE_URL?: string | undefined;
  readonly REDIS_URL?: string | undefined;
  readonly BACKUP_KMS_KEY_ID?: string | undefined;
  readonly AWS_REGION?: string | undefined;
  readonly AWS_S3_ENDPOINT?: string | undefined;
  readonly PGSSLROOTCERT?: string | undefined;
  readonly METRICS_DATABASE_URL?: string | undefined;
  readonly REDIS_BACKUP_MODE: "local" | "elasticache";
  readonly ELASTICACHE_REPLICATION_GROUP_ID?: string | undefined;
  readonly ELASTICACHE_CACHE_CLUSTER_ID?: string | undefined;
  readonly ELASTICACHE_SNAPSHOT_PREFIX?: string | undefined;
  readonly ELASTICACHE_WAIT_SECONDS: number;
  readonly ELASTICACHE_POLL_SECONDS: number;
  readonly AWS_ELASTICACHE_ENDPOINT?: string | undefined;
  readonly SECRETS_PREFIX?: string | undefined;
  readonly AWS_SECRETS_MANAGER_ENDPOINT?: string | undefined;
  readonly AWS_KMS_ENDPOINT?: string | undefined;
}

/** A configuration refusal naming the variable (exit 64), for what a kind needs and the schema cannot require. */
export function configurationError(name: string, problem: string): AppError {
  return new AppError("invalid_configuration", `invalid configuration: ${name}: ${problem}`, {
    details: { problems: [`${name}: ${problem}`] },
  });
}

type Required = "DATABASE_URL" | "REDIS_URL" | "METRICS_DATABASE_URL" | "SECRETS_PREFIX" | "BACKUP_KMS_KEY_ID";
export function need(config: KindsConfig, name: Required, why?: string): string {
  const value = config[name];
  if (value === undefined) throw configurationError(name, why === undefined ? "missing" : `missing (${why})`);
  return value;
}

const regional = (config: KindsConfig, endpoint: string | undefined) => ({
  ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
  ...(endpoint ? { endpoint } : {}),
});
const kmsClient = (config: KindsConfig) => new KMSClient(regional(config, config.AWS_KMS_ENDPOINT));
const secretsClients = (config: KindsConfig) => ({
  secretsManager: new SecretsManagerClient(regional(config, config.AWS_SECRETS_MANAGER_ENDPOINT)),
  kms: kmsClient(config),
});

/**
 * The store a backup writes to. On S3 the SSE-KMS header must carry the key's ARN (the bucket
 * refuses any other); the charts can name the data key only by its alias, so it is resolved here.
 */
export async function openBackupStore(config: KindsConfig): Promise<BackupStore> {
  const configured = config.BACKUP_KMS_KEY_ID;
  const kmsKeyId =
    configured !== undefined && s3Location(config.BACKUP_TARGET)
      ? await keyArn(kmsClient(config), configured)
      : configured;
  return openStore(config.BACKUP_TARGET, { region: config.AWS_REGION, s3Endpoint: config.AWS_S3_ENDPOINT, kmsKeyId });
}

function elastiCacheSource(config: KindsConfig) {
  const group = config.ELASTICACHE_REPLICATION_GROUP_ID;
  const cluster = config.ELASTICACHE_CACHE_CLUSTER_ID;
  if ((group === undefined) === (cluster === undefined))
    throw configurationError(
      "ELASTICACHE_REPLICATION_GROUP_ID",
      "REDIS_BACKUP_MODE=elasticache needs exactly one of it and ELASTICACHE_CACHE_CLUSTER_ID",
    );
  return group !== undefined ? { replicationGroupId: group } : { cacheClusterId: cluster ?? "" };
}

export type Producer = (directory: string, backup: BackupTarget) => Promise<Produced>;

/** How a backup of `kind` is made under this configuration; a missing variable is refused before anything runs. */
export function producer(kind: BackupKind, config: KindsConfig, store: BackupStore): Producer {
  switch (kind) {
    case "postgres": {
      const url = need(config, "DATABASE_URL");
      return async (directory) => {
        const { file, snapshot } = await dumpPostgres({ url, directory, sslRootCert: config.PGSSLROOTCERT });
        return {
          files: [file],
          tables: snapshot.tables,
          position: { wal_lsn: snapshot.walLsn, listener_block: snapshot.listenerBlock },
          source: { server_version: snapshot.serverVersion, database: snapshot.database },
        };
      };
    }
    case "timescaledb": {
      const url = need(config, "METRICS_DATABASE_URL");
      return (directory) => dumpTimescale({ url, directory, sslRootCert: config.PGSSLROOTCERT });
    }
    case "redis": {
      if (config.REDIS_BACKUP_MODE === "elasticache") {
        const location = s3Location(config.BACKUP_TARGET);
        if (!location)
          throw configurationError("BACKUP_TARGET", "REDIS_BACKUP_MODE=elasticache exports to S3: an s3:// target");
        const prefix = config.ELASTICACHE_SNAPSHOT_PREFIX;
        if (prefix === undefined)
          throw configurationError("ELASTICACHE_SNAPSHOT_PREFIX", "missing (REDIS_BACKUP_MODE=elasticache)");
        const source = elastiCacheSource(config);
        const client = new ElastiCacheClient(regional(config, config.AWS_ELASTICACHE_ENDPOINT));
        return (_directory, backup) =>
          exportElastiCacheSnapshot(
            {
              client,
              store,
              bucket: location.bucket,
              keyPrefix: location.prefix,
              source,
              snapshotPrefix: prefix,
              wait: { maxWaitSeconds: config.ELASTICACHE_WAIT_SECONDS, pollSeconds: config.ELASTICACHE_POLL_SECONDS },
            },
            backup,
          );
      }
      const url = need(config, "REDIS_URL");
      return async (directory) => {
        // The services' one Redis client (its timeouts, TLS and AUTH from the URL); BGSAVE needs a
        // single server whose files this host reads, never a cluster.
        const redis = createRedisClient(url, { role: "commands" });
        if (!(redis instanceof Redis)) throw new Error("REDIS_URL: a local BGSAVE needs a single Redis server");
        await redis.connect();
        try {
          const saved = await saveRedis({ redis, directory });
          return {
            files: [saved.file],
            tables: saved.keyspace,
            position: { wal_lsn: null, listener_block: null },
            source: { server_version: saved.version, database: null },
          };
        } finally {
          redis.disconnect();
        }
      };
    }
    case "secrets": {
      const prefix = need(config, "SECRETS_PREFIX");
      const keyId = need(config, "BACKUP_KMS_KEY_ID", "the export is sealed with it");
      const clients = secretsClients(config);
      return (directory, backup) => exportSecrets({ ...clients, keyId, prefix }, directory, backup);
    }
  }
}

/** A restored TimescaleDB or secrets backup, as the CLI reports it. */
export type KindRestored =
  | { readonly kind: "timescaledb"; readonly tables: Record<string, number> }
  | { readonly kind: "secrets"; readonly secrets: readonly { name: string; version_id: string }[] };

/** Restores a verified TimescaleDB or secrets backup; the caller compares row counts. */
export async function restoreKind(
  config: KindsConfig,
  verified: { readonly manifest: Manifest; readonly files: readonly string[] },
  options: { readonly databaseUrl?: string | undefined; readonly secrets?: readonly string[] | undefined },
): Promise<KindRestored> {
  const { manifest, files } = verified;
  if (manifest.kind === "timescaledb") {
    const file = files[0];
    if (file === undefined) throw new Error(`${manifest.id} has no dump`);
    const url = options.databaseUrl ?? need(config, "METRICS_DATABASE_URL");
    return {
      kind: "timescaledb",
      tables: await restoreTimescale({ url, file, manifest, sslRootCert: config.PGSSLROOTCERT }),
    };
  }
  if (manifest.kind === "secrets") {
    const restored = await restoreSecrets({
      ...secretsClients(config),
      prefix: need(config, "SECRETS_PREFIX"),
      manifest,
      files,
      ...(options.secrets ? { only: options.secrets } : {}),
    });
    return { kind: "secrets", secrets: restored };
  }
  throw new Error(`${manifest.id}: a ${manifest.kind} backup is not restored by this path`);
}
