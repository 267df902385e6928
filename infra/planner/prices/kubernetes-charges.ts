import type { Json, PlannedResource } from "../snapshot";
import {
  at,
  count,
  fixed,
  list,
  quantityGiB,
  record,
  text,
  usage,
  type BillingContext,
  type Charge,
  type Estimator,
} from "./charges";

/**
 * Charges that Kubernetes objects of the plan bring with them on EKS: the EBS volumes their
 * claims provision (through a StorageClass of the plan), and the load balancer a Service of type
 * LoadBalancer gets from the AWS Load Balancer Controller.
 */

const EBS_PROVISIONERS: Readonly<Record<string, string>> = {
  "ebs.csi.aws.com": "gp3",
  "kubernetes.io/aws-ebs": "gp2",
};

/** `volumes` EBS volumes of `size` each, of the type their StorageClass sets. */
function claimCharge(
  part: string,
  what: string,
  volumes: number,
  size: Json | undefined,
  className: string | undefined,
  region: string | undefined,
  context: BillingContext,
): Charge {
  const storageClass = context.storageClass(className);
  const provisioner = text(storageClass?.inputs["provisioner"]) ?? "";
  const volumeType = text(record(storageClass?.inputs["parameters"])?.["type"]) ?? EBS_PROVISIONERS[provisioner];
  const gib = quantityGiB(size);
  const name = className ?? "(the default)";
  const why =
    gib === undefined
      ? `size ${JSON.stringify(size ?? null)} not in the plan`
      : !storageClass
        ? `storage class ${name} not in the plan`
        : !(provisioner in EBS_PROVISIONERS)
          ? `storage class ${name} is not EBS`
          : "volume type not in the plan";
  return fixed(
    {
      part,
      category: "EBS volumes",
      item: `ebs.volume:${volumeType ?? "unknown"}`,
      region,
      detail: `${what}: ${volumes} × ${typeof size === "string" ? size : "?"} ${volumeType ?? ""}`.trimEnd(),
    },
    gib !== undefined && storageClass && provisioner in EBS_PROVISIONERS && volumeType ? volumes * gib : undefined,
    why,
  );
}

/** Where a chart's values put the volumes it claims. */
interface HelmVolume {
  readonly what: string;
  readonly size: string;
  readonly storageClass: string;
  /** A flag that must be true for the volume to exist; without one, a size says it exists. */
  readonly enabled?: string;
  readonly replicas?: string;
}

const HELM_VOLUMES: Readonly<Record<string, readonly HelmVolume[]>> = {
  "kube-prometheus-stack": [
    {
      what: "Prometheus",
      size: "prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage",
      storageClass: "prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName",
      replicas: "prometheus.prometheusSpec.replicas",
    },
    {
      what: "Alertmanager",
      size: "alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec.resources.requests.storage",
      storageClass: "alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec.storageClassName",
      replicas: "alertmanager.alertmanagerSpec.replicas",
    },
    {
      what: "Grafana",
      enabled: "grafana.persistence.enabled",
      size: "grafana.persistence.size",
      storageClass: "grafana.persistence.storageClassName",
    },
  ],
  "prometheus-pushgateway": [
    {
      what: "Pushgateway",
      enabled: "persistentVolume.enabled",
      size: "persistentVolume.size",
      storageClass: "persistentVolume.storageClass",
    },
  ],
};

function loadBalancer(
  annotations: PlannedResource["inputs"] | undefined,
  region: string | undefined,
  of: string,
): Charge[] {
  const lbType = text(annotations?.["service.beta.kubernetes.io/aws-load-balancer-type"]);
  const kind = lbType === "external" || lbType === "nlb" ? "network" : "classic";
  return [
    fixed(
      {
        part: "load-balancer",
        category: "Load balancers",
        item: `elb.${kind}:hour`,
        region,
        detail: `${of}: 1 ${kind} load balancer`,
      },
      1,
      "not in the plan",
    ),
    usage({
      part: "load-balancer-capacity",
      category: "Load balancers",
      item: `elb.${kind}:capacity-unit`,
      region,
      detail: `${of}: capacity units`,
    }),
  ];
}

export const KUBERNETES_CHARGES: Readonly<Record<string, Estimator>> = {
  "kubernetes:apps/v1:StatefulSet": (resource, context, region) => {
    const spec = record(resource.inputs["spec"]);
    const replicas = count(spec?.["replicas"]) ?? 1;
    return list(spec?.["volumeClaimTemplates"]).map((claim) => {
      const name = text(at(claim, "metadata.name")) ?? "volume";
      return claimCharge(
        `volume:${name}`,
        `${name} claims`,
        replicas,
        at(claim, "spec.resources.requests.storage"),
        text(at(claim, "spec.storageClassName")),
        region,
        context,
      );
    });
  },

  "kubernetes:core/v1:PersistentVolumeClaim": (resource, context, region) => [
    claimCharge(
      "volume",
      "claim",
      1,
      at(resource.inputs["spec"], "resources.requests.storage"),
      text(at(resource.inputs["spec"], "storageClassName")),
      region,
      context,
    ),
  ],

  "kubernetes:core/v1:Service": (resource, _context, region) =>
    text(at(resource.inputs["spec"], "type")) === "LoadBalancer"
      ? loadBalancer(record(at(resource.inputs["metadata"], "annotations")), region, "Service")
      : [],

  "kubernetes:helm.sh/v3:Release": (resource, context, region) => {
    const chart = text(resource.inputs["chart"]) ?? "";
    const values = record(resource.inputs["values"]);
    const charges: Charge[] = [];
    for (const volume of HELM_VOLUMES[chart] ?? []) {
      const size = at(values, volume.size);
      if (volume.enabled ? at(values, volume.enabled) !== true : size === undefined) continue;
      const replicas = volume.replicas ? (count(at(values, volume.replicas)) ?? 1) : 1;
      charges.push(
        claimCharge(
          `volume:${volume.what}`,
          volume.what,
          replicas,
          size,
          text(at(values, volume.storageClass)),
          region,
          context,
        ),
      );
    }
    // ingress-nginx's controller Service is of type LoadBalancer unless its values say otherwise.
    const service = record(at(values, "controller.service"));
    if (
      chart === "ingress-nginx" &&
      service?.["enabled"] !== false &&
      (text(service?.["type"]) ?? "LoadBalancer") === "LoadBalancer"
    )
      charges.push(...loadBalancer(record(service?.["annotations"]), region, "ingress-nginx controller"));
    return charges;
  },
};

/** The plan writes core objects as `kubernetes:v1:<Kind>`. */
export const KUBERNETES_ALIASES: Readonly<Record<string, string>> = {
  "kubernetes:v1:Service": "kubernetes:core/v1:Service",
  "kubernetes:v1:PersistentVolumeClaim": "kubernetes:core/v1:PersistentVolumeClaim",
};
