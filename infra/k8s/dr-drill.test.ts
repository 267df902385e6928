import { describe, expect, it } from "vitest";
import { stackNames } from "../names";
import { readStackConfigs } from "../planner/stack-configs";
import { PUSHGATEWAY_URL } from "./backups-chart";
import { DR_DRILL, drDrillArgs } from "./dr-drill";
import { synthesizeStack } from "./main";
import { workloadValues } from "./values";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { key: string } };
}
interface KubeObject {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
}
interface CronJobSpec {
  schedule: string;
  timeZone: string;
  concurrencyPolicy: string;
  jobTemplate: {
    spec: {
      backoffLimit: number;
      activeDeadlineSeconds: number;
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          serviceAccountName: string;
          automountServiceAccountToken: boolean;
          containers: { image: string; command?: string[]; args: string[]; env: EnvVar[] }[];
        };
      };
    };
  };
}
interface NetworkPolicySpec {
  podSelector: { matchLabels?: Record<string, string> };
  egress?: {
    to: { ipBlock?: { cidr: string; except?: string[] }; podSelector?: { matchLabels?: Record<string, string> } }[];
    ports: { port: number }[];
  }[];
  ingress?: { from: { podSelector?: { matchLabels?: Record<string, string> } }[]; ports: { port: number }[] }[];
}

describe.each(readStackConfigs().map((config) => [config.stack, config] as const))(
  "the %s DR drill",
  (_stack, config) => {
    const values = workloadValues(config);
    const names = stackNames({ ...config, namespace: config.workloads.namespace });
    const objects = synthesizeStack(config).flatMap((chart) => chart.objects as unknown as KubeObject[]);
    const one = (kind: string, name: string) => {
      const found = objects.filter((object) => object.kind === kind && object.metadata.name === name);
      expect(found, `${kind} ${name}`).toHaveLength(1);
      return found[0] as KubeObject;
    };
    const cronJob = () => one("CronJob", DR_DRILL).spec as unknown as CronJobSpec;
    const container = () => {
      const [only, ...others] = cronJob().jobTemplate.spec.template.spec.containers;
      expect(others).toEqual([]);
      if (!only) throw new Error("no container");
      return only;
    };
    const env = () =>
      Object.fromEntries(
        container().env.map((variable) => [
          variable.name,
          variable.value ?? `secret:${variable.valueFrom?.secretKeyRef?.key ?? "?"}`,
        ]),
      );

    it("then it runs `ops dr-drill` on the RDS path against the stack's database, in the services' image", () => {
      expect(container().image).toBe(values.image);
      expect(container().command).toBeUndefined();
      expect(container().args).toEqual([
        "ops",
        "--json",
        "dr-drill",
        "--rds-source",
        `paimon-${config.stack}-postgres`,
      ]);
      expect(container().args).toEqual(drDrillArgs(names.databaseInstance));
    });

    it("then it runs on the first of every month, never twice at once, not retried, within a deadline", () => {
      const spec = cronJob();
      expect(spec.schedule).toBe("0 20 1 * *");
      expect(spec.timeZone).toBe("Etc/UTC");
      expect(spec.concurrencyPolicy).toBe("Forbid");
      expect(spec.jobTemplate.spec.backoffLimit).toBe(0);
      // The restore's own bound (two hours) and the rest of the drill fit in it.
      expect(spec.jobTemplate.spec.activeDeadlineSeconds).toBeGreaterThan(2 * 3600);
    });

    it("then its service account assumes the drill's own role, and mounts no Kubernetes token", () => {
      const account = one("ServiceAccount", DR_DRILL);
      expect(account.metadata.annotations?.["eks.amazonaws.com/role-arn"]).toBe(names.roleArn("drDrill"));
      expect(account.automountServiceAccountToken).toBe(false);
      const pod = cronJob().jobTemplate.spec.template.spec;
      expect(pod.serviceAccountName).toBe(DR_DRILL);
      expect(pod.automountServiceAccountToken).toBe(false);
    });

    it("then it names its scratch under the prefix its role may delete, and reads the services' settings", () => {
      expect(env()).toMatchObject({
        BACKUP_TARGET: `s3://${values.backupBucket}`,
        BACKUP_KMS_KEY_ID: values.backupKmsKeyId,
        PUSHGATEWAY_URL,
        AWS_REGION: config.region,
        RDS_SCRATCH_PREFIX: names.drillScratchPrefix,
        ENVIRONMENT: config.environment,
        CHAIN_ID: String(values.chain.chainId),
        FUND_ADDRESS: values.chain.fundAddress,
        DATABASE_URL: "secret:database-url",
        METRICS_DATABASE_URL: "secret:metrics-database-url",
        REDIS_URL: "secret:redis-url",
        BSC_RPC_URL: "secret:bsc-rpc-url",
      });
      expect(env()["REDIS_CLUSTER"]).toBe(config.cache.clusterMode ? "true" : undefined);
    });

    it("then its pods reach the database tier, TimescaleDB, the Pushgateway and HTTPS outside the VPC, and TimescaleDB admits them", () => {
      const egress = (one("NetworkPolicy", `${DR_DRILL}-egress`).spec as unknown as NetworkPolicySpec).egress ?? [];
      const ports = (rule: { ports: { port: number }[] }) => rule.ports.map((port) => port.port).sort();
      expect(
        egress.filter((rule) => rule.to.some((peer) => values.databaseCidrs.includes(peer.ipBlock?.cidr ?? ""))),
      ).toHaveLength(values.databaseCidrs.length);
      for (const rule of egress.filter((candidate) =>
        candidate.to.some((peer) => peer.ipBlock?.cidr !== "0.0.0.0/0" && peer.ipBlock),
      ))
        expect(ports(rule)).toEqual([5432, 6379]);
      expect(egress).toContainEqual({
        to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [values.vpcCidr] } }],
        ports: [{ port: 443, protocol: "TCP" }],
      });
      expect(
        egress.some(
          (rule) =>
            rule.to.some(
              (peer) => peer.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "prometheus-pushgateway",
            ) && ports(rule).join() === String(Number(new URL(PUSHGATEWAY_URL).port)),
        ),
      ).toBe(true);
      const timescale = one("NetworkPolicy", `allow-${DR_DRILL}-to-timescaledb`).spec as unknown as NetworkPolicySpec;
      expect(timescale.ingress).toEqual([
        {
          from: [{ podSelector: { matchLabels: cronJob().jobTemplate.spec.template.metadata.labels } }],
          ports: [{ port: 5432, protocol: "TCP" }],
        },
      ]);
    });
  },
);
