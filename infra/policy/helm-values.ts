import { podSecurity, type PodSecurity } from "./pod-security";
import { get } from "./rule";

/**
 * The pods of a Helm release, as far as its values shape them. A release is one resource whose
 * inputs are the chart's name, version and values; the chart renders the pods from those values
 * inside the cluster, so the plan never holds their manifests. Where the chart's value keys are
 * known — read from the chart's own values.yaml at the pinned version — the pod security rules
 * run over what the values set. What they leave unset is the chart's default and is not judged
 * here; a chart (or a version) not in the table is reported, never passed in silence.
 */

type Props = Record<string, unknown>;
type Path = readonly string[];

/** A release as the policies see it: its inputs are the chart, its version and its values. */
export interface ReleaseResource {
  readonly name: string;
  readonly props: Props;
}

export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/** Where one pod's settings sit in a chart's values, relative to the pod's block. */
export interface PodValueKeys {
  /** How messages name the pod: `controller`, `webhook`. */
  readonly pod: string;
  /** The pod's block in the values; empty for the top level. */
  readonly at: Path;
  /** The pod's `securityContext` (a PodSecurityContext). */
  readonly podSecurityContext?: Path;
  /** The main container's `securityContext`. */
  readonly containerSecurityContext?: Path;
  readonly hostNetwork?: Path;
  readonly hostPID?: Path;
  readonly hostIPC?: Path;
  /** A switch that binds the container's ports on the node. */
  readonly hostPort?: Path;
  /** The main container's `resources`. */
  readonly resources?: Path;
  /** The main container's image: `registry`, `repository` or `image`, `tag`, `digest` or `sha`. */
  readonly image?: Path;
  /** Init containers given whole, as Kubernetes containers. */
  readonly initContainers?: Path;
  /** Volumes given whole, as Kubernetes volumes. */
  readonly volumes?: Path;
}

export interface ChartValueKeys {
  /** The chart version the keys were read from; another version's keys may differ. */
  readonly version: string;
  /** Where they were read: the chart's values.yaml (and its templates) at that version. */
  readonly source: string;
  readonly pods: readonly PodValueKeys[];
}

/** Charts whose pod keys are `podSecurityContext` (the pod's) and `securityContext` (the container's). */
const POD_THEN_CONTAINER = {
  podSecurityContext: ["podSecurityContext"],
  containerSecurityContext: ["securityContext"],
  resources: ["resources"],
  image: ["image"],
} as const;
/** Charts whose pod keys are `securityContext` (the pod's) and `containerSecurityContext`. */
const SECURITY_THEN_CONTAINER = {
  podSecurityContext: ["securityContext"],
  containerSecurityContext: ["containerSecurityContext"],
  resources: ["resources"],
  image: ["image"],
} as const;

/**
 * The add-ons' charts at the versions the platform pins (infra/components/kubernetes-platform/addons.ts).
 * Upgrading a chart there means reading its keys again here: until then the release is reported
 * as unchecked.
 */
export const CHART_VALUE_KEYS: Readonly<Record<string, ChartValueKeys>> = {
  "ingress-nginx": {
    version: "4.11.3",
    source: "kubernetes/ingress-nginx charts/ingress-nginx/values.yaml at helm-chart-4.11.3",
    pods: [
      {
        pod: "controller",
        at: ["controller"],
        podSecurityContext: ["podSecurityContext"],
        containerSecurityContext: ["containerSecurityContext"],
        hostNetwork: ["hostNetwork"],
        hostPort: ["hostPort", "enabled"],
        resources: ["resources"],
        image: ["image"],
        initContainers: ["extraInitContainers"],
        volumes: ["extraVolumes"],
      },
    ],
  },
  "cert-manager": {
    version: "v1.16.1",
    source: "cert-manager/cert-manager deploy/charts/cert-manager/values.yaml at v1.16.1",
    pods: [
      { pod: "controller", at: [], ...SECURITY_THEN_CONTAINER, volumes: ["volumes"] },
      {
        pod: "webhook",
        at: ["webhook"],
        ...SECURITY_THEN_CONTAINER,
        hostNetwork: ["hostNetwork"],
        volumes: ["volumes"],
      },
      { pod: "cainjector", at: ["cainjector"], ...SECURITY_THEN_CONTAINER, volumes: ["volumes"] },
      { pod: "startupapicheck", at: ["startupapicheck"], ...SECURITY_THEN_CONTAINER, volumes: ["volumes"] },
    ],
  },
  "external-secrets": {
    version: "0.10.4",
    source: "external-secrets/external-secrets deploy/charts/external-secrets/values.yaml at helm-chart-0.10.4",
    pods: [
      { pod: "controller", at: [], ...POD_THEN_CONTAINER, hostNetwork: ["hostNetwork"], volumes: ["extraVolumes"] },
      {
        pod: "webhook",
        at: ["webhook"],
        ...POD_THEN_CONTAINER,
        hostNetwork: ["hostNetwork"],
        volumes: ["extraVolumes"],
      },
      {
        pod: "cert-controller",
        at: ["certController"],
        ...POD_THEN_CONTAINER,
        hostNetwork: ["hostNetwork"],
        volumes: ["extraVolumes"],
      },
    ],
  },
  "aws-load-balancer-controller": {
    version: "1.8.1",
    source: "aws/eks-charts stable/aws-load-balancer-controller/values.yaml at fbb7a83 (chart 1.8.1)",
    pods: [
      { pod: "controller", at: [], ...POD_THEN_CONTAINER, hostNetwork: ["hostNetwork"], volumes: ["extraVolumes"] },
    ],
  },
  "metrics-server": {
    version: "3.12.2",
    source: "kubernetes-sigs/metrics-server charts/metrics-server/values.yaml at metrics-server-helm-chart-3.12.2",
    pods: [
      {
        pod: "metrics-server",
        at: [],
        ...POD_THEN_CONTAINER,
        hostNetwork: ["hostNetwork", "enabled"],
        volumes: ["extraVolumes"],
      },
    ],
  },
  "fluent-bit": {
    version: "0.47.10",
    source: "fluent/helm-charts charts/fluent-bit/values.yaml at fluent-bit-0.47.10",
    pods: [
      {
        pod: "fluent-bit",
        at: [],
        ...POD_THEN_CONTAINER,
        hostNetwork: ["hostNetwork"],
        initContainers: ["initContainers"],
        volumes: ["extraVolumes"],
      },
    ],
  },
  "prometheus-postgres-exporter": {
    version: "6.4.0",
    source:
      "prometheus-community/helm-charts charts/prometheus-postgres-exporter/values.yaml at prometheus-postgres-exporter-6.4.0",
    pods: [
      {
        pod: "exporter",
        at: [],
        ...POD_THEN_CONTAINER,
        initContainers: ["initContainers"],
        volumes: ["extraVolumes"],
      },
    ],
  },
  "prometheus-redis-exporter": {
    version: "6.6.0",
    source:
      "prometheus-community/helm-charts charts/prometheus-redis-exporter/values.yaml at prometheus-redis-exporter-6.6.0",
    pods: [{ pod: "exporter", at: [], ...POD_THEN_CONTAINER }],
  },
  "prometheus-pushgateway": {
    version: "2.14.0",
    source:
      "prometheus-community/helm-charts charts/prometheus-pushgateway/values.yaml at prometheus-pushgateway-2.14.0",
    pods: [
      {
        pod: "pushgateway",
        at: [],
        ...SECURITY_THEN_CONTAINER,
        initContainers: ["extraInitContainers"],
        volumes: ["extraVolumes"],
      },
    ],
  },
  "kube-prometheus-stack": {
    version: "65.1.1",
    source:
      "prometheus-community/helm-charts charts/kube-prometheus-stack/values.yaml at kube-prometheus-stack-65.1.1, " +
      "with its subcharts' values.yaml: grafana 8.5 (grafana/helm-charts), kube-state-metrics 5.25, prometheus-node-exporter 4.39",
    pods: [
      {
        pod: "prometheus-operator",
        at: ["prometheusOperator"],
        ...SECURITY_THEN_CONTAINER,
        hostNetwork: ["hostNetwork"],
        volumes: ["extraVolumes"],
      },
      // The operator renders these two from the Prometheus and Alertmanager resources, whose
      // `securityContext` is the pod's.
      {
        pod: "prometheus",
        at: ["prometheus", "prometheusSpec"],
        podSecurityContext: ["securityContext"],
        hostNetwork: ["hostNetwork"],
        resources: ["resources"],
        image: ["image"],
        initContainers: ["initContainers"],
        volumes: ["volumes"],
      },
      {
        pod: "alertmanager",
        at: ["alertmanager", "alertmanagerSpec"],
        podSecurityContext: ["securityContext"],
        resources: ["resources"],
        image: ["image"],
        initContainers: ["initContainers"],
        volumes: ["volumes"],
      },
      {
        pod: "grafana",
        at: ["grafana"],
        ...SECURITY_THEN_CONTAINER,
        initContainers: ["extraInitContainers"],
        volumes: ["extraVolumes"],
      },
      {
        pod: "kube-state-metrics",
        at: ["kube-state-metrics"],
        ...SECURITY_THEN_CONTAINER,
        hostNetwork: ["hostNetwork"],
        initContainers: ["initContainers"],
        volumes: ["volumes"],
      },
      {
        pod: "node-exporter",
        at: ["prometheus-node-exporter"],
        ...SECURITY_THEN_CONTAINER,
        hostNetwork: ["hostNetwork"],
        hostPID: ["hostPID"],
        hostIPC: ["hostIPC"],
      },
    ],
  },
};

/** The pod of a release, with what its values make of it. */
export interface HelmPod {
  /** `Helm release monitoring/kube-prometheus-stack (kube-prometheus-stack 65.1.1) pod grafana`, for messages. */
  readonly where: string;
  readonly security: PodSecurity;
  /** The main container's image as the values set it; absent when they leave it to the chart. */
  readonly image?: string;
  /** Init containers' images, given whole in the values. */
  readonly initImages: readonly { readonly name: string; readonly image: string }[];
}

const isObject = (value: unknown): value is Props => !!value && typeof value === "object" && !Array.isArray(value);
const at = (block: unknown, path: Path | undefined): unknown => (path ? get(block, ...path) : undefined);
const list = (value: unknown): Props[] => (Array.isArray(value) ? value.filter(isObject) : []);
const text = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/** `Helm release <namespace>/<name> (<chart> <version>)`. */
export function describeRelease(release: ReleaseResource): string {
  const namespace = typeof release.props["namespace"] === "string" ? release.props["namespace"] : "default";
  const name = typeof release.props["name"] === "string" ? release.props["name"] : release.name;
  return `Helm release ${namespace}/${name} (${text(release.props["chart"])} ${text(release.props["version"] ?? "?")})`;
}

/** An image reference from a chart's image block, when the values set one. */
export function imageOf(block: unknown): string | undefined {
  if (!isObject(block)) return undefined;
  const repository = block["repository"] ?? block["image"];
  const tag = block["tag"];
  const digest = block["digest"] ?? block["sha"];
  const given = [repository, tag, digest].filter((part) => typeof part === "string" && part !== "");
  if (given.length === 0) return undefined;
  const registry = typeof block["registry"] === "string" && block["registry"] !== "" ? `${block["registry"]}/` : "";
  const name = typeof repository === "string" && repository !== "" ? repository : "(the chart's image)";
  const withTag = typeof tag === "string" && tag !== "" ? `:${tag}` : "";
  const withDigest =
    typeof digest === "string" && digest !== "" ? `@${digest.startsWith("sha256:") ? digest : `sha256:${digest}`}` : "";
  return `${registry}${name}${withTag}${withDigest}`;
}

/**
 * The main container as the values shape it. A setting they leave unset is the chart's default,
 * which is not known here: it is filled with the restricted standard's value so that only what
 * the values set is judged.
 */
function mainContainer(keys: PodValueKeys, block: unknown, pod: Props): Props {
  const context = at(block, keys.containerSecurityContext);
  const set = isObject(context) ? context : {};
  const runsAs = ["runAsNonRoot", "runAsUser"].some((key) => set[key] !== undefined || pod[key] !== undefined);
  const resources = at(block, keys.resources);
  return {
    name: keys.pod,
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
      ...(get(pod, "seccompProfile") === undefined ? { seccompProfile: { type: "RuntimeDefault" } } : {}),
      ...(runsAs ? {} : { runAsNonRoot: true }),
      ...set,
    },
    resources: isObject(resources) ? resources : { limits: { cpu: "(chart default)", memory: "(chart default)" } },
    ...(at(block, keys.hostPort) === true ? { ports: [{ name: "host", hostPort: 1 }] } : {}),
  };
}

/** Each pod the values of a known chart shape; undefined when the chart or its version is not in the table. */
export function helmPods(release: ReleaseResource): HelmPod[] | undefined {
  const keys = CHART_VALUE_KEYS[text(release.props["chart"])];
  if (!keys || keys.version !== text(release.props["version"])) return undefined;
  const values = isObject(release.props["values"]) ? release.props["values"] : {};
  return keys.pods.flatMap((keysOf): HelmPod[] => {
    const block = keysOf.at.length === 0 ? values : get(values, ...keysOf.at);
    // A pod the values say nothing about runs on the chart's defaults alone.
    if (!isObject(block)) return [];
    const podContext = at(block, keysOf.podSecurityContext);
    const pod = isObject(podContext) ? podContext : {};
    const host = Object.fromEntries(
      (["hostNetwork", "hostPID", "hostIPC"] as const).flatMap((key) => {
        const value = at(block, keysOf[key]);
        return value === undefined ? [] : [[key, value]];
      }),
    );
    const initContainers = list(at(block, keysOf.initContainers));
    const spec: Props = {
      ...host,
      securityContext: pod,
      volumes: list(at(block, keysOf.volumes)),
      initContainers,
      containers: [mainContainer(keysOf, block, pod)],
    };
    const image = imageOf(at(block, keysOf.image));
    return [
      {
        where: `${describeRelease(release)} pod ${keysOf.pod}`,
        security: podSecurity(spec),
        ...(image === undefined ? {} : { image }),
        initImages: initContainers
          .filter((container) => typeof container["image"] === "string")
          .map((container) => ({ name: text(container["name"] ?? "?"), image: String(container["image"]) })),
      },
    ];
  });
}

/** Keys that say a pod shares the node or runs privileged, wherever they sit in a chart's values. */
const RISKY_KEYS: Readonly<Record<string, (value: unknown) => boolean>> = {
  hostNetwork: (value) => value === true || get(value, "enabled") === true,
  hostPID: (value) => value === true,
  hostIPC: (value) => value === true,
  privileged: (value) => value === true,
  hostPath: (value) => value !== undefined && value !== null,
  allowPrivilegeEscalation: (value) => value === true,
  runAsUser: (value) => value === 0,
};

/** Where the values of a chart whose keys are not known set something a pod rule would refuse. */
export function riskyValues(values: unknown, path: string[] = []): string[] {
  if (Array.isArray(values)) return values.flatMap((item, index) => riskyValues(item, [...path, `[${index}]`]));
  if (!isObject(values)) return [];
  return Object.entries(values).flatMap(([key, value]) => {
    const here = [...path, key];
    const risky = RISKY_KEYS[key]?.(value) === true ? [`${here.join(".").replace(/\.\[/g, "[")}: ${text(value)}`] : [];
    return [...risky, ...riskyValues(value, here)];
  });
}
