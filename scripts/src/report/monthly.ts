/**
 * §9.3 "the monthly operations report": a Markdown page with SVG charts beside it — the API's
 * availability and P99 latency over the month, the events processed, how often each alert fired,
 * the backups' sizes and ages — from Prometheus's range queries and the backup store, and the
 * monthly checklist's outcome.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { listBackups } from "../backups";
import { firingsOver } from "../checks/alerts";
import { EXPECTED_EVERY_SECONDS } from "../checks/backups";
import { API_JOB } from "../checks/config";
import type { PrometheusApi, Series } from "../checks/prometheus";
import { m, quote } from "../checks/promql";
import { slaFigures } from "../checks/sla";
import { duration, need, type CheckContext, type ItemResult } from "../checks/types";
import { barChart, lineChart, renderSvg, type Bar, type Point } from "./charts";

/** About this many points per line, whatever the period. */
const POINTS_PER_CHART = 240;
/** No finer than this, so each step holds a few scrapes. */
const MIN_STEP_SECONDS = 15;

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

function points(
  series: readonly Series[],
  name: (labels: Readonly<Record<string, string>>) => string,
  scale = 1,
): Point[] {
  return series.flatMap((one) =>
    one.points
      .filter(([, value]) => Number.isFinite(value))
      .map(([at, value]) => ({ at: iso(at), value: value * scale, series: name(one.labels) })),
  );
}

interface Chart {
  readonly file: string;
  readonly title: string;
  readonly svg: string;
}

async function chart(file: string, title: string, spec: Parameters<typeof renderSvg>[0]): Promise<Chart> {
  return { file, title, svg: await renderSvg(spec) };
}

/** Every complete backup's start and size (from the store, or the sizes the backups pushed). */
async function backupFigures(context: CheckContext, prometheus: PrometheusApi, step: number): Promise<Point[]> {
  if (context.store) {
    const listed = (await listBackups(context.store, context.backupKinds)).filter(
      (backup) => backup.state === "complete",
    );
    return listed.map((backup) => ({ at: backup.startedAt.toISOString(), value: backup.bytes, series: backup.kind }));
  }
  const sizes = await prometheus.queryRange(m("paimon_backup_size_bytes"), context.since, context.now, step);
  return points(sizes, (labels) => labels["kind"] ?? "?");
}

const ms = (seconds: number | undefined) => (seconds === undefined ? "n/a" : `${(seconds * 1000).toFixed(0)} ms`);
const share = (value: number | undefined) => (value === undefined ? "n/a" : `${(value * 100).toFixed(3)} %`);
const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

/** Writes the report and its charts into `directory`; returns the Markdown file's path. */
export async function writeMonthlyReport(
  directory: string,
  context: CheckContext,
  results: readonly ItemResult[],
): Promise<string> {
  const prometheus = need(context.prometheus, "PROMETHEUS_URL");
  const period = (context.now.getTime() - context.since.getTime()) / 1000;
  const step = Math.max(MIN_STEP_SECONDS, Math.ceil(period / POINTS_PER_CHART));
  const api = `{job=${quote(API_JOB)}}`;
  const range = (expr: string) => prometheus.queryRange(expr, context.since, context.now, step);
  const book = await context.rules();
  const [uptime, latency, events, fired, backups, sla] = await Promise.all([
    range(`max(avg_over_time(${m("up")}${api}[${step}s]))`),
    range(
      `histogram_quantile(0.99, sum by (le) (increase(${m("paimon_http_request_duration_seconds")}_bucket${api}[${step}s])))`,
    ),
    range(`sum by (event_type) (increase(${m("paimon_event_processing_duration_seconds")}_count[${step}s]))`),
    firingsOver(
      prometheus,
      context.since,
      context.now,
      Math.min(60, ...book.rules.map((rule) => rule.intervalSeconds)),
    ),
    backupFigures(context, prometheus, step),
    slaFigures(prometheus, context),
  ]);
  const inPeriod = backups.filter((backup) => Date.parse(backup.at) >= context.since.getTime());
  const firedBars: Bar[] = book.rules.map((rule) => ({
    label: rule.name,
    value: fired.find((firing) => firing.alert === rule.name)?.episodes ?? 0,
    group: rule.labels["severity"] ?? "none",
  }));
  const newestAge = context.backupKinds.map((kind) => {
    const newest = backups.filter((backup) => backup.series === kind).sort((a, b) => b.at.localeCompare(a.at))[0];
    return { kind, age: newest ? (context.now.getTime() - Date.parse(newest.at)) / 1000 : undefined };
  });
  const charts = await Promise.all([
    chart(
      "availability.svg",
      "API availability",
      lineChart(
        "API availability (share of each step some instance was up)",
        "%",
        points(uptime, () => "up", 100),
      ),
    ),
    chart(
      "latency.svg",
      "API P99 latency",
      lineChart(
        "API P99 latency",
        "ms",
        points(latency, () => "P99", 1000),
      ),
    ),
    chart(
      "events.svg",
      "Events processed",
      lineChart(
        `Events processed per ${duration(step)}`,
        "events",
        points(events, (labels) => labels["event_type"] ?? "?"),
      ),
    ),
    chart("alerts.svg", "Alerts fired", barChart("Times each alert fired", "firings", firedBars)),
    chart("backups.svg", "Backup sizes", lineChart("Backup size by kind", "bytes", inPeriod)),
  ]);
  await mkdir(directory, { recursive: true });
  for (const { file, svg } of charts) await writeFile(path.join(directory, file), svg);
  const month = context.since.toISOString().slice(0, 7);
  const lines = [
    `# Paimon monthly operations report, ${month}`,
    "",
    `Period: ${context.since.toISOString()} to ${context.now.toISOString()}.`,
    "",
    "## Service level",
    "",
    "| measure | value |",
    "| --- | --- |",
    `| API up | ${share(sla.uptime)} of the period |`,
    `| requests | ${sla.requests.toFixed(0)}, ${share(sla.success)} not 5xx |`,
    `| P99 latency over the period | ${ms(sla.p99)} |`,
    "",
    ...charts.flatMap(({ file, title }) => [`![${title}](${file})`, ""]),
    "## Alerts",
    "",
    fired.length === 0 ? "No alert fired during the period." : "| alert | severity | times | firing for |",
    ...(fired.length === 0
      ? []
      : [
          "| --- | --- | --- | --- |",
          ...fired.map((f) => `| ${f.alert} | ${f.severity} | ${f.episodes} | ${duration(f.seconds)} |`),
        ]),
    "",
    "## Backups",
    "",
    "| kind | backups in the period | newest is | made every (§7.1) |",
    "| --- | --- | --- | --- |",
    ...newestAge.map(
      ({ kind, age }) =>
        `| ${kind} | ${inPeriod.filter((backup) => backup.series === kind).length} | ${age === undefined ? "none" : `${duration(age)} old`} | ${duration(EXPECTED_EVERY_SECONDS[kind])} |`,
    ),
    "",
    "## The monthly checklist",
    "",
    "| item | status | evidence |",
    "| --- | --- | --- |",
    ...results.map((result) => `| ${cell(result.title)} | ${result.status} | ${cell(result.evidence)} |`),
    "",
  ];
  const file = path.join(directory, `operations-report-${month}.md`);
  await writeFile(file, lines.join("\n"));
  return file;
}
