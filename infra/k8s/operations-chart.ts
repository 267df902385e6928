import { Chart, type ChartProps } from "cdk8s";
import { k8s } from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { EVENT_LISTENER, WORKERS, workerName } from "@paimon/core/workloads";
import { API } from "./api-chart";
import { PUSHGATEWAY_URL } from "./backups-chart";
import {
  containerSecurityContext,
  plainEnv,
  podSecurityContext,
  resources,
  secretEnv,
  selectorLabels,
  tmpMount,
  tmpVolume,
} from "./pod";
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

const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: "TCP", port: k8s.IntOrString.fromNumber(port) });
const monitoringPods = (name: string): k8s.NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
  podSelector: { matchLabels: { "app.kubernetes.io/name": name } },
});

/**
 * The §9.1 daily checklist as a CronJob of the services' image, every morning before the working
 * day (08:30 in Singapore, the stacks' region): each service's readiness, the risk indicators,
 * the pending redemptions in PostgreSQL, the event pipeline's lag, the alerts that fired and the
 * backups' ages, read from Prometheus and the services. It pushes every item's status to the
 * Pushgateway, where OpsCheckFailing routes a failing one to the team's channel; the Job itself
 * fails when an item does, and is not retried (the next run is tomorrow's; a rerun is a manual
 * Job). The backups' ages come from the successes the backup jobs pushed, each recorded only once
 * its read-back was verified: the check needs no access to the bucket.
 */
export class OperationsChart extends Chart {
  constructor(scope: Construct, id: string, props: OperationsChartProps) {
    super(scope, id, { ...props, namespace: props.values.namespace });
    const { values } = props;
    const labels = selectorLabels(OPS_CHECK_DAILY);
    const url = (name: string, port: number) => `http://${name}.${values.namespace}.svc:${String(port)}`;
    const services = {
      matchExpressions: [
        { key: "app.kubernetes.io/name", operator: "In", values: [API, EVENT_LISTENER, ...WORKERS.map(workerName)] },
      ],
    };

    new k8s.KubeServiceAccount(this, "service-account", {
      metadata: { name: OPS_CHECK_DAILY, labels },
      automountServiceAccountToken: false,
    });
    new k8s.KubeCronJob(this, "daily", {
      metadata: { name: OPS_CHECK_DAILY, labels },
      spec: {
        schedule: "30 0 * * *",
        timeZone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 7,
        jobTemplate: {
          spec: {
            backoffLimit: 0,
            activeDeadlineSeconds: 900,
            ttlSecondsAfterFinished: 7 * 86_400,
            template: {
              metadata: { labels },
              spec: {
                serviceAccountName: OPS_CHECK_DAILY,
                automountServiceAccountToken: false,
                restartPolicy: "Never",
                securityContext: podSecurityContext,
                volumes: [tmpVolume],
                containers: [
                  {
                    name: "check",
                    image: values.image,
                    args: [...OPS_CHECK_DAILY_ARGS],
                    env: [
                      ...plainEnv({
                        PROMETHEUS_URL,
                        PUSHGATEWAY_URL,
                        API_URL: url(API, 80),
                        EVENT_LISTENER_URL: url(EVENT_LISTENER, PORTS.eventListener),
                        ...Object.fromEntries(
                          WORKERS.map((worker) => [
                            `${worker.toUpperCase()}_WORKER_URL`,
                            url(workerName(worker), PORTS.workers),
                          ]),
                        ),
                      }),
                      // The pending redemptions; the image carries the RDS CA the URL verifies against.
                      secretEnv("DATABASE_URL", "database-url"),
                    ],
                    resources: resources({ memory: "96Mi", cpu: "50m" }, { memory: "256Mi", cpu: "500m" }),
                    securityContext: containerSecurityContext,
                    volumeMounts: [tmpMount],
                  },
                ],
              },
            },
          },
        },
      },
    });

    // The namespace denies everything not allowed: the check's way to what it reads, and back.
    new k8s.KubeNetworkPolicy(this, "check-egress", {
      metadata: { name: `${OPS_CHECK_DAILY}-egress` },
      spec: {
        podSelector: { matchLabels: labels },
        policyTypes: ["Egress"],
        egress: [
          { to: [monitoringPods("prometheus")], ports: [tcp(PROMETHEUS_PORT)] },
          { to: [monitoringPods("prometheus-pushgateway")], ports: [tcp(Number(new URL(PUSHGATEWAY_URL).port))] },
          {
            to: [{ podSelector: services }],
            ports: [tcp(PORTS.api), tcp(PORTS.eventListener), tcp(PORTS.workers)],
          },
          { to: values.databaseCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(PORTS.postgres)] },
        ],
      },
    });
    new k8s.KubeNetworkPolicy(this, "services-from-check", {
      metadata: { name: `allow-${OPS_CHECK_DAILY}-to-services` },
      spec: {
        podSelector: services,
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [{ podSelector: { matchLabels: labels } }],
            ports: [tcp(PORTS.api), tcp(PORTS.eventListener), tcp(PORTS.workers)],
          },
        ],
      },
    });
  }
}
