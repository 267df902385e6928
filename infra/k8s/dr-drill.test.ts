import { DR_DRILL_DEADLINE_SECONDS } from "@paimon/core/workloads";
import { selects } from "@paimon/monitoring/cluster";
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
          terminationGracePeriodSeconds: number;
          containers: { image: string; command?: string[]; args: string[]; env: EnvVar[] }[];
        };
      };
    };
  };
}
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Peer {
  ipBlock?: { cidr: string; except?: string[] };
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
}
interface Port {
  port: number;
  protocol: string;
}
interface NetworkPolicySpec {
  podSelector: LabelSelector;
  egress?: { to: Peer[]; ports: Port[] }[];
  ingress?: { from: Peer[]; ports: Port[] }[];
}

/** One peer and port a policy opens, in a form that compares by value. */
const opening = (peer: unknown, port: Port) => JSON.stringify({ peer: sortedKeys(peer), port: sortedKeys(port) });
const sortedKeys = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sortedKeys)
    : value !== null && typeof value === "object"
      ? Object.fromEntries(
          Object.entries(value)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([key, inner]) => [key, sortedKeys(inner)]),
        )
      : value;

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

    it("then it runs on the first of every month, never twice at once, not retried, within the deadline the drill's sweep reads", () => {
      const spec = cronJob();
      expect(spec.schedule).toBe("0 20 1 * *");
      expect(spec.timeZone).toBe("Etc/UTC");
      expect(spec.concurrencyPolicy).toBe("Forbid");
      expect(spec.jobTemplate.spec.backoffLimit).toBe(0);
      // The restore's own bound (two hours) and the rest of the drill fit in it.
      expect(spec.jobTemplate.spec.activeDeadlineSeconds).toBeGreaterThan(2 * 3600);
      // A scratch older than this is an earlier drill's: the next drill deletes it.
      expect(spec.jobTemplate.spec.activeDeadlineSeconds).toBe(DR_DRILL_DEADLINE_SECONDS);
    });

    it("then a stopped drill has two minutes from SIGTERM to SIGKILL to request its scratch's deletion and clean up", () => {
      expect(cronJob().jobTemplate.spec.template.spec.terminationGracePeriodSeconds).toBe(120);
    });

    it("then its service account assumes the drill's own role, and its pods mount a token as every pod with an AWS role does", () => {
      const account = one("ServiceAccount", DR_DRILL);
      expect(account.metadata.annotations?.["eks.amazonaws.com/role-arn"]).toBe(names.roleArn("drDrill"));
      expect(account.automountServiceAccountToken).toBe(true);
      const pod = cronJob().jobTemplate.spec.template.spec;
      expect(pod.serviceAccountName).toBe(DR_DRILL);
      expect(pod.automountServiceAccountToken).toBe(true);
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

    it("then, by every policy of its namespace that selects its pods, they reach exactly DNS, the database tier, TimescaleDB, the Pushgateway and HTTPS outside the VPC, and TimescaleDB admits them", () => {
      const labels = cronJob().jobTemplate.spec.template.metadata.labels;
      const policies = objects.filter(
        (object) => object.kind === "NetworkPolicy" && object.metadata.namespace === values.namespace,
      );
      expect(policies.length).toBeGreaterThan(0);
      const specs = policies.map((policy) => policy.spec as unknown as NetworkPolicySpec);
      const reach = specs
        .filter((spec) => selects(spec.podSelector, labels))
        .flatMap((spec) => spec.egress ?? [])
        .flatMap((rule) => rule.to.flatMap((peer) => rule.ports.map((port) => opening(peer, port))));
      const tcp = (port: number) => ({ port, protocol: "TCP" });
      const inNamespace = (namespace: string, matchLabels: Record<string, string>) => ({
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
        podSelector: { matchLabels },
      });
      const timescale = { "app.kubernetes.io/name": "paimon-timescaledb", "app.kubernetes.io/part-of": "paimon" };
      expect(new Set(reach)).toEqual(
        new Set([
          ...[tcp(53), { port: 53, protocol: "UDP" }].map((port) =>
            opening(inNamespace("kube-system", { "k8s-app": "kube-dns" }), port),
          ),
          ...values.databaseCidrs.flatMap((cidr) =>
            [5432, 6379].map((port) => opening({ ipBlock: { cidr } }, tcp(port))),
          ),
          opening({ podSelector: { matchLabels: timescale } }, tcp(5432)),
          opening(
            inNamespace("monitoring", { "app.kubernetes.io/name": "prometheus-pushgateway" }),
            tcp(Number(new URL(PUSHGATEWAY_URL).port)),
          ),
          opening({ ipBlock: { cidr: "0.0.0.0/0", except: [values.vpcCidr] } }, tcp(443)),
        ]),
      );
      const admitted = specs
        .filter((spec) => selects(spec.podSelector, timescale))
        .flatMap((spec) => spec.ingress ?? [])
        .filter((rule) =>
          rule.from.some(
            (peer) => peer.namespaceSelector === undefined && peer.podSelector && selects(peer.podSelector, labels),
          ),
        )
        .flatMap((rule) => rule.ports.map((port) => port.port));
      expect(admitted).toEqual([5432]);
    });
  },
);
