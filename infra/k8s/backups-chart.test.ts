import { describe, expect, it } from "vitest";
import { readStackConfigs } from "../planner/stack-configs";
import { BACKUP_JOB_KINDS, PUSHGATEWAY_URL, backupArgs, backupJobName } from "./backups-chart";
import { synthesizeStack } from "./main";
import { workloadValues } from "./values";

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
}
interface CronJob {
  kind: string;
  metadata: { name: string };
  spec: {
    concurrencyPolicy: string;
    jobTemplate: {
      spec: {
        backoffLimit: number;
        activeDeadlineSeconds: number;
        template: { spec: { containers: Container[]; initContainers?: Container[]; serviceAccountName: string } };
      };
    };
  };
}

const configs = readStackConfigs();

describe.each(configs.map((config) => [config.stack, config] as const))("the %s backup CronJobs", (_stack, config) => {
  const values = workloadValues(config);
  const cronJobs = synthesizeStack(config)
    .flatMap((chart) => chart.objects as { kind: string }[])
    .filter((object): object is CronJob => object.kind === "CronJob")
    .filter((job) => job.metadata.name.startsWith("paimon-backup-"));
  const job = (kind: (typeof BACKUP_JOB_KINDS)[number]) => {
    const found = cronJobs.find((candidate) => candidate.metadata.name === backupJobName(kind));
    if (!found) throw new Error(`no CronJob ${backupJobName(kind)}`);
    return found;
  };
  const container = (kind: (typeof BACKUP_JOB_KINDS)[number]) => {
    const [only, ...others] = job(kind).spec.jobTemplate.spec.template.spec.containers;
    expect(others).toEqual([]);
    if (!only) throw new Error("no container");
    return only;
  };
  const env = (kind: (typeof BACKUP_JOB_KINDS)[number]) =>
    Object.fromEntries(
      container(kind).env.map((variable) => [
        variable.name,
        variable.value ?? `secret:${variable.valueFrom?.secretKeyRef?.key ?? "?"}`,
      ]),
    );

  it("then there is one per kind of the backup table, and no other", () => {
    expect(cronJobs.map((cronJob) => cronJob.metadata.name).sort()).toEqual(BACKUP_JOB_KINDS.map(backupJobName).sort());
  });

  it.each(BACKUP_JOB_KINDS)(
    "then %s runs `ops backup <kind>` in the services' image, by its digest, with no shell and no init container",
    (kind) => {
      const only = container(kind);
      expect(only.image).toBe(values.image);
      expect(only.command).toBeUndefined();
      expect(only.args).toEqual(["ops", "--json", "backup", kind]);
      expect(only.args).toEqual(backupArgs(kind));
      expect(job(kind).spec.jobTemplate.spec.template.spec.initContainers).toBeUndefined();
    },
  );

  it.each(BACKUP_JOB_KINDS)(
    "then a failed %s run is a failed Job: bounded retries, a deadline, never two at once",
    (kind) => {
      const { spec } = job(kind);
      expect(spec.concurrencyPolicy).toBe("Forbid");
      expect(spec.jobTemplate.spec.backoffLimit).toBeGreaterThanOrEqual(1);
      expect(spec.jobTemplate.spec.backoffLimit).toBeLessThanOrEqual(2);
      expect(spec.jobTemplate.spec.activeDeadlineSeconds).toBeGreaterThan(0);
    },
  );

  it("then the hourly Redis backup's three bounded ElastiCache waits fit in its deadline, and that deadline in the hour", () => {
    const { spec } = job("redis");
    const wait = Number(env("redis")["ELASTICACHE_WAIT_SECONDS"]);
    expect(3 * wait).toBeLessThan(spec.jobTemplate.spec.activeDeadlineSeconds);
    expect(spec.jobTemplate.spec.activeDeadlineSeconds).toBeLessThan(3600);
  });

  it("then each job's store, key, Pushgateway and sources come from the stack's values and secrets", () => {
    for (const kind of BACKUP_JOB_KINDS)
      expect(env(kind)).toMatchObject({
        BACKUP_TARGET: `s3://${values.backupBucket}`,
        BACKUP_KMS_KEY_ID: `arn:aws:kms:${config.region}:${config.awsAccountId}:alias/paimon-${config.stack}-data`,
        PUSHGATEWAY_URL,
        AWS_REGION: config.region,
      });
    expect(env("postgres")).toMatchObject({ DATABASE_URL: "secret:database-url" });
    expect(env("timescaledb")).toMatchObject({ METRICS_DATABASE_URL: "secret:metrics-database-url" });
    expect(env("secrets")).toMatchObject({ SECRETS_PREFIX: `paimon/${config.stack}/` });
    expect(env("redis")).toMatchObject({
      REDIS_BACKUP_MODE: "elasticache",
      ELASTICACHE_REPLICATION_GROUP_ID: `paimon-${config.stack}-redis`,
      ELASTICACHE_SNAPSHOT_PREFIX: `paimon-${config.stack}-`,
    });
    for (const kind of BACKUP_JOB_KINDS) {
      const { serviceAccountName } = job(kind).spec.jobTemplate.spec.template.spec;
      expect(serviceAccountName).toBe(backupJobName(kind));
    }
  });
});
