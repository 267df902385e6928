import { ApiObject } from "cdk8s";
import { k8s } from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { QUEUE_PREFIX, SECRET_NAME } from "./values";

/** uid/gid of every workload (the services' Dockerfile creates this user). */
export const RUN_AS = 1001;

/** Labels that select a workload's pods; `component` tells the services apart. */
export const selectorLabels = (component: string) => ({
  "app.kubernetes.io/name": component,
  "app.kubernetes.io/part-of": "paimon",
});

/**
 * The restricted Pod Security profile at pod level, as raw fields: what the charts' pods carry
 * (plus.ts builds them with cdk8s-plus), and what the raw objects and Helm values use.
 */
export const podSecurityContext: k8s.PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUN_AS,
  runAsGroup: RUN_AS,
  fsGroup: RUN_AS,
  seccompProfile: { type: "RuntimeDefault" },
};

/** The restricted Pod Security profile at container level: read-only root, no capabilities. */
export const containerSecurityContext: k8s.SecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUN_AS,
  runAsGroup: RUN_AS,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  privileged: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** A writable /tmp for a read-only root filesystem (the raw objects'; plus.ts has the charts'). */
export const tmpVolume: k8s.Volume = { name: "tmp", emptyDir: { sizeLimit: k8sQuantity("256Mi") } };
export const tmpMount: k8s.VolumeMount = { name: "tmp", mountPath: "/tmp" };

/**
 * Where the services' image keeps AWS's RDS CA bundle: `RDS_CA_BUNDLE_PATH` of
 * services/core/src/db/tls.ts (the database-TLS check in services/runtime/src/image.test.ts fails
 * if the two part).
 */
const IMAGE_RDS_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem";

/**
 * A pod's own copy of that bundle, for a libpq or lib/pq client (pg_dump, postgres_exporter) that
 * connects with `sslmode=verify-full` from an image that does not promise the RDS CA: an init
 * container of the services' image copies it onto an empty volume, so the client trusts exactly
 * what the services trust. The client is told `path` (as `PGSSLROOTCERT`).
 */
export function rdsCaCopy(servicesImage: string) {
  const directory = "/rds-ca";
  const volume = "rds-ca";
  const path = `${directory}/rds-global-bundle.pem`;
  return {
    path,
    volume: { name: volume, emptyDir: { sizeLimit: k8sQuantity("1Mi") } } satisfies k8s.Volume,
    initContainer: {
      name: volume,
      image: servicesImage,
      command: ["cp", IMAGE_RDS_CA_BUNDLE, path],
      resources: resources({ memory: "16Mi", cpu: "10m" }, { memory: "64Mi", cpu: "100m" }),
      securityContext: containerSecurityContext,
      volumeMounts: [{ name: volume, mountPath: directory }],
    } satisfies k8s.Container,
    mount: { name: volume, mountPath: directory, readOnly: true } satisfies k8s.VolumeMount,
  };
}

/** An environment variable read from the synced `paimon-secrets`, for a raw object. */
export function secretEnv(name: string, key: string): k8s.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: SECRET_NAME, key } } };
}

export function plainEnv(values: Readonly<Record<string, string>>): k8s.EnvVar[] {
  return Object.entries(values).map(([name, value]) => ({ name, value }));
}

/**
 * What a Redis client of the services needs besides `REDIS_URL`: `REDIS_CLUSTER` where
 * ElastiCache runs in cluster mode (its configuration endpoint then needs a cluster client; a
 * single-node client would fail with MOVED on the other shards' keys), and, for the services that
 * use the queues, the queues' hash-tagged prefix. (The API only reads and pings Redis.)
 */
export function redisValues(redisCluster: boolean, options: { readonly queues: boolean }): Record<string, string> {
  return {
    ...(options.queues ? { QUEUE_PREFIX } : {}),
    ...(redisCluster ? { REDIS_CLUSTER: "true" } : {}),
  };
}

/** `requests` and `limits` in the seed's notation. */
export function resources(
  requests: { memory: string; cpu: string },
  limits: { memory: string; cpu: string },
): k8s.ResourceRequirements {
  return {
    requests: { memory: k8sQuantity(requests.memory), cpu: k8sQuantity(requests.cpu) },
    limits: { memory: k8sQuantity(limits.memory), cpu: k8sQuantity(limits.cpu) },
  };
}

function k8sQuantity(value: string): k8s.Quantity {
  return k8s.Quantity.fromString(value);
}
function k8sPort(port: number): k8s.IntOrString {
  return k8s.IntOrString.fromNumber(port);
}
export const quantity = k8sQuantity;
export const port = k8sPort;

/** Pods spread across zones (hard) and nodes (soft), for highly available stacks. */
export function spread(component: string): k8s.TopologySpreadConstraint[] {
  const labelSelector = { matchLabels: selectorLabels(component) };
  return [
    { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", labelSelector },
    { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector },
  ];
}

/**
 * A PodDisruptionBudget allowing one voluntary disruption at a time: node drains proceed, one
 * pod at a time, and a rolling update (maxUnavailable 0) never takes the count lower.
 */
export function disruptionBudget(
  scope: Construct,
  name: string,
  labels: Record<string, string>,
): k8s.KubePodDisruptionBudget {
  return new k8s.KubePodDisruptionBudget(scope, `${name}-pdb`, {
    metadata: { name, labels },
    spec: { maxUnavailable: port(1), selector: { matchLabels: labels } },
  });
}

/** A Prometheus Operator ServiceMonitor for a Service's named port. */
export function serviceMonitor(
  scope: Construct,
  name: string,
  labels: Record<string, string>,
  portName: string,
): ApiObject {
  return new ApiObject(scope, `${name}-service-monitor`, {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: { name, labels: { ...labels, release: "kube-prometheus-stack" } },
    spec: { selector: { matchLabels: labels }, endpoints: [{ port: portName, path: "/metrics", interval: "15s" }] },
  });
}
