import { ApiObject, Chart, type ChartProps } from "cdk8s";
import type { Construct } from "constructs";
import { prometheusRule } from "@paimon/monitoring/alerts";
import { MONITORING_NAMESPACE, dashboardConfigMaps } from "@paimon/monitoring/outputs";

/** The alert rules (a PrometheusRule) and the dashboards (ConfigMaps for Grafana's sidecar). */
export class MonitoringChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);
    const objects = [prometheusRule(MONITORING_NAMESPACE), ...dashboardConfigMaps()] as {
      kind: string;
      metadata: { name: string };
    }[];
    for (const object of objects) {
      new ApiObject(this, `${object.kind.toLowerCase()}-${object.metadata.name}`, object as never);
    }
  }
}
