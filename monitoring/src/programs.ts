/**
 * What each program really exports: the API, the event listener and every worker built with the
 * very factory its main.ts calls, their registries read back; the backup jobs as their CronJob
 * commands push (the ops CLI's registries); the operations checks from the registry their push is made of. The consistency
 * test compares the catalog, alerts and dashboards with this.
 */
import { createServiceMetrics, type MetricOwner } from "@paimon/core/metrics";
import { WORKERS } from "@paimon/core/workloads";
import { createApiMetrics } from "@paimon/api/metrics";
import { createListenerMetrics } from "@paimon/event-listener/metrics";
import { createWorkerMetrics } from "@paimon/workers/metrics";
import { checkStatusRegistry } from "@paimon/scripts/checks/push";
import { backupSuccessRegistry, drillRunRegistry, drillSuccessRegistry } from "@paimon/scripts/push-metrics";
import { cronJobPushes, type KubeObject } from "./cluster";

type Registry = ReturnType<typeof createServiceMetrics>["registry"];

/** A metric as a program exports it: its name and exposition type (`untyped` when pushed bare). */
export interface ExportedMetric {
  readonly name: string;
  readonly type: string;
}

/** What one program exports, Node's default process metrics left out, and the jobs it claims. */
export interface ProgramExports {
  readonly program: MetricOwner;
  /** Scraped by Prometheus from its pods, or pushed to the Pushgateway. */
  readonly collected: "scraped" | "pushed";
  /**
   * The Prometheus jobs its series are meant to carry: the `service` label its registry stamps
   * on every series (its Kubernetes Service's name), or the `job` of its Pushgateway pushes.
   */
  readonly jobs: readonly string[];
  readonly metrics: readonly ExportedMetric[];
}

/** The names prom-client's default metrics have in this process (they vary by platform). */
export async function defaultMetricNames(): Promise<Set<string>> {
  const { registry } = createServiceMetrics("node-defaults", []);
  return new Set((await registry.getMetricsAsJSON()).map((metric) => metric.name));
}

async function fromRegistry(
  program: MetricOwner,
  registry: Registry,
  defaults: ReadonlySet<string>,
): Promise<ProgramExports> {
  const metrics = await registry.getMetricsAsJSON();
  const services = new Set(metrics.flatMap((metric) => metric.values.map((value) => String(value.labels["service"]))));
  return {
    program,
    collected: "scraped",
    jobs: [...services],
    metrics: metrics
      .filter((metric) => !defaults.has(metric.name))
      .map((metric) => ({ name: metric.name, type: String(metric.type) })),
  };
}

/** Every program's exports in a stack whose manifests are `objects` (the backup jobs differ by stack). */
export async function programExports(objects: readonly KubeObject[]): Promise<ProgramExports[]> {
  const defaults = await defaultMetricNames();
  const services = [
    await fromRegistry("api", createApiMetrics().registry, defaults),
    await fromRegistry("event-listener", createListenerMetrics().registry, defaults),
  ];
  const workers = await Promise.all(
    WORKERS.map((worker) => fromRegistry(`${worker}-worker`, createWorkerMetrics(worker).registry, defaults)),
  );
  // The backup CronJobs run the ops CLI: what they push is the CLI's own registries (a backup's,
  // every drill's run and a passed drill's success), and what a shell CronJob's script pushes,
  // should one still push by hand.
  const pushes = cronJobPushes(objects);
  const pushed = await Promise.all(
    [
      backupSuccessRegistry("postgres", new Date(0), 0),
      drillRunRegistry(new Date(0), false),
      drillSuccessRegistry(new Date(0)),
    ].map((registry) => fromRegistry("backup-jobs", registry, defaults)),
  );
  const backups: ProgramExports = {
    program: "backup-jobs",
    collected: "pushed",
    jobs: [...new Set([...pushed.flatMap((part) => part.jobs), ...pushes.map((push) => push.labels["job"] ?? "")])],
    metrics: [
      ...pushed.flatMap((part) => part.metrics),
      ...[...new Set(pushes.flatMap((push) => push.metrics))].map((name) => ({ name, type: "untyped" })),
    ],
  };
  const checks: ProgramExports = {
    ...(await fromRegistry(
      "ops-checks",
      checkStatusRegistry("daily", [{ id: "services.health", status: "pass" }]),
      defaults,
    )),
    collected: "pushed",
  };
  return [...services, ...workers, backups, checks];
}
