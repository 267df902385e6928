/**
 * The environment each backup CronJob gives `ops backup <kind>`, checked against the CLI's own
 * configuration: every stack's synthesized manifests must set only variables the CLI reads, and
 * enough of them that the kind's producer is built without a configuration error — a typo or a
 * missing variable would otherwise surface only as a failing Job at night.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "@paimon/core/config";
import { synthesizeStack } from "../../infra/k8s/main";
import { BACKUP_JOB_KINDS, backupJobName } from "../../infra/k8s/backups-chart";
import { metricsDatabaseUrl } from "../../infra/k8s/timescaledb-chart";
import { readStackConfigs } from "../../infra/planner/stack-configs";
import { opsEnvSchema } from "./cli";
import { producer } from "./kinds";
import { openStore } from "./store";

/** What the synced secrets hold, in the shape infra/program.ts composes them. */
const SECRETS: Readonly<Record<string, string>> = {
  "database-url":
    "postgresql://paimon:pw@paimon-postgres.abc.ap-southeast-1.rds.amazonaws.com:5432/paimon?sslmode=verify-full",
  "metrics-database-url": metricsDatabaseUrl("paimon", "pw"),
};

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { key: string } };
}
interface CronJob {
  kind: string;
  metadata: { name: string };
  spec: { jobTemplate: { spec: { template: { spec: { containers: { args: string[]; env: EnvVar[] }[] } } } } };
}

describe.each(readStackConfigs().map((config) => [config.stack, config] as const))(
  "the %s backup CronJobs' environment",
  (_stack, config) => {
    const cronJobs = synthesizeStack(config)
      .flatMap((chart) => chart.objects as { kind: string }[])
      .filter((object): object is CronJob => object.kind === "CronJob");

    it.each(BACKUP_JOB_KINDS)("then `ops backup %s` accepts it, and reads every variable it is given", (kind) => {
      const cronJob = cronJobs.find((candidate) => candidate.metadata.name === backupJobName(kind));
      const container = cronJob?.spec.jobTemplate.spec.template.spec.containers[0];
      if (!container) throw new Error(`no CronJob ${backupJobName(kind)}`);
      expect(container.args.slice(-2)).toEqual(["backup", kind]);
      const env = Object.fromEntries(
        container.env.map((variable) => {
          const key = variable.valueFrom?.secretKeyRef?.key;
          const value = variable.value ?? (key === undefined ? undefined : SECRETS[key]);
          if (value === undefined) throw new Error(`${variable.name}: secret ${String(key)} has no fixture`);
          return [variable.name, value];
        }),
      );
      const known = Object.keys(opsEnvSchema.shape);
      expect(Object.keys(env).filter((name) => !known.includes(name))).toEqual([]);
      const parsed = loadConfig(opsEnvSchema, env);
      expect(() =>
        producer(kind, parsed, openStore(parsed.BACKUP_TARGET, { region: parsed.AWS_REGION })),
      ).not.toThrow();
    });
  },
);
