import { Chart, Duration, Size, type ChartProps, type CronOptions } from "cdk8s";
import type * as kplus from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { TIMESCALE_BACKUP_SERVICE_ACCOUNT } from "../components/timescale";
import { SERVICE_ACCOUNTS } from "../components/workload-roles/platform";
import { opsCronJob } from "./ops-cronjob";
import { containerResources, fromSecret, plainValues, syncedSecret } from "./plus";
import type { IrsaWorkload, WorkloadValues } from "./values";

/** Where backup jobs report success: the Pushgateway Prometheus scrapes, read by the backup alerts. */
export const PUSHGATEWAY_URL = "http://prometheus-pushgateway.monitoring.svc:9091";

/** The §7.1 backup kinds that run as CronJobs, and each job's name (also its pods' `app.kubernetes.io/name`). */
export const BACKUP_JOB_KINDS = ["postgres", "redis", "secrets", "timescaledb"] as const;
export type BackupJobKind = (typeof BACKUP_JOB_KINDS)[number];
export const backupJobName = (kind: BackupJobKind): string => `paimon-backup-${kind}`;

/**
 * What a backup job's container runs after the image's entrypoint (`node --enable-source-maps
 * dist/main.js`): the operator's own command, `ops backup <kind>`, with one JSON document for the
 * logs. It exits non-zero on any failure, so a failed backup is a failed Job, and it pushes its
 * success to the Pushgateway only once the stored backup has been read back and verified.
 */
export const backupArgs = (kind: BackupJobKind): string[] => ["ops", "--json", "backup", kind];

/**
 * How long one ElastiCache wait may take (the snapshot; its export; the exported objects): three
 * of them, and the read-back, must fit in the hourly job's deadline, and that deadline before the
 * next hour's run (`Forbid` would skip it).
 */
const ELASTICACHE_WAIT_SECONDS = 900;

interface BackupJob {
  readonly kind: BackupJobKind;
  readonly schedule: CronOptions;
  /** The IRSA role's key in the values' role ARNs. */
  readonly role: IrsaWorkload;
  readonly serviceAccount: string;
  /** What this kind reads beyond the store (scripts/src/kinds.ts). */
  readonly env: Readonly<Record<string, kplus.EnvValue>>;
  /** Retries of a failed run, within the deadline. */
  readonly backoffLimit: number;
  /** The deadline of the whole Job, retries included: past it the Job fails. */
  readonly activeDeadlineSeconds: number;
}

function jobs(values: WorkloadValues, secret: kplus.ISecret): BackupJob[] {
  return [
    {
      kind: "postgres",
      schedule: { minute: "30", hour: "18" },
      role: "postgresBackup",
      serviceAccount: SERVICE_ACCOUNTS.postgresBackup.name,
      // On top of RDS point-in-time recovery: a logical dump any PostgreSQL 16 can restore. The
      // URL verifies RDS's certificate; pg_dump is given the image's RDS bundle, as the services.
      env: { DATABASE_URL: fromSecret(secret, "database-url") },
      backoffLimit: 2,
      activeDeadlineSeconds: 3000,
    },
    {
      kind: "redis",
      schedule: { minute: "5" },
      role: "redisBackup",
      serviceAccount: SERVICE_ACCOUNTS.redisBackup.name,
      // ElastiCache refuses BGSAVE: a snapshot through its API, exported into the bucket.
      env: plainValues({
        REDIS_BACKUP_MODE: "elasticache",
        ELASTICACHE_REPLICATION_GROUP_ID: values.redisReplicationGroupId,
        ELASTICACHE_SNAPSHOT_PREFIX: values.redisSnapshotPrefix,
        ELASTICACHE_WAIT_SECONDS: String(ELASTICACHE_WAIT_SECONDS),
      }),
      backoffLimit: 1,
      activeDeadlineSeconds: 3300,
    },
    {
      kind: "secrets",
      schedule: { minute: "45", hour: "18" },
      role: "secretsBackup",
      serviceAccount: SERVICE_ACCOUNTS.secretsBackup.name,
      // Secrets Manager keeps versions; this export, sealed with the data key, survives a deleted secret.
      env: plainValues({ SECRETS_PREFIX: `${values.secretPrefix}/` }),
      backoffLimit: 2,
      activeDeadlineSeconds: 1200,
    },
    {
      kind: "timescaledb",
      schedule: { minute: "0", hour: "19" },
      role: "timescaleBackup",
      serviceAccount: TIMESCALE_BACKUP_SERVICE_ACCOUNT,
      env: { METRICS_DATABASE_URL: fromSecret(secret, "metrics-database-url") },
      backoffLimit: 2,
      activeDeadlineSeconds: 3000,
    },
  ];
}

export interface BackupsChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

/**
 * §7.1 as CronJobs running the operator's commands in the services' image (the same image, by
 * the same reference, as the services — it carries pg_dump and pg_restore of the servers' major
 * version): no backup logic lives here. Each job has its own IRSA role writing only to its prefix
 * of the backup bucket, and reports its success to the Pushgateway, where the backup alerts read it.
 */
export class BackupsChart extends Chart {
  constructor(scope: Construct, id: string, props: BackupsChartProps) {
    super(scope, id, { ...props, namespace: props.values.namespace });
    const { values } = props;
    const store = plainValues({
      BACKUP_TARGET: `s3://${values.backupBucket}`,
      BACKUP_KMS_KEY_ID: values.backupKmsKeyId,
      PUSHGATEWAY_URL,
      AWS_REGION: values.region,
    });
    for (const job of jobs(values, syncedSecret(this))) {
      opsCronJob(this, job.kind, {
        name: backupJobName(job.kind),
        image: values.image,
        schedule: job.schedule,
        startingDeadline: Duration.seconds(600),
        failedJobsRetained: 5,
        backoffLimit: job.backoffLimit,
        activeDeadline: Duration.seconds(job.activeDeadlineSeconds),
        finishedJobsTtl: Duration.days(1),
        serviceAccount: { name: job.serviceAccount, awsRoleArn: values.roleArns[job.role] },
        container: {
          name: "backup",
          args: backupArgs(job.kind),
          env: { ...store, ...job.env },
          resources: containerResources({ memoryMi: 256, cpuMillis: 100 }, { memoryMi: 1024, cpuMillis: 500 }),
          // Dumps and read-backs are staged here: room for the largest of them.
          tmpSize: Size.gibibytes(20),
        },
      });
    }
  }
}
