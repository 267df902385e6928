import { ApiObject, Duration, JsonPatch, Size } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { RUN_AS } from "./pod";
import { SECRET_NAME } from "./values";

/**
 * The cdk8s-plus side of the charts: the restricted profile, probes, resources, secret environment
 * and the workloads' common shape as L2 props; and JSON patches onto the objects it synthesizes
 * for what cdk8s-plus-28 does not model (a pod's seccomp profile, a Deployment's revision history,
 * hard topology spread, a CronJob's Job TTL beside its history limits) or writes regardless (its
 * `cdk8s.io/metadata.addr` pod label). Every other default it writes is overridden to what the
 * manifests held, or is the API server's own default written out.
 */

/** The restricted Pod Security profile at pod level (seccomp: {@link restrictPod}). */
export const podSecurity: kplus.PodSecurityContextProps = {
  ensureNonRoot: true,
  user: RUN_AS,
  group: RUN_AS,
  fsGroup: RUN_AS,
};

/** The restricted Pod Security profile at container level: read-only root, no capabilities. */
export const containerSecurity: kplus.ContainerSecurityContextProps = {
  ensureNonRoot: true,
  user: RUN_AS,
  group: RUN_AS,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  privileged: false,
  capabilities: { drop: [kplus.Capability.ALL] },
  seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
};

/**
 * The images are pinned (by digest in production): the kubelet pulls one it does not hold, as
 * Kubernetes does by default for such an image, rather than cdk8s-plus's `Always`.
 */
export const IMAGE_PULL_POLICY = kplus.ImagePullPolicy.IF_NOT_PRESENT;

/** The synced `paimon-secrets`, as this chart's reference to it. */
export function syncedSecret(scope: Construct): kplus.ISecret {
  return kplus.Secret.fromSecretName(scope, "synced-secret", SECRET_NAME);
}

/** An environment variable's value read from `key` of a secret. */
export function fromSecret(secret: kplus.ISecret, key: string): kplus.EnvValue {
  return kplus.EnvValue.fromSecretValue({ secret, key });
}

/** Plain values as environment values. */
export function plainValues(values: Readonly<Record<string, string>>): Record<string, kplus.EnvValue> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, kplus.EnvValue.fromValue(value)]));
}

/** `requests` and `limits`: memory in MiB, CPU in millicores. */
export function containerResources(
  requests: { memoryMi: number; cpuMillis: number },
  limits: { memoryMi: number; cpuMillis: number },
): kplus.ContainerResources {
  return {
    cpu: { request: kplus.Cpu.millis(requests.cpuMillis), limit: kplus.Cpu.millis(limits.cpuMillis) },
    memory: { request: Size.mebibytes(requests.memoryMi), limit: Size.mebibytes(limits.memoryMi) },
  };
}

/** An HTTP probe on `path` and `port` that gives up after three 3-second attempts. */
export function httpGetProbe(
  path: string,
  port: number,
  initialDelaySeconds: number,
  periodSeconds: number,
): kplus.Probe {
  return kplus.Probe.fromHttpGet(path, {
    port,
    initialDelaySeconds: Duration.seconds(initialDelaySeconds),
    periodSeconds: Duration.seconds(periodSeconds),
    timeoutSeconds: Duration.seconds(3),
    failureThreshold: 3,
  });
}

/** A writable /tmp for a read-only root filesystem. */
export function tmpDirectory(scope: Construct, size: Size = Size.mebibytes(256)): kplus.VolumeMount {
  const volume = kplus.Volume.fromEmptyDir(scope, "tmp-volume", "tmp", { sizeLimit: size });
  return { path: "/tmp", volume };
}

/**
 * The pod-level context of a workload whose pod template is at `templatePath` made exactly pod.ts's
 * `podSecurityContext`: with the seccomp profile cdk8s-plus-28's `PodSecurityContext` does not
 * model, and without the `fsGroupChangePolicy: Always` it always writes (the kubelet's default).
 */
export function restrictPod(workload: kplus.AbstractPod, templatePath: string): void {
  const context = `${templatePath}/spec/securityContext`;
  ApiObject.of(workload).addJsonPatch(
    JsonPatch.add(`${context}/seccompProfile`, { type: "RuntimeDefault" }),
    JsonPatch.remove(`${context}/fsGroupChangePolicy`),
  );
}

/**
 * A workload's pods and selector carry exactly `labels`: cdk8s-plus selects by its own
 * `cdk8s.io/metadata.addr` label unless told not to, and adds it to the pod template either way;
 * a live Deployment's selector is immutable, and the policies, budgets and Services select by
 * `labels`.
 */
export function selectExactly(
  workload: kplus.Workload,
  labels: Readonly<Record<string, string>>,
  templatePath: string,
) {
  workload.select(kplus.LabelSelector.of({ labels: { ...labels } }));
  withoutAddressLabel(workload, templatePath);
}

/**
 * A workload's pod template at `templatePath` without cdk8s-plus's address label: a Job's or
 * CronJob's pods (which it does not select by it) carry only the labels given.
 */
export function withoutAddressLabel(workload: kplus.Workload, templatePath: string): void {
  ApiObject.of(workload).addJsonPatch(
    JsonPatch.remove(`${templatePath}/metadata/labels/${kplus.Pod.ADDRESS_LABEL.replace("/", "~1")}`),
  );
}

/**
 * The headless Service a StatefulSet is governed by, selecting only the labels given it:
 * cdk8s-plus's StatefulSet adds its own address label to that Service's selector.
 */
export function withoutAddressSelector(service: kplus.Service): void {
  ApiObject.of(service).addJsonPatch(JsonPatch.remove(`/spec/selector/${kplus.Pod.ADDRESS_LABEL.replace("/", "~1")}`));
}

/** A ClusterIP Service selecting `labels`, each port targeting the container port of its number. */
export function clusterService(
  scope: Construct,
  id: string,
  metadata: { name: string; labels: Record<string, string> },
  ports: readonly { name: string; port: number; targetPort: number }[],
): kplus.Service {
  const service = new kplus.Service(scope, id, {
    metadata,
    type: kplus.ServiceType.CLUSTER_IP,
    ports: ports.map((port) => ({ ...port })),
  });
  for (const [key, value] of Object.entries(metadata.labels)) service.selectLabel(key, value);
  return service;
}

/**
 * A ServiceAccount as a pod's account, a ConfigMap as a volume's source, a Role as a binding's:
 * the constructs' `resourceName` getter is typed `string | undefined`, which `exactOptionalPropertyTypes` refuses
 * for the interfaces' optional `string`; it returns the object's name, always set.
 */
export function asAccount(account: kplus.ServiceAccount): kplus.IServiceAccount {
  return account as kplus.IServiceAccount;
}
export function asConfigMap(configMap: kplus.ConfigMap): kplus.IConfigMap {
  return configMap as kplus.IConfigMap;
}
export function asRole(role: kplus.Role): kplus.IRole {
  return role as kplus.IRole;
}

/** The Job template's path in a CronJob. */
export const CRON_JOB_TEMPLATE = "/spec/jobTemplate/spec/template";

/**
 * A CronJob's finished Jobs deleted after `ttl`, whatever the history limits keep: cdk8s-plus-28
 * refuses a TTL beside history limits, so it is set on the Job template.
 */
export function finishedJobsTtl(cronJob: kplus.CronJob, ttl: Duration): void {
  ApiObject.of(cronJob).addJsonPatch(JsonPatch.add("/spec/jobTemplate/spec/ttlSecondsAfterFinished", ttl.toSeconds()));
}

/** TCP `ports`, for a NetworkPolicy rule. */
export function tcpPorts(...ports: readonly number[]): kplus.NetworkPolicyPort[] {
  return ports.map((port) => kplus.NetworkPolicyPort.tcp(port));
}
