/**
 * What Prometheus would really collect in a stack, read from its generated manifests
 * (charts-generated/<stack>/*.k8s.yaml): the jobs prometheus-operator derives from the
 * ServiceMonitors and the Services they select, and what the backup CronJobs push to the
 * Pushgateway. The consistency test checks alerts and dashboards against this, not against a
 * list of names typed next to them.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import type { IServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { ICronJob } from "kubernetes-models/batch/v1/CronJob";
import type { IService } from "kubernetes-models/v1/Service";
import { parseAllDocuments } from "yaml";

/** A manifest, as far as this module needs to tell what it is. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
}

/** Every object of every `charts-generated/<stack>/*.k8s.yaml`, by stack. */
export function readStackManifests(directory: string): Record<string, KubeObject[]> {
  const stacks = readdirSync(directory, { withFileTypes: true }).filter((entry) => entry.isDirectory());
  if (stacks.length === 0) throw new Error(`no stack under ${directory}`);
  return Object.fromEntries(
    stacks.map((stack) => {
      const files = readdirSync(path.join(directory, stack.name)).filter((file) => file.endsWith(".k8s.yaml"));
      const objects = files.flatMap((file) =>
        parseAllDocuments(readFileSync(path.join(directory, stack.name, file), "utf8")).flatMap((document) => {
          const object = document.toJS() as KubeObject | null;
          return object ? [object] : [];
        }),
      );
      return [stack.name, objects];
    }),
  );
}

const isServiceMonitor = (object: KubeObject): object is KubeObject & IServiceMonitor =>
  object.apiVersion === "monitoring.coreos.com/v1" && object.kind === "ServiceMonitor";
const isService = (object: KubeObject): object is KubeObject & IService =>
  object.apiVersion === "v1" && object.kind === "Service";
const isWorkload = (object: KubeObject): object is KubeObject & IDeployment =>
  object.apiVersion === "apps/v1" && (object.kind === "Deployment" || object.kind === "StatefulSet");
const isCronJob = (object: KubeObject): object is KubeObject & ICronJob =>
  object.apiVersion === "batch/v1" && object.kind === "CronJob";

type LabelSelector = IServiceMonitor["spec"]["selector"];

/** Kubernetes label selector semantics: every matchLabels pair and every expression must hold. */
export function selects(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const pairs = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const expressions = (selector.matchExpressions ?? []).every((expression) => {
    const value = labels[expression.key];
    switch (expression.operator) {
      case "In":
        return value !== undefined && (expression.values ?? []).includes(value);
      case "NotIn":
        return value === undefined || !(expression.values ?? []).includes(value);
      case "Exists":
        return value !== undefined;
      case "DoesNotExist":
        return value === undefined;
      default:
        throw new Error(`unknown label selector operator ${expression.operator}`);
    }
  });
  return pairs && expressions;
}

/** A job Prometheus scrapes, and the ServiceMonitor and Service it comes from. */
export interface ScrapeJob {
  readonly job: string;
  readonly serviceMonitor: string;
  readonly service: string;
}

/**
 * The jobs prometheus-operator generates: for each ServiceMonitor, each Service it selects (in
 * its namespaces, with a port one of its endpoints names), job = the Service's name, or the
 * value of the Service's label named by the ServiceMonitor's `jobLabel` when it has one.
 * Relabelings that rewrite `job` are not modelled, so they throw rather than be ignored.
 */
export function scrapeJobs(objects: readonly KubeObject[]): ScrapeJob[] {
  const services = objects.filter(isService);
  return objects.filter(isServiceMonitor).flatMap((monitor) => {
    const name = monitor.metadata?.name ?? "?";
    const namespace = monitor.metadata?.namespace ?? "default";
    const { endpoints, jobLabel, namespaceSelector, selector } = monitor.spec;
    for (const endpoint of endpoints) {
      for (const relabeling of [...(endpoint.relabelings ?? []), ...(endpoint.metricRelabelings ?? [])]) {
        if (relabeling.targetLabel === "job" || (relabeling.action ?? "replace").toLowerCase() !== "replace") {
          throw new Error(`ServiceMonitor ${name}: a relabeling that may drop targets or change "job" is not modelled`);
        }
      }
    }
    const inNamespace = (service: IService) => {
      const own = service.metadata?.namespace ?? "default";
      if (namespaceSelector?.any) return true;
      return (namespaceSelector?.matchNames ?? [namespace]).includes(own);
    };
    const hasPort = (service: IService) =>
      endpoints.some((endpoint) =>
        (service.spec?.ports ?? []).some((port) =>
          endpoint.port !== undefined ? port.name === endpoint.port : port.targetPort === endpoint.targetPort,
        ),
      );
    return services
      .filter(
        (service) => inNamespace(service) && selects(selector, service.metadata?.labels ?? {}) && hasPort(service),
      )
      .map((service) => {
        const serviceName = service.metadata?.name ?? "?";
        const labelled = jobLabel === undefined ? undefined : service.metadata?.labels?.[jobLabel];
        return { job: labelled ?? serviceName, serviceMonitor: name, service: serviceName };
      });
  });
}

/** One push of a backup CronJob to the Pushgateway: its grouping labels and the metrics it sends. */
export interface Push {
  readonly cronJob: string;
  /** The grouping key of the URL, `/metrics/job/<job>/<label>/<value>…`, job included. */
  readonly labels: Readonly<Record<string, string>>;
  readonly metrics: readonly string[];
}

/** `printf '<exposition lines>' … | curl … "<pushgateway>/metrics/job/…"`, as the backup scripts report. */
const PUSH = /printf '([^']*)'[^|]*\|\s*curl\b[^"]*"[^"]*?\/metrics\/(job\/[^"]+)"/g;

/** What a shell script pushes to a Pushgateway. Any push it cannot read throws. */
export function pushesIn(cronJob: string, script: string): Push[] {
  const pushes = [...script.matchAll(PUSH)].map(([, lines = "", groups = ""]) => {
    const parts = groups.split("/");
    if (parts.length % 2 !== 0) throw new Error(`CronJob ${cronJob}: odd grouping key /metrics/${groups}`);
    const labels: Record<string, string> = {};
    for (let index = 0; index < parts.length; index += 2) labels[parts[index] as string] = parts[index + 1] as string;
    const metrics = lines
      .split("\\n")
      .filter((line) => line.trim() !== "" && !line.startsWith("#"))
      .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? `unreadable line "${line}"`);
    return { cronJob, labels, metrics };
  });
  const mentioned = script.split("/metrics/job/").length - 1;
  if (pushes.length !== mentioned) {
    throw new Error(`CronJob ${cronJob}: ${mentioned} push(es) to a Pushgateway, ${pushes.length} of them readable`);
  }
  return pushes;
}

/** Every push of every CronJob's containers, read from their commands and arguments. */
export function cronJobPushes(objects: readonly KubeObject[]): Push[] {
  return objects
    .filter(isCronJob)
    .flatMap((cronJob) =>
      (cronJob.spec.jobTemplate.spec?.template.spec?.containers ?? []).flatMap((container) =>
        pushesIn(cronJob.metadata?.name ?? "?", [...(container.command ?? []), ...(container.args ?? [])].join("\n")),
      ),
    );
}

/** One environment variable a workload's container sets: its value, or undefined when read from a reference. */
export interface EnvSetting {
  readonly workload: string;
  readonly name: string;
  readonly value: string | undefined;
}

/**
 * The explicit environment of every Deployment's and StatefulSet's containers. `envFrom` hides
 * which names it sets, so it throws rather than be read as setting none.
 */
export function workloadEnv(objects: readonly KubeObject[]): EnvSetting[] {
  return objects.filter(isWorkload).flatMap((workload) => {
    const name = `${workload.kind}/${workload.metadata?.name ?? "?"}`;
    const spec = workload.spec?.template.spec;
    return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].flatMap((container) => {
      if (container.envFrom !== undefined) throw new Error(`${name}: envFrom is not modelled`);
      return (container.env ?? []).map((variable) => ({ workload: name, name: variable.name, value: variable.value }));
    });
  });
}
