import { ApiObject, Chart, Duration, JsonPatch, type ChartProps } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { disruptionBudget, quantity, selectorLabels } from "./pod";
import {
  IMAGE_PULL_POLICY,
  containerResources,
  containerSecurity,
  fromSecret,
  plainValues,
  podSecurity,
  restrictPod,
  selectExactly,
  syncedSecret,
  tmpDirectory,
  withoutAddressSelector,
} from "./plus";
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
    const probe = (initialDelaySeconds: number, periodSeconds: number): kplus.Probe =>
      kplus.Probe.fromCommand(["pg_isready", "-U", TIMESCALEDB_USER, "-d", TIMESCALEDB_DATABASE, "-h", "127.0.0.1"], {
        initialDelaySeconds: Duration.seconds(initialDelaySeconds),
        periodSeconds: Duration.seconds(periodSeconds),
        timeoutSeconds: Duration.seconds(5),
      });
    // The pods' stable names (`paimon-timescaledb-0.paimon-timescaledb`) come from this Service.
    const service = new kplus.Service(this, "service", {
      metadata: { name: TIMESCALEDB, labels },
      clusterIP: "None",
      ports: [{ name: "postgres", port: PORTS.timescaledb, targetPort: PORTS.timescaledb }],
    });
    for (const [key, value] of Object.entries(labels)) service.selectLabel(key, value);
    // The fields Pulumi replaces the StatefulSet on (infra/planner/replacement.ts: its name, selector,
    // service name, pod management policy, revision history and claim templates) are exactly what
    // the raw object held; what cdk8s-plus adds is the API's defaults (minReadySeconds 0, a
    // rolling update's partition 0), updated in place.
    const statefulSet = new kplus.StatefulSet(this, "statefulset", {
      metadata: { name: TIMESCALEDB, labels },
      service,
      select: false,
      podMetadata: { labels },
      replicas: 1,
      podManagementPolicy: kplus.PodManagementPolicy.ORDERED_READY,
      strategy: kplus.StatefulSetUpdateStrategy.rollingUpdate(),
      automountServiceAccountToken: false,
      securityContext: podSecurity,
      terminationGracePeriod: Duration.seconds(120),
    });
    const tmp = tmpDirectory(statefulSet);
    const run = kplus.Volume.fromEmptyDir(statefulSet, "run-volume", "run");
    const secret = syncedSecret(this);
    statefulSet.addContainer({
      name: "timescaledb",
      image: values.timescaledbImage,
      imagePullPolicy: IMAGE_PULL_POLICY,
      ports: [{ name: "postgres", number: PORTS.timescaledb }],
      envVariables: {
        ...plainValues({
          POSTGRES_USER: TIMESCALEDB_USER,
          POSTGRES_DB: TIMESCALEDB_DATABASE,
          PGDATA: "/var/lib/postgresql/data/pgdata",
        }),
        POSTGRES_PASSWORD: fromSecret(secret, "timescaledb-password"),
      },
      resources: containerResources({ memoryMi: 1024, cpuMillis: 500 }, { memoryMi: 2048, cpuMillis: 1000 }),
      liveness: probe(30, 15),
      readiness: probe(5, 10),
      securityContext: containerSecurity,
      volumeMounts: [tmp, { path: "/var/run/postgresql", volume: run }],
    });
    const template = "/spec/template";
    const container = `${template}/spec/containers/0`;
    selectExactly(statefulSet, labels, template);
    withoutAddressSelector(service);
    restrictPod(statefulSet, template);
    // Not modelled by cdk8s-plus-28: the claim templates and their retention (a deleted or
    // scaled-in StatefulSet leaves its volumes), and a mount of the claim, which is no pod volume.
    // cdk8s-plus writes memory in MiB only: the limit stays 2Gi as the manifest held it (2048Mi is
    // also cdk8s-plus's default limit, which plus.test.ts reads as a container left to defaults).
    // The patches apply before the generated types serialize their quantities: those are given as
    // `Quantity`, or they are dropped.
    ApiObject.of(statefulSet).addJsonPatch(
      JsonPatch.add("/spec/persistentVolumeClaimRetentionPolicy", { whenDeleted: "Retain", whenScaled: "Retain" }),
      JsonPatch.add("/spec/volumeClaimTemplates", [
        {
          metadata: { name: "data", labels },
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: values.timescaleStorageClass,
            resources: { requests: { storage: quantity(`${values.timescaleVolumeGiB}Gi`) } },
          },
        },
      ]),
      JsonPatch.add(`${container}/volumeMounts/-`, { name: "data", mountPath: "/var/lib/postgresql/data" }),
      JsonPatch.replace(`${container}/resources/limits/memory`, quantity("2Gi")),
    );
    // One replica: the budget only makes a drain wait until the volume can follow the pod.
    if (values.highAvailability) disruptionBudget(this, TIMESCALEDB, labels);
  }
}
