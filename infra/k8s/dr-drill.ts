import { DR_DRILL_DEADLINE_SECONDS } from "@paimon/core/workloads";
import { Duration, Size } from "cdk8s";
import { Construct } from "constructs";
import { SERVICE_ACCOUNTS } from "../components/workload-roles/platform";
import { PUSHGATEWAY_URL } from "./backups-chart";
import { opsCronJob } from "./ops-cronjob";
import { redisValues } from "./pod";
import { containerResources, fromSecret, plainValues, syncedSecret } from "./plus";
import type { WorkloadValues } from "./values";

/** The DR drill's CronJob, its pods' `app.kubernetes.io/name` and its service account. */
export const DR_DRILL = SERVICE_ACCOUNTS.drDrill.name;

/**
 * What the drill's container runs after the image's entrypoint: the operator's own command on
 * the RDS path, with one JSON document (the drill's record) for the logs. It exits 3 when the
 * drill ran and did not pass, so a failed drill is a failed Job.
 */
export const drDrillArgs = (sourceInstance: string): string[] => [
  "ops",
  "--json",
  "dr-drill",
  "--rds-source",
  sourceInstance,
];

/**
 * Its bound (@paimon/core's, which the drill reads too: a scratch older than that is an earlier
 * drill's leftover, and swept): the restore may take two hours (RESTORE_WAIT_SECONDS in
 * scripts/src/rds.ts) after up to a quarter of an hour for its point to become restorable, the API
 * ten minutes, the listener's catch-up half an hour, the scratch's deletion an hour, and the
 * backup before it about as long as the nightly dump's.
 */
const DRILL_DEADLINE = Duration.seconds(DR_DRILL_DEADLINE_SECONDS);

/**
 * From SIGTERM (the deadline, a drain, an eviction) to SIGKILL: time for the stopped drill to ask
 * RDS to delete its scratch — one request, after the restore request's answer should one be on
 * its way — then stop the services it started (30 s each at most), drop its queues and record
 * itself. Waiting out the deletion itself (minutes) is left to RDS.
 */
const STOP_GRACE = Duration.seconds(120);

export interface DrDrillProps {
  readonly values: WorkloadValues;
}

/**
 * §9.3's monthly disaster-recovery drill as a CronJob of the services' image, `ops dr-drill
 * --rds-source` against the stack's database: a backup, a point-in-time restore of RDS into a
 * scratch instance named under the prefix its role may touch (RDS_SCRATCH_PREFIX), every table
 * compared, an API and a listener started on the scratch, RPO and RTO measured; the scratch is
 * deleted afterwards, the drill recorded under `drills/`, its result pushed to the Pushgateway
 * (`paimon_dr_drill_last_run_passed`, and when it passed `…_last_success_timestamp_seconds`), where
 * DRDrillFailed, DRDrillOverdue and the dashboards read it, and the monthly check its record. On the first of each month at 20:00 UTC (04:00 in Singapore): after the
 * night's backups, before the daily check; a month apart, so that the newest passing drill is
 * never older than the monthly check's 31 days. Not retried: the drill measures, and a second
 * run would measure a rerun; an operator starts one by hand (`kubectl create job --from=cronjob/…`).
 *
 * Its service account's IRSA role (workload-roles, `drDrill`) restores only into, and deletes only,
 * instances of that prefix carrying the drill's tag. The pod reaches what the drill and the
 * services it starts read — the database tier (RDS, the scratch, ElastiCache), TimescaleDB (the
 * API's metrics), the chain's RPC and AWS's APIs over HTTPS, and the Pushgateway — through the
 * namespace's shared policies (platform-chart.ts), which name it with the workloads reaching each.
 */
export class DrDrill extends Construct {
  constructor(scope: Construct, id: string, props: DrDrillProps) {
    super(scope, id);
    const { values } = props;
    const secret = syncedSecret(this);
    opsCronJob(this, "drill", {
      name: DR_DRILL,
      image: values.image,
      schedule: { minute: "0", hour: "20", day: "1" },
      startingDeadline: Duration.hours(1),
      failedJobsRetained: 3,
      backoffLimit: 0,
      activeDeadline: DRILL_DEADLINE,
      terminationGrace: STOP_GRACE,
      finishedJobsTtl: Duration.days(31),
      serviceAccount: { name: DR_DRILL, awsRoleArn: values.roleArns.drDrill },
      container: {
        name: "drill",
        args: drDrillArgs(values.databaseInstance),
        env: {
          ...plainValues({
            BACKUP_TARGET: `s3://${values.backupBucket}`,
            BACKUP_KMS_KEY_ID: values.backupKmsKeyId,
            PUSHGATEWAY_URL,
            AWS_REGION: values.region,
            RDS_SCRATCH_PREFIX: values.drillScratchPrefix,
            ENVIRONMENT: values.environment,
            CHAIN_ID: String(values.chain.chainId),
            FUND_ADDRESS: values.chain.fundAddress,
            FUND_DEPLOY_BLOCK: String(values.chain.deployBlock),
            FINALITY_DEPTH: String(values.chain.finalityDepth),
            ...redisValues(values.redisCluster, { queues: false }),
          }),
          // The services' own: the drill backs up the database and starts the API and the listener
          // on its restored copy, with the live metrics database and Redis (on queues of its own).
          DATABASE_URL: fromSecret(secret, "database-url"),
          METRICS_DATABASE_URL: fromSecret(secret, "metrics-database-url"),
          REDIS_URL: fromSecret(secret, "redis-url"),
          BSC_RPC_URL: fromSecret(secret, "bsc-rpc-url"),
          BSC_WS_URL: fromSecret(secret, "bsc-ws-url"),
        },
        // The CLI, pg_dump, and the API and the listener it starts, in one container.
        resources: containerResources({ memoryMi: 768, cpuMillis: 200 }, { memoryMi: 2560, cpuMillis: 1000 }),
        // The drill's dump is staged here, as the nightly backup's.
        tmpSize: Size.gibibytes(20),
      },
    });
  }
}
