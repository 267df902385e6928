import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SynthesizedChart } from "../../k8s/main";
import { CHARTS, addonValues, type AddonInputs, type ChartPin } from "./addons";

/** API groups whose custom resources need a release's CRDs first. */
const CRD_OWNERS: Readonly<Record<string, keyof typeof CHARTS>> = {
  "monitoring.coreos.com": "kubePrometheusStack",
  "cert-manager.io": "certManager",
  "external-secrets.io": "externalSecrets",
};

export interface KubernetesPlatformArgs extends AddonInputs {
  /** The cluster's provider. */
  readonly provider: k8s.Provider;
  /** The stack's synthesized charts (infra/k8s), in deployment order. */
  readonly charts: readonly SynthesizedChart[];
  /**
   * `protect` the StatefulSets (TimescaleDB): Pulumi refuses to delete or replace one until a
   * reviewed change lifts it. @default false
   */
  readonly protect?: boolean;
}

/**
 * Deploys into the cluster: the platform add-ons as Helm releases with pinned chart versions and
 * typed values, then every object of the generated charts as its own resource — so `pulumi preview`
 * and `pnpm plan` show each one — custom resources only after the release that installs their
 * CRDs, namespaced objects after their namespace (a chart's Namespace, or the release that creates
 * it).
 */
export class KubernetesPlatform extends pulumi.ComponentResource {
  readonly releases: Readonly<Record<keyof typeof CHARTS, k8s.helm.v3.Release>>;

  constructor(name: string, args: KubernetesPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:kubernetes:KubernetesPlatform", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const values = addonValues(args);
    const release = (key: keyof typeof CHARTS, dependsOn: pulumi.Resource[] = []) => {
      const pin = CHARTS[key];
      // Release names are the chart's, but for a second release of the same chart.
      const releaseName = key === "timescaleExporter" ? "timescaledb-exporter" : pin.chart;
      return new k8s.helm.v3.Release(
        `${name}-${releaseName}`,
        {
          name: releaseName,
          chart: pin.chart,
          version: pin.version,
          repositoryOpts: { repo: pin.repo },
          namespace: pin.namespace,
          createNamespace: true,
          atomic: true,
          cleanupOnFail: true,
          timeout: 900,
          values: values[key],
        },
        { ...child, dependsOn },
      );
    };
    const loadBalancerController = release("loadBalancerController");
    const certManager = release("certManager");
    const externalSecrets = release("externalSecrets");
    const kubePrometheusStack = release("kubePrometheusStack");
    this.releases = {
      loadBalancerController,
      certManager,
      externalSecrets,
      kubePrometheusStack,
      // The controller's Service needs the load balancer controller's webhook to exist.
      ingressNginx: release("ingressNginx", [loadBalancerController]),
      pushgateway: release("pushgateway", [kubePrometheusStack]),
      postgresExporter: release("postgresExporter", [kubePrometheusStack]),
      timescaleExporter: release("timescaleExporter", [kubePrometheusStack]),
      redisExporter: release("redisExporter", [kubePrometheusStack]),
      metricsServer: release("metricsServer"),
      fluentBit: release("fluentBit"),
    };

    // A release creates its namespace (`createNamespace`); the first release into one stands for it.
    // kube-system is there from the start.
    const namespaces = new Map<string, pulumi.Resource>();
    for (const [key, pin] of Object.entries(CHARTS) as [keyof typeof CHARTS, ChartPin][]) {
      if (pin.namespace !== "kube-system" && !namespaces.has(pin.namespace)) {
        namespaces.set(pin.namespace, this.releases[key]);
      }
    }
    for (const chart of args.charts) {
      for (const object of chart.objects) {
        const { apiVersion, kind, metadata } = object as {
          apiVersion: string;
          kind: string;
          metadata: { name: string; namespace?: string };
        };
        const group = apiVersion.includes("/") ? (apiVersion.split("/")[0] ?? "") : "";
        const owner = CRD_OWNERS[group];
        const namespace = metadata.namespace ? namespaces.get(metadata.namespace) : undefined;
        const dependsOn: pulumi.Resource[] = [
          ...new Set([...(owner ? [this.releases[owner]] : []), ...(namespace ? [namespace] : [])]),
        ];
        const resource = new k8s.apiextensions.CustomResource(
          `${chart.id}-${kind.toLowerCase()}-${metadata.namespace ? `${metadata.namespace}-` : ""}${metadata.name}`,
          object as k8s.apiextensions.CustomResourceArgs,
          { ...child, dependsOn, protect: kind === "StatefulSet" && (args.protect ?? false) },
        );
        if (kind === "Namespace") namespaces.set(metadata.name, resource);
      }
    }
    this.registerOutputs({});
  }
}
