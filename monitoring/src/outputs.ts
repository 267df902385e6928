import { renderRulesFile } from "./alerts";
import { renderAlertmanagerConfig, type MonitoredStack } from "./alertmanager";
import { dashboards } from "./dashboards";

/** kube-prometheus-stack's namespace; its Grafana sidecar loads ConfigMaps labelled `grafana_dashboard`. */
export const MONITORING_NAMESPACE = "monitoring";

/** A generated file: path relative to the repository root, and its exact bytes. */
export interface GeneratedFile {
  readonly path: string;
  readonly content: string;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** One ConfigMap per dashboard, for the Grafana sidecar to load. */
export function dashboardConfigMaps(): object[] {
  return Object.entries(dashboards()).map(([name, dashboard]) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: `paimon-dashboard-${name}`,
      namespace: MONITORING_NAMESPACE,
      labels: { grafana_dashboard: "1", "app.kubernetes.io/part-of": "paimon" },
    },
    data: { [`paimon-${name}.json`]: JSON.stringify(dashboard) },
  }));
}

/** Every file the monitoring code generates, in a stable order. */
export function monitoringOutputs(stacks: readonly (MonitoredStack & { readonly stack: string })[]): GeneratedFile[] {
  return [
    ...Object.entries(dashboards()).map(([name, dashboard]) => ({
      path: `dashboards/${name}.json`,
      content: json(dashboard),
    })),
    { path: "monitoring/generated/paimon-rules.yml", content: renderRulesFile() },
    ...stacks.map((stack) => ({
      path: `monitoring/generated/alertmanager-${stack.stack}.yml`,
      content: renderAlertmanagerConfig(stack),
    })),
  ];
}
