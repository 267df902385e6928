import { Chart, type ChartProps } from "cdk8s";
import { k8s } from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { TIMESCALE_BACKUP_SERVICE_ACCOUNT } from "../components/timescale";
import { SERVICE_ACCOUNTS } from "../components/workload-roles/platform";
import { TIMESCALEDB, TIMESCALEDB_DATABASE, TIMESCALEDB_USER } from "./timescaledb-chart";
import {
  containerSecurityContext,
  plainEnv,
  podSecurityContext,
  quantity,
  rdsCaCopy,
  resources,
  secretEnv,
  selectorLabels,
  tmpMount,
} from "./pod";
import { PORTS, type WorkloadValues } from "./values";

/** Where backup jobs report success: the Pushgateway Prometheus scrapes, read by the backup alerts. */
export const PUSHGATEWAY_URL = "http://prometheus-pushgateway.monitoring.svc:9091";

/** Reports `paimon_backup_last_success_timestamp_seconds` and the size for one backup kind. */
const report = (kind: string) =>
  `printf 'paimon_backup_last_success_timestamp_seconds %s\\npaimon_backup_size_bytes %s\\n' "$(date +%s)" "$SIZE" | ` +
  `curl --fail --silent --show-error --data-binary @- "${PUSHGATEWAY_URL}/metrics/job/paimon-backup/kind/${kind}"`;

const stamp = 'STAMP="$(date -u +%Y%m%dT%H%M%SZ)"';

/** The §7.1 backup kinds that run as CronJobs, and each job's name (also its pods' `app.kubernetes.io/name`). */
export const BACKUP_JOB_KINDS = ["postgres", "redis", "secrets", "timescaledb"] as const;
export const backupJobName = (kind: (typeof BACKUP_JOB_KINDS)[number]): string => `paimon-backup-${kind}`;

interface BackupJob {
  readonly kind: (typeof BACKUP_JOB_KINDS)[number];
  readonly schedule: string;
  /** The IRSA role's key in the values' role ARNs. */
  readonly role: string;
  readonly serviceAccount: string;
  readonly env: readonly k8s.EnvVar[];
  readonly script: string;
  /**
   * The job connects to RDS with `sslmode=verify-full`: libpq needs the RDS CA, which the backup
   * tools image does not promise. An init container copies the bundle from the services' image,
   * so pg_dump trusts exactly what the services trust.
   * @default false
   */
  readonly rdsCa?: boolean;
}

function jobs(values: WorkloadValues): BackupJob[] {
  const bucket = `s3://${values.backupBucket}`;
  const upload = (kind: string, extension: string) =>
    `aws s3 cp - "${bucket}/${kind}/$STAMP.${extension}" --sse aws:kms --only-show-errors`;
  return [
    {
      kind: "postgres",
      schedule: "30 18 * * *",
      role: "postgresBackup",
      serviceAccount: SERVICE_ACCOUNTS.postgresBackup.name,
      env: [secretEnv("DATABASE_URL", "database-url"), ...plainEnv({ PGSSLROOTCERT: rdsCaCopy(values.image).path })],
      rdsCa: true,
      // On top of RDS point-in-time recovery: a logical dump any PostgreSQL can restore.
      script: [
        stamp,
        `pg_dump --format=custom --no-owner "$DATABASE_URL" > /tmp/dump`,
        'SIZE="$(wc -c < /tmp/dump)"',
        `${upload("postgres", "dump")} < /tmp/dump`,
        report("postgres"),
      ].join("\n"),
    },
    {
      kind: "redis",
      schedule: "5 * * * *",
      role: "redisBackup",
      serviceAccount: SERVICE_ACCOUNTS.redisBackup.name,
      env: plainEnv({
        REPLICATION_GROUP: values.redisReplicationGroupId,
        RETENTION_DAYS: String(values.redisBackupRetentionDays),
      }),
      // ElastiCache refuses BGSAVE: snapshots are taken and expired through its API.
      script: [
        stamp,
        `aws elasticache create-snapshot --replication-group-id "$REPLICATION_GROUP" --snapshot-name "${values.redisSnapshotPrefix}$STAMP" > /dev/null`,
        // A snapshot that never becomes available fails the Job: no success is reported for it.
        `aws elasticache wait snapshot-available --snapshot-name "${values.redisSnapshotPrefix}$STAMP"`,
        `STATUS="$(aws elasticache describe-snapshots --snapshot-name "${values.redisSnapshotPrefix}$STAMP" --query 'Snapshots[0].SnapshotStatus' --output text)"`,
        '[ "$STATUS" = available ] || { echo "snapshot status is $STATUS" >&2; exit 1; }',
        'CUTOFF="$(date -u -d "@$(( $(date +%s) - RETENTION_DAYS * 86400 ))" +%Y%m%dT%H%M%SZ)"',
        `aws elasticache describe-snapshots --replication-group-id "$REPLICATION_GROUP" --query 'Snapshots[].SnapshotName' --output text | tr '\\t' '\\n' | while read -r NAME; do`,
        `  case "$NAME" in ${values.redisSnapshotPrefix}*) [ "\${NAME#${values.redisSnapshotPrefix}}" \\< "$CUTOFF" ] && aws elasticache delete-snapshot --snapshot-name "$NAME" > /dev/null ;; esac`,
        "done",
        "SIZE=0",
        report("redis"),
      ].join("\n"),
    },
    {
      kind: "secrets",
      schedule: "45 18 * * *",
      role: "secretsBackup",
      serviceAccount: SERVICE_ACCOUNTS.secretsBackup.name,
      env: plainEnv({ SECRET_PREFIX: `${values.secretPrefix}/` }),
      // Secrets Manager keeps versions; this export (SSE-KMS, 90 days) survives a deleted secret.
      script: [
        stamp,
        `aws secretsmanager list-secrets --filters Key=name,Values="$SECRET_PREFIX" --query 'SecretList[].Name' --output text | tr '\\t' '\\n' | while read -r NAME; do`,
        `  aws secretsmanager get-secret-value --secret-id "$NAME" --query '{name: Name, version: VersionId, value: SecretString}' --output json`,
        "done > /tmp/secrets.jsonl",
        'SIZE="$(wc -c < /tmp/secrets.jsonl)"',
        `${upload("secrets", "jsonl")} < /tmp/secrets.jsonl`,
        "rm -f /tmp/secrets.jsonl",
        report("secrets"),
      ].join("\n"),
    },
    {
      kind: "timescaledb",
      schedule: "0 19 * * *",
      role: "timescaleBackup",
      serviceAccount: TIMESCALE_BACKUP_SERVICE_ACCOUNT,
      env: [
        ...plainEnv({
          PGHOST: `${TIMESCALEDB}-0.${TIMESCALEDB}`,
          PGPORT: String(PORTS.timescaledb),
          PGUSER: TIMESCALEDB_USER,
          PGDATABASE: TIMESCALEDB_DATABASE,
        }),
        secretEnv("PGPASSWORD", "timescaledb-password"),
      ],
      script: [
        stamp,
        "pg_dump --format=custom --no-owner > /tmp/dump",
        'SIZE="$(wc -c < /tmp/dump)"',
        `${upload("timescaledb", "dump")} < /tmp/dump`,
        report("timescaledb"),
      ].join("\n"),
    },
  ];
}

export interface BackupsChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

/**
 * §7.1 as CronJobs, each with its own IRSA role writing only to its prefix of the backup bucket,
 * and each reporting its success to the Pushgateway, where the backup alerts read it.
 */
export class BackupsChart extends Chart {
  constructor(scope: Construct, id: string, props: BackupsChartProps) {
    super(scope, id, { ...props, namespace: props.values.namespace });
    const { values } = props;
    for (const job of jobs(values)) {
      const name = backupJobName(job.kind);
      const labels = selectorLabels(name);
      const ca = rdsCaCopy(values.image);
      new k8s.KubeServiceAccount(this, `${job.kind}-sa`, {
        metadata: {
          name: job.serviceAccount,
          labels,
          annotations: { "eks.amazonaws.com/role-arn": values.roleArns[job.role] ?? "" },
        },
        automountServiceAccountToken: true,
      });
      new k8s.KubeCronJob(this, `${job.kind}-cronjob`, {
        metadata: { name, labels },
        spec: {
          schedule: job.schedule,
          timeZone: "Etc/UTC",
          concurrencyPolicy: "Forbid",
          startingDeadlineSeconds: 600,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 5,
          jobTemplate: {
            spec: {
              backoffLimit: 2,
              activeDeadlineSeconds: 3000,
              ttlSecondsAfterFinished: 86400,
              template: {
                metadata: { labels },
                spec: {
                  serviceAccountName: job.serviceAccount,
                  automountServiceAccountToken: true,
                  restartPolicy: "Never",
                  securityContext: podSecurityContext,
                  // Dumps are staged here before upload: room for the largest of them.
                  volumes: [
                    { name: "tmp", emptyDir: { sizeLimit: quantity("20Gi") } },
                    ...(job.rdsCa === true ? [ca.volume] : []),
                  ],
                  ...(job.rdsCa === true ? { initContainers: [ca.initContainer] } : {}),
                  containers: [
                    {
                      name: "backup",
                      image: values.backupToolsImage,
                      command: ["/bin/sh", "-euc", job.script],
                      env: [...plainEnv({ AWS_REGION: values.region, HOME: "/tmp" }), ...job.env],
                      resources: resources({ memory: "256Mi", cpu: "100m" }, { memory: "1Gi", cpu: "500m" }),
                      securityContext: containerSecurityContext,
                      volumeMounts: [tmpMount, ...(job.rdsCa === true ? [ca.mount] : [])],
                    },
                  ],
                },
              },
            },
          },
        },
      });
    }
  }
}
