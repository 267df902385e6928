import { Duration, Size, Testing } from "cdk8s";
import { describe, expect, it } from "vitest";
import { opsCronJob, type OpsCronJobProps } from "./ops-cronjob";
import { podSecurityContext } from "./pod";

interface KubeObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  automountServiceAccountToken?: boolean;
  spec?: {
    timeZone: string;
    concurrencyPolicy: string;
    successfulJobsHistoryLimit: number;
    jobTemplate: {
      spec: {
        ttlSecondsAfterFinished: number;
        template: {
          metadata: { labels: Record<string, string> };
          spec: {
            automountServiceAccountToken: boolean;
            restartPolicy: string;
            securityContext: unknown;
            serviceAccountName: string;
            terminationGracePeriodSeconds: number;
            volumes: { name: string; emptyDir: { sizeLimit: string } }[];
          };
        };
      };
    };
  };
}

const props = (overrides: Partial<OpsCronJobProps>): OpsCronJobProps => ({
  name: "paimon-ops-example",
  image: "ghcr.io/paimon-fund/paimon:0.0.0",
  schedule: { minute: "0", hour: "3" },
  startingDeadline: Duration.minutes(10),
  failedJobsRetained: 2,
  backoffLimit: 0,
  activeDeadline: Duration.minutes(30),
  finishedJobsTtl: Duration.days(2),
  serviceAccount: { name: "paimon-ops-example" },
  container: { name: "example", args: ["ops", "example"], env: {}, resources: {} },
  ...overrides,
});

const synth = (overrides: Partial<OpsCronJobProps>) => {
  const chart = Testing.chart();
  opsCronJob(chart, "example", props(overrides));
  const objects = Testing.synth(chart) as KubeObject[];
  const account = objects.find((object) => object.kind === "ServiceAccount");
  const cronJob = objects.find((object) => object.kind === "CronJob");
  if (!account || !cronJob?.spec) throw new Error("no ServiceAccount or CronJob");
  return { account, cronJob, spec: cronJob.spec, pod: cronJob.spec.jobTemplate.spec.template };
};

describe("an operations CronJob", () => {
  it("when its account carries an IRSA role, then the account names it and both mount a token", () => {
    const arn = "arn:aws:iam::123456789012:role/paimon-example";
    const { account, pod } = synth({ serviceAccount: { name: "paimon-example-account", awsRoleArn: arn } });
    expect(account.metadata.name).toBe("paimon-example-account");
    expect(account.metadata.annotations).toEqual({ "eks.amazonaws.com/role-arn": arn });
    expect(account.automountServiceAccountToken).toBe(true);
    expect(pod.spec.serviceAccountName).toBe("paimon-example-account");
    expect(pod.spec.automountServiceAccountToken).toBe(true);
  });

  it("when its account carries no role, then the account has no annotation and neither mounts a token", () => {
    const { account, pod } = synth({});
    expect(account.metadata.annotations).toBeUndefined();
    expect(account.automountServiceAccountToken).toBe(false);
    expect(pod.spec.automountServiceAccountToken).toBe(false);
  });

  it("when synthesized, then it runs in UTC, never overlaps or restarts, and its Jobs expire after the TTL", () => {
    const { spec, pod } = synth({});
    expect(spec.timeZone).toBe("Etc/UTC");
    expect(spec.concurrencyPolicy).toBe("Forbid");
    expect(spec.successfulJobsHistoryLimit).toBe(3);
    expect(spec.jobTemplate.spec.ttlSecondsAfterFinished).toBe(172_800);
    expect(pod.spec.restartPolicy).toBe("Never");
  });

  it("when synthesized, then its pods carry exactly the job's labels and the restricted pod context", () => {
    const { account, cronJob, pod } = synth({});
    const labels = { "app.kubernetes.io/name": "paimon-ops-example", "app.kubernetes.io/part-of": "paimon" };
    expect(pod.metadata.labels).toEqual(labels);
    expect(cronJob.metadata.labels).toEqual(labels);
    expect(account.metadata.labels).toEqual(labels);
    expect(pod.spec.securityContext).toEqual(podSecurityContext);
  });

  it("when given no grace or /tmp size, then it has Kubernetes' 30 s and a 256 MiB /tmp", () => {
    const { spec } = synth({}).pod;
    expect(spec.terminationGracePeriodSeconds).toBe(30);
    expect(spec.volumes).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }]);
  });

  it("when given a grace and a /tmp size, then it has them", () => {
    const { spec } = synth({
      terminationGrace: Duration.seconds(120),
      container: { ...props({}).container, tmpSize: Size.gibibytes(20) },
    }).pod;
    expect(spec.terminationGracePeriodSeconds).toBe(120);
    expect(spec.volumes).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "20480Mi" } }]);
  });
});
