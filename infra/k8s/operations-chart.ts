import { Chart, Duration, type ChartProps } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { EVENT_LISTENER, WORKERS, workerName } from "@paimon/core/workloads";
import { API } from "./api-chart";
import { PUSHGATEWAY_URL } from "./backups-chart";
import { DrDrill } from "./dr-drill";
import { opsCronJob } from "./ops-cronjob";
import { selectorLabels } from "./pod";
import { containerResources, fromSecret, plainValues, syncedSecret, tcpPorts } from "./plus";
import { PORTS, type WorkloadValues } from "./values";

/** The daily checklist's CronJob, its pods' `app.kubernetes.io/name` and its service account. */
export const OPS_CHECK_DAILY = "paimon-ops-check-daily";
/** The image's entrypoint: the §9.1 checklist, pushed to the Pushgateway. */
export const OPS_CHECK_DAILY_ARGS = ["ops", "check", "daily"] as const;
/** kube-prometheus-stack's Prometheus (release `kube-prometheus-stack` in `monitoring`). */
export const PROMETHEUS_URL = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090";
const PROMETHEUS_PORT = Number(new URL(PROMETHEUS_URL).port);

export interface OperationsChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

/**
 * The §9 checklists that run in the cluster. The §9.1 daily checklist as a CronJob of the
 * services' image, every morning before the working day (08:30 in Singapore, the stacks'
 * region): each service's readiness, the risk indicators, the pending redemptions in PostgreSQL,
 * the event pipeline's lag, the alerts that fired and the backups' ages, read from Prometheus and
 * the services. It pushes every item's status to the
 * Pushgateway, where OpsCheckFailing routes a failing one to the team's channel; the Job itself
 * fails when an item does, and is not retried (the next run is tomorrow's; a rerun is a manual
 * Job). The backups' ages come from the successes the backup jobs pushed, each recorded only once
 * its read-back was verified: the check needs no access to the bucket. And §9.3's monthly
 * disaster-recovery drill (dr-drill.ts), with a role of its own and the shared policies' reach.
 */
export class OperationsChart extends Chart {
  constructor(scope: Construct, id: string, props: OperationsChartProps) {
    super(scope, id, { ...props, namespace: props.values.namespace });
    const { values } = props;
    const labels = selectorLabels(OPS_CHECK_DAILY);
    const url = (name: string, port: number) => `http://${name}.${values.namespace}.svc:${String(port)}`;
    const services = [
      kplus.LabelExpression.in("app.kubernetes.io/name", [API, EVENT_LISTENER, ...WORKERS.map(workerName)]),
    ];
    const servicePorts = () => tcpPorts(PORTS.api, PORTS.eventListener, PORTS.workers);

    opsCronJob(this, "daily", {
      name: OPS_CHECK_DAILY,
      image: values.image,
      schedule: { minute: "30", hour: "0" },
      startingDeadline: Duration.hours(1),
      failedJobsRetained: 7,
      backoffLimit: 0,
      activeDeadline: Duration.minutes(15),
      finishedJobsTtl: Duration.days(7),
      serviceAccount: { name: OPS_CHECK_DAILY },
      container: {
        name: "check",
        args: OPS_CHECK_DAILY_ARGS,
        env: {
          ...plainValues({
            PROMETHEUS_URL,
            PUSHGATEWAY_URL,
            API_URL: url(API, 80),
            EVENT_LISTENER_URL: url(EVENT_LISTENER, PORTS.eventListener),
            ...Object.fromEntries(
              WORKERS.map((worker) => [`${worker.toUpperCase()}_WORKER_URL`, url(workerName(worker), PORTS.workers)]),
            ),
          }),
          // The pending redemptions; the image carries the RDS CA the URL verifies against.
          DATABASE_URL: fromSecret(syncedSecret(this), "database-url"),
        },
        resources: containerResources({ memoryMi: 96, cpuMillis: 50 }, { memoryMi: 256, cpuMillis: 500 }),
      },
    });

    // The namespace denies everything not allowed: the check's way to what it reads, and back.
    const check = kplus.Pods.select(this, "check-pods", { labels });
    const monitoringPods = (name: string) =>
      kplus.Pods.select(this, `${name}-pods`, {
        labels: { "app.kubernetes.io/name": name },
        namespaces: kplus.Namespaces.select(this, `${name}-namespace`, {
          labels: { "kubernetes.io/metadata.name": "monitoring" },
        }),
      });
    new kplus.NetworkPolicy(this, "check-egress", {
      metadata: { name: `${OPS_CHECK_DAILY}-egress` },
      selector: check,
      egress: {
        rules: [
          { peer: monitoringPods("prometheus"), ports: tcpPorts(PROMETHEUS_PORT) },
          {
            peer: monitoringPods("prometheus-pushgateway"),
            ports: tcpPorts(Number(new URL(PUSHGATEWAY_URL).port)),
          },
          { peer: kplus.Pods.select(this, "services", { expressions: services }), ports: servicePorts() },
          ...values.databaseCidrs.map((cidr, index) => ({
            peer: kplus.NetworkPolicyIpBlock.ipv4(this, `database-${String(index)}`, cidr),
            ports: tcpPorts(PORTS.postgres),
          })),
        ],
      },
    });
    new kplus.NetworkPolicy(this, "services-from-check", {
      metadata: { name: `allow-${OPS_CHECK_DAILY}-to-services` },
      selector: kplus.Pods.select(this, "services-selected", { expressions: services }),
      ingress: { rules: [{ peer: check, ports: servicePorts() }] },
    });

    new DrDrill(this, "dr-drill", { values });
  }
}
