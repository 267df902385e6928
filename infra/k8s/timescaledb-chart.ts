import { Chart, type ChartProps } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import { k8s } from "cdk8s-plus-28";
import type { Construct } from "constructs";
import {
  containerSecurityContext,
  disruptionBudget,
  plainEnv,
  podSecurityContext,
  quantity,
  resources,
  secretEnv,
  selectorLabels,
  tmpMount,
  tmpVolume,
} from "./pod";
import { PORTS, type WorkloadValues } from "./values";

export const TIMESCALEDB = "paimon-timescaledb";
/** The metrics database's owner and name, created by the image at its first start. */
export const TIMESCALEDB_USER = "paimon";
export const TIMESCALEDB_DATABASE = "metrics";

/** The StatefulSet's one pod, by its stable name under the headless Service. */
export const timescaleHost = (namespace: string): string => `${TIMESCALEDB}-0.${TIMESCALEDB}.${namespace}.svc`;

/**
 * The services' `METRICS_DATABASE_URL`. The container serves no TLS, so the URL says
 * `sslmode=disable` rather than promise an encryption it does not get: the connection stays
 * inside the cluster, pod to pod, and the network policies admit only the fund's workloads.
 */
export function metricsDatabaseUrl(namespace: string, password: string): string {
  return (
    `postgresql://${TIMESCALEDB_USER}:${encodeURIComponent(password)}@${timescaleHost(namespace)}:` +
    `${PORTS.timescaledb}/${TIMESCALEDB_DATABASE}?sslmode=disable`
  );
}

export interface TimescaleChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

/**
 * The metrics database RDS cannot host (it does not load TimescaleDB): a StatefulSet on
 * encrypted, retained gp3 volumes, its password from the synced secret. Its daily dump is in the
 * backups chart.
 */
export class TimescaleChart extends Chart {
  constructor(scope: Construct, id: string, props: TimescaleChartProps) {
    super(scope, id, { ...props, namespace: props.values.namespace });
    const { values } = props;
    const labels = selectorLabels(TIMESCALEDB);
    const probe = (initialDelaySeconds: number, periodSeconds: number): k8s.Probe => ({
      exec: { command: ["pg_isready", "-U", TIMESCALEDB_USER, "-d", TIMESCALEDB_DATABASE, "-h", "127.0.0.1"] },
      initialDelaySeconds,
      periodSeconds,
      timeoutSeconds: 5,
    });
    const service = new kplus.Service(this, "service", {
      metadata: { name: TIMESCALEDB, labels },
      clusterIP: "None",
      ports: [{ name: "postgres", port: PORTS.timescaledb, targetPort: PORTS.timescaledb }],
    });
    for (const [key, value] of Object.entries(labels)) service.selectLabel(key, value);
    // Raw, unlike the other workloads: the metrics database's volume rides on this object, so its
    // spec stays exactly what it was (a cdk8s-plus StatefulSet writes the API's defaults out, and
    // the plan reads any change to a StatefulSet's spec as a possible replacement of its data);
    // and cdk8s-plus-28 models neither its claim templates nor their retention.
    new k8s.KubeStatefulSet(this, "statefulset", {
      metadata: { name: TIMESCALEDB, labels },
      spec: {
        serviceName: TIMESCALEDB,
        replicas: 1,
        selector: { matchLabels: labels },
        podManagementPolicy: "OrderedReady",
        updateStrategy: { type: "RollingUpdate" },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            securityContext: podSecurityContext,
            terminationGracePeriodSeconds: 120,
            volumes: [tmpVolume, { name: "run", emptyDir: {} }],
            containers: [
              {
                name: "timescaledb",
                image: values.timescaledbImage,
                ports: [{ name: "postgres", containerPort: PORTS.timescaledb }],
                env: [
                  ...plainEnv({
                    POSTGRES_USER: TIMESCALEDB_USER,
                    POSTGRES_DB: TIMESCALEDB_DATABASE,
                    PGDATA: "/var/lib/postgresql/data/pgdata",
                  }),
                  secretEnv("POSTGRES_PASSWORD", "timescaledb-password"),
                ],
                resources: resources({ memory: "1Gi", cpu: "500m" }, { memory: "2Gi", cpu: "1" }),
                livenessProbe: probe(30, 15),
                readinessProbe: probe(5, 10),
                securityContext: containerSecurityContext,
                volumeMounts: [
                  tmpMount,
                  { name: "run", mountPath: "/var/run/postgresql" },
                  { name: "data", mountPath: "/var/lib/postgresql/data" },
                ],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "data", labels },
            spec: {
              accessModes: ["ReadWriteOnce"],
              storageClassName: values.timescaleStorageClass,
              resources: { requests: { storage: quantity(`${values.timescaleVolumeGiB}Gi`) } },
            },
          },
        ],
      },
    });
    // One replica: the budget only makes a drain wait until the volume can follow the pod.
    if (values.highAvailability) disruptionBudget(this, TIMESCALEDB, labels);
  }
}
