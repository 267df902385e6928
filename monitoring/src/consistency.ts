/**
 * Checks of the monitoring against what the system really does. Each takes its inputs — the
 * catalog, what the programs export, the jobs Prometheus derives, the queries — and returns one
 * readable problem per mismatch, so a test can feed it a deliberately wrong input and see the
 * problem reported.
 */
import { ownersOf, type MetricOwner, type MetricSpec } from "@paimon/core/metrics";
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import type { AlertRule } from "./alerts";
import type { EnvSetting } from "./cluster";
import type { ExportedMetric, ProgramExports } from "./programs";
import { matches, metricsIn, selectorsIn } from "./promql";

/** A PromQL expression (or promtool input series) and where it is written. */
export interface Query {
  readonly where: string;
  readonly expr: string;
}

export function alertQueries(rules: readonly AlertRule[]): Query[] {
  return rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr }));
}

/** Every PromQL expression of every panel, rows' nested panels included. */
export function panelQueries(boards: Readonly<Record<string, dashboard.Dashboard>>): Query[] {
  type Panel = { title?: string; targets?: { expr?: string }[]; panels?: Panel[] };
  const walk = (name: string, panels: readonly Panel[]): Query[] =>
    panels.flatMap((panel) => [
      ...(panel.targets ?? []).flatMap((target) =>
        target.expr ? [{ where: `dashboard ${name} / ${panel.title ?? "?"}`, expr: target.expr }] : [],
      ),
      ...walk(name, panel.panels ?? []),
    ]);
  return Object.entries(boards).flatMap(([name, board]) => walk(name, (board.panels ?? []) as Panel[]));
}

/** Every input series of every promtool scenario. */
export function scenarioSeries(rules: readonly AlertRule[]): Query[] {
  return rules.flatMap((rule) =>
    (["fires", "quiet"] as const).flatMap((scenario) =>
      rule[scenario].series.map((input) => ({ where: `${rule.alert} (${scenario})`, expr: input.series })),
    ),
  );
}

/** The series names a metric is read by: a histogram's `_bucket`, `_sum` and `_count`. */
export function seriesNames(metric: ExportedMetric): string[] {
  return metric.type === "histogram"
    ? ["_bucket", "_sum", "_count"].map((suffix) => `${metric.name}${suffix}`)
    : [metric.name];
}

/** Which programs export each series name. */
function exportersBySeries(programs: readonly ProgramExports[]): Map<string, ProgramExports[]> {
  const exporters = new Map<string, ProgramExports[]>();
  for (const program of programs) {
    for (const name of program.metrics.flatMap(seriesNames)) {
      exporters.set(name, [...(exporters.get(name) ?? []), program]);
    }
  }
  return exporters;
}

/** A catalog entry whose `owner` may be missing (a bad input the check must report). */
type Owned = Omit<MetricSpec, "owner"> & Partial<Pick<MetricSpec, "owner">>;

/**
 * Every catalogued metric is exported by exactly the programs its `owner` names, and no program
 * exports a metric the catalog does not hold.
 */
export function ownershipProblems(
  catalog: Readonly<Record<string, Owned>>,
  programs: readonly ProgramExports[],
): string[] {
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(catalog)) {
    if (spec.owner === undefined) {
      problems.push(`${name} names no owner`);
      continue;
    }
    const owners = new Set<string>(ownersOf({ owner: spec.owner }));
    const exporters = new Set<string>(
      programs.filter((program) => program.metrics.some((metric) => metric.name === name)).map((p) => p.program),
    );
    for (const owner of owners) {
      if (!exporters.has(owner)) problems.push(`${name} is owned by ${owner}, which does not export it`);
    }
    for (const exporter of exporters) {
      if (!owners.has(exporter)) problems.push(`${name} is exported by ${exporter}, which its owner does not name`);
    }
  }
  for (const program of programs) {
    for (const metric of program.metrics) {
      if (!(metric.name in catalog)) {
        problems.push(`${program.program} exports ${metric.name}, which is not in the catalog`);
      }
    }
  }
  return problems;
}

/**
 * Each program's series carry the job `programJobs` says, and a scraped program's job is one
 * Prometheus really scrapes.
 */
export function programJobProblems(
  programs: readonly ProgramExports[],
  programJobs: Readonly<Record<MetricOwner, string>>,
  scraped: readonly string[],
): string[] {
  return programs.flatMap((program) => {
    const expected = programJobs[program.program];
    const problems = program.jobs
      .filter((job) => job !== expected)
      .map((job) => `${program.program}'s series carry job "${job}", not "${expected}"`);
    if (program.jobs.length === 0) problems.push(`${program.program}'s series carry no job`);
    if (program.collected === "scraped" && !scraped.includes(expected)) {
      problems.push(`${program.program}'s job "${expected}" is not scraped: no ServiceMonitor selects such a Service`);
    }
    return problems;
  });
}

/** Every metric a query reads is exported by some program or is an external metric. */
export function unknownMetricProblems(
  queries: readonly Query[],
  programs: readonly ProgramExports[],
  external: Readonly<Record<string, unknown>>,
): string[] {
  const exported = exportersBySeries(programs);
  return queries.flatMap(({ where, expr }) =>
    metricsIn(expr)
      .filter((name) => !exported.has(name) && !(name in external))
      .map((name) => `${where} reads ${name}, which no program exports and which is not an external metric`),
  );
}

/** Every metric a program exports is on some dashboard. */
export function unplottedProblems(programs: readonly ProgramExports[], panels: readonly Query[]): string[] {
  const plotted = new Set(panels.flatMap(({ expr }) => metricsIn(expr)));
  return programs.flatMap((program) =>
    program.metrics
      .filter((metric) => !seriesNames(metric).some((name) => plotted.has(name)))
      .map((metric) => `${metric.name} (${program.program}) is on no dashboard`),
  );
}

/**
 * Every `job=` / `job=~` matcher matches a job that can carry the selected metric: for `up`, a
 * job Prometheus scrapes; for a program's metric, that program's job; otherwise any known job.
 */
export function jobSelectorProblems(
  queries: readonly Query[],
  programs: readonly ProgramExports[],
  scraped: readonly string[],
): string[] {
  const exported = exportersBySeries(programs);
  const known = [...new Set([...scraped, ...programs.flatMap((program) => program.jobs)])];
  return queries.flatMap(({ where, expr }) =>
    selectorsIn(expr).flatMap((selector) => {
      const jobs =
        selector.metric === "up"
          ? scraped
          : (exported.get(selector.metric ?? "")?.flatMap((program) => program.jobs) ?? known);
      return selector.matchers
        .filter((matcher) => matcher.label === "job" && (matcher.op === "=" || matcher.op === "=~"))
        .filter((matcher) => !jobs.some((job) => matches(matcher, job)))
        .map(
          (matcher) =>
            `${where}: ${selector.metric ?? ""}{job${matcher.op}"${matcher.value}"} matches none of ${jobs.join(", ")}`,
        );
    }),
  );
}

/**
 * Every promtool input series carries the job a real scrape would give it: `up` a scraped job,
 * a program's metric that program's job, anything else with a job a known one.
 */
export function scenarioJobProblems(
  series: readonly Query[],
  programs: readonly ProgramExports[],
  scraped: readonly string[],
): string[] {
  const exported = exportersBySeries(programs);
  const known = new Set([...scraped, ...programs.flatMap((program) => program.jobs)]);
  return series.flatMap(({ where, expr }) =>
    selectorsIn(expr).flatMap((selector) => {
      const job = selector.matchers.find((matcher) => matcher.label === "job" && matcher.op === "=")?.value;
      const name = selector.metric ?? "";
      const owners = exported.get(name);
      if (name === "up") {
        return job !== undefined && scraped.includes(job) ? [] : [`${where}: ${expr} has no job Prometheus scrapes`];
      }
      if (owners) {
        const jobs = owners.flatMap((program) => program.jobs);
        return job !== undefined && jobs.includes(job)
          ? []
          : [`${where}: ${expr} should carry job ${jobs.join(" or ")}`];
      }
      return job === undefined || known.has(job) ? [] : [`${where}: ${expr} carries job "${job}", which nothing has`];
    }),
  );
}

/** The labels prometheus-operator gives every target of a ServiceMonitor. */
export const TARGET_LABELS = ["job", "instance", "namespace", "service", "pod", "container", "endpoint"] as const;

/**
 * Every promtool input series carries only labels a real scrape can give it: the metric's own
 * (from the catalog), a histogram bucket's `le`, and the target's labels; `up` only the target's.
 * External metrics are not checked: their exporters' labels are not ours to know.
 */
export function scenarioLabelProblems(
  series: readonly Query[],
  catalog: Readonly<Record<string, Pick<MetricSpec, "type" | "labels">>>,
): string[] {
  return series.flatMap(({ where, expr }) =>
    selectorsIn(expr).flatMap((selector) => {
      const name = selector.metric ?? "";
      const base = name.replace(/_(bucket|sum|count)$/, "");
      const spec = catalog[name] ?? (catalog[base]?.type === "histogram" ? catalog[base] : undefined);
      if (name !== "up" && spec === undefined) return [];
      const allowed = new Set<string>([
        ...TARGET_LABELS,
        ...(spec?.labels ?? []),
        ...(name.endsWith("_bucket") && spec ? ["le"] : []),
      ]);
      return selector.matchers
        .filter((matcher) => !allowed.has(matcher.label))
        .map((matcher) => `${where}: ${expr} has label ${matcher.label}, which a scrape of ${name} does not give`);
    }),
  );
}

/** Every job Prometheus scrapes has an alert on `up` that selects it. */
export function unwatchedJobProblems(alerts: readonly Query[], scraped: readonly string[]): string[] {
  const watchers = alerts.flatMap(({ expr }) =>
    selectorsIn(expr)
      .filter((selector) => selector.metric === "up")
      .map((selector) => selector.matchers),
  );
  return scraped
    .filter(
      (job) =>
        !watchers.some((matchers) => matchers.every((matcher) => matcher.label !== "job" || matches(matcher, job))),
    )
    .map((job) => `no alert fires when job ${job} is down`);
}

/**
 * No workload sets a fund policy variable (`L2_MAX_RATIO`, `RISK_L1_RATIO_ELEVATED`, …) to other
 * than its default: the alerts are built on the defaults, the same for every stack.
 */
export function policyOverrideProblems(
  env: readonly EnvSetting[],
  defaults: Readonly<Record<string, string>>,
): string[] {
  return env
    .filter((setting) => setting.name in defaults)
    .filter((setting) => setting.value === undefined || Number(setting.value) !== Number(defaults[setting.name]))
    .map(
      (setting) =>
        `${setting.workload} sets ${setting.name} to ${setting.value ?? "a reference"}, not the default ${defaults[setting.name] ?? ""} the alerts use`,
    );
}

/**
 * No alert or panel selects a namespace by a fixed name: the fund's workloads run in the stack's
 * `paimon:workloads.namespace`, and the rules and dashboards are generated once for every stack.
 * They select by job (which the namespace does not change) or, on a dashboard, by its variable.
 */
export function fixedNamespaceProblems(queries: readonly Query[]): string[] {
  return queries.flatMap(({ where, expr }) =>
    selectorsIn(expr).flatMap((selector) =>
      selector.matchers
        .filter((matcher) => matcher.label === "namespace" && !matcher.value.includes("$"))
        .map((matcher) => `${where}: ${expr} selects namespace ${matcher.op}"${matcher.value}", which is per stack`),
    ),
  );
}

/** The objects a runbook's `kubectl` commands name: `<kind>/<name>` and `app.kubernetes.io/name=<name>`. */
export function runbookObjectProblems(
  pages: Readonly<Record<string, string>>,
  objects: readonly { readonly kind: string; readonly metadata?: { readonly name?: string } }[],
): string[] {
  const named = new Set(objects.map((object) => `${object.kind.toLowerCase()}/${object.metadata?.name ?? ""}`));
  const appNames = new Set(
    objects.flatMap((object) => {
      const labels = (object.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {};
      const name = labels["app.kubernetes.io/name"];
      return name === undefined ? [] : [name];
    }),
  );
  return Object.entries(pages).flatMap(([page, text]) =>
    [...text.matchAll(/`kubectl [^`]*`/g)].flatMap(([command]) => [
      ...[...command.matchAll(/\b(cronjob|deployment|statefulset|job)\/([a-z0-9-]+)(?![<a-z0-9-])/g)]
        .filter(([, kind, name]) => !named.has(`${kind ?? ""}/${name ?? ""}`))
        .map(([reference]) => `${page}: ${command} names ${reference}, which no stack's manifests hold`),
      ...[...command.matchAll(/app\.kubernetes\.io\/name=([a-z0-9-]+)/g)]
        .filter(([, name]) => !appNames.has(name ?? ""))
        .map(([reference]) => `${page}: ${command} selects ${reference}, which no object carries`),
    ]),
  );
}
