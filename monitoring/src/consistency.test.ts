import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { riskPolicyEnvShape } from "@paimon/core/fund";
import { EXTERNAL_METRICS, METRICS } from "@paimon/core/metrics";
import { beforeAll, describe, expect, it } from "vitest";
import { ALERTS, RUNBOOK_BASE_URL, ruleGroups } from "./alerts";
import { pushesIn, readStackManifests, scrapeJobs, workloadEnv, type KubeObject } from "./cluster";
import {
  alertQueries,
  fixedNamespaceProblems,
  jobSelectorProblems,
  ownershipProblems,
  panelQueries,
  policyOverrideProblems,
  programJobProblems,
  runbookObjectProblems,
  scenarioJobProblems,
  scenarioLabelProblems,
  scenarioSeries,
  unknownMetricProblems,
  unplottedProblems,
  unwatchedJobProblems,
} from "./consistency";
import { dashboards } from "./dashboards";
import { PROGRAM_JOBS } from "./jobs";
import { programExports, type ProgramExports } from "./programs";
import { metricsIn } from "./promql";

const repository = path.resolve(__dirname, "..", "..");
const manifests = readStackManifests(path.join(repository, "charts-generated"));
const alerts = alertQueries(ALERTS);
const panels = panelQueries(dashboards());
const scenarios = scenarioSeries(ALERTS);
const policyDefaults = Object.fromEntries(
  Object.entries(riskPolicyEnvShape).map(([name, schema]) => [name, schema.parse(undefined)]),
);

describe.each(Object.keys(manifests))("in the %s stack", (stack) => {
  const objects = manifests[stack] ?? [];
  const scraped = scrapeJobs(objects).map((target) => target.job);
  let programs: ProgramExports[] = [];
  beforeAll(async () => {
    programs = await programExports(objects);
  });

  it("then Prometheus scrapes the API, the listener and every worker, and the backup jobs push", () => {
    expect(scraped.length).toBeGreaterThanOrEqual(5);
    expect(programs.find((program) => program.program === "backup-jobs")?.metrics.length).toBeGreaterThan(0);
  });

  it("then every catalogued metric is exported by exactly the programs its owner names, and nothing else is", () => {
    expect(ownershipProblems(METRICS, programs)).toEqual([]);
  });

  it("then each program's series carry the job the alerts select it by, and Prometheus scrapes that job", () => {
    expect(programJobProblems(programs, PROGRAM_JOBS, scraped)).toEqual([]);
  });

  it("then every metric an alert or a panel reads is exported by some program or is an external metric", () => {
    expect(panels.length).toBeGreaterThan(30);
    expect(unknownMetricProblems([...alerts, ...panels], programs, EXTERNAL_METRICS)).toEqual([]);
  });

  it("then every metric the programs export is on some dashboard", () => {
    expect(unplottedProblems(programs, panels)).toEqual([]);
  });

  it("then every job matcher of an alert or a panel matches a job that can carry what it selects", () => {
    expect(jobSelectorProblems([...alerts, ...panels], programs, scraped)).toEqual([]);
  });

  it("then every promtool input series carries the job a real scrape would give it", () => {
    expect(scenarioJobProblems(scenarios, programs, scraped)).toEqual([]);
  });

  it("then every promtool input series carries only labels its metric and its target have", () => {
    expect(scenarioLabelProblems(scenarios, METRICS)).toEqual([]);
  });

  it("then every job Prometheus scrapes has an alert for when it is down", () => {
    expect(unwatchedJobProblems(alerts, scraped)).toEqual([]);
  });

  it("then no alert or panel selects the workloads' namespace by a fixed name", () => {
    expect(fixedNamespaceProblems([...alerts, ...panels])).toEqual([]);
  });

  it("then no workload moves the fund policy away from the defaults the alerts are built on", () => {
    expect(policyOverrideProblems(workloadEnv(objects), policyDefaults)).toEqual([]);
  });
});

describe("the consistency checks, fed a counterexample", () => {
  const objects = manifests["production"] ?? Object.values(manifests)[0] ?? [];
  const scraped = scrapeJobs(objects).map((target) => target.job);
  let programs: ProgramExports[] = [];
  beforeAll(async () => {
    programs = await programExports(objects);
  });
  /** The real exports with one program's changed. */
  const changed = (program: string, change: (exports: ProgramExports) => ProgramExports) =>
    programs.map((exports) => (exports.program === program ? change(exports) : exports));

  it("when a program exports a metric the catalog does not hold, then it is reported", () => {
    const extra = changed("api", (api) => ({
      ...api,
      metrics: [...api.metrics, { name: "paimon_extra", type: "gauge" }],
    }));
    expect(ownershipProblems(METRICS, extra)).toEqual(["api exports paimon_extra, which is not in the catalog"]);
  });

  it("when a catalogued metric names no owner, or the wrong one, then it is reported", () => {
    const { type, help, labels } = METRICS.paimon_risk_level;
    expect(ownershipProblems({ ...METRICS, paimon_risk_level: { type, help, labels } }, programs)).toEqual([
      "paimon_risk_level names no owner",
    ]);
    const wrong = {
      ...METRICS,
      paimon_risk_level: { ...METRICS.paimon_risk_level, owner: "scheduler-worker" as const },
    };
    expect(ownershipProblems(wrong, programs)).toEqual([
      "paimon_risk_level is owned by scheduler-worker, which does not export it",
      "paimon_risk_level is exported by risk-worker, which its owner does not name",
    ]);
  });

  it("when a program stops exporting a catalogued metric, then it is reported and its panels read nothing", () => {
    const without = changed("risk-worker", (risk) => ({
      ...risk,
      metrics: risk.metrics.filter((metric) => metric.name !== "paimon_l2_ratio"),
    }));
    expect(ownershipProblems(METRICS, without)).toEqual([
      "paimon_l2_ratio is owned by risk-worker, which does not export it",
    ]);
    expect(unknownMetricProblems(alerts, without, EXTERNAL_METRICS)).toEqual([
      "alert L2RatioOutOfBand reads paimon_l2_ratio, which no program exports and which is not an external metric",
    ]);
  });

  it("when a query reads a metric nothing exports, then it is reported; a histogram's series are known", () => {
    const queries = [
      { where: "typo", expr: "paimon_l4_ratio > 0" },
      { where: "histogram", expr: "rate(paimon_http_request_duration_seconds_count[5m])" },
      { where: "not a histogram", expr: "paimon_risk_level_bucket" },
    ];
    expect(unknownMetricProblems(queries, programs, EXTERNAL_METRICS)).toEqual([
      "typo reads paimon_l4_ratio, which no program exports and which is not an external metric",
      "not a histogram reads paimon_risk_level_bucket, which no program exports and which is not an external metric",
    ]);
  });

  it("when an exported metric is on no dashboard, then it is reported", () => {
    const fewer = panels.filter((panel) => !panel.expr.includes("paimon_schedule_runs_total"));
    expect(unplottedProblems(programs, fewer)).toEqual([
      "paimon_schedule_runs_total (scheduler-worker) is on no dashboard",
    ]);
  });

  it("when a selector names a job nothing scrapes (the old WorkerDown), or another program's job, then it is reported", () => {
    const queries = [
      { where: "old WorkerDown", expr: 'up{job="paimon-workers"} == 0' },
      { where: "regex", expr: 'up{job=~"paimon-(risk|scheduler)-workers"} == 0' },
      { where: "wrong program", expr: 'paimon_risk_level{job="paimon-api"}' },
      { where: "fine", expr: 'up{job=~"paimon-(rebalance|risk|scheduler)-worker"} == 0' },
      { where: "negative", expr: 'up{job!="anything"}' },
    ];
    expect(jobSelectorProblems(queries, programs, scraped)).toEqual([
      `old WorkerDown: up{job="paimon-workers"} matches none of ${scraped.join(", ")}`,
      `regex: up{job=~"paimon-(risk|scheduler)-workers"} matches none of ${scraped.join(", ")}`,
      'wrong program: paimon_risk_level{job="paimon-api"} matches none of paimon-risk-worker',
    ]);
  });

  it("when a scenario's series carries a job no scrape gives it, or none, then it is reported", () => {
    const series = [
      { where: "old HighRiskLevel", expr: 'paimon_risk_level{job="paimon-workers"}' },
      { where: "no job", expr: 'paimon_rebalance_executions_total{status="failed"}' },
      { where: "old WorkerDown", expr: 'up{job="paimon-workers",worker="rebalance"}' },
      { where: "external", expr: 'redis_up{job="paimon-workers"}' },
      { where: "fine", expr: 'paimon_backup_size_bytes{job="paimon-backup",kind="redis"}' },
    ];
    expect(scenarioJobProblems(series, programs, scraped)).toEqual([
      'old HighRiskLevel: paimon_risk_level{job="paimon-workers"} should carry job paimon-risk-worker',
      'no job: paimon_rebalance_executions_total{status="failed"} should carry job paimon-rebalance-worker',
      'old WorkerDown: up{job="paimon-workers",worker="rebalance"} has no job Prometheus scrapes',
      'external: redis_up{job="paimon-workers"} carries job "paimon-workers", which nothing has',
    ]);
  });

  it("when a scenario's series has a label its metric does not (the old WorkerDown's `worker`), then it is reported", () => {
    const series = [
      { where: "old WorkerDown", expr: 'up{job="paimon-rebalance-worker",worker="rebalance"}' },
      {
        where: "bucket",
        expr: 'paimon_http_request_duration_seconds_bucket{job="paimon-api",le="1",route="/v1/fund"}',
      },
      { where: "gauge with le", expr: 'paimon_risk_level{job="paimon-risk-worker",le="1"}' },
      { where: "external", expr: 'pg_up{db="postgres"}' },
    ];
    expect(scenarioLabelProblems(series, METRICS)).toEqual([
      'old WorkerDown: up{job="paimon-rebalance-worker",worker="rebalance"} has label worker, which a scrape of up does not give',
      'gauge with le: paimon_risk_level{job="paimon-risk-worker",le="1"} has label le, which a scrape of paimon_risk_level does not give',
    ]);
  });

  it("when a program's registry stamps another service than its job, or its job is not scraped, then it is reported", () => {
    const renamed = changed("risk-worker", (risk) => ({ ...risk, jobs: ["paimon-workers"] }));
    expect(programJobProblems(renamed, PROGRAM_JOBS, scraped)).toEqual([
      `risk-worker's series carry job "paimon-workers", not "paimon-risk-worker"`,
    ]);
    const unscraped = scraped.filter((job) => job !== "paimon-api");
    expect(programJobProblems(programs, PROGRAM_JOBS, unscraped)).toEqual([
      `api's job "paimon-api" is not scraped: no ServiceMonitor selects such a Service`,
    ]);
  });

  it("when a scraped job has no alert on its `up`, then it is reported", () => {
    const withoutWorkerDown = alerts.filter((alert) => alert.where !== "alert WorkerDown");
    // One problem per worker's job, each once, in whatever order the jobs are scraped.
    expect(unwatchedJobProblems(withoutWorkerDown, scraped).sort()).toEqual([
      "no alert fires when job paimon-rebalance-worker is down",
      "no alert fires when job paimon-risk-worker is down",
      "no alert fires when job paimon-scheduler-worker is down",
    ]);
  });

  it("when an alert or a panel names the namespace, then it is reported; the dashboard's variable is not", () => {
    const planted = [
      { where: "alert Planted", expr: `up{job="paimon-api",namespace="paimon"} == 0` },
      { where: "dashboard d / Restarts", expr: `kube_pod_container_status_restarts_total{namespace=~"$namespace"}` },
    ];
    expect(fixedNamespaceProblems(planted)).toEqual([
      `alert Planted: up{job="paimon-api",namespace="paimon"} == 0 selects namespace ="paimon", which is per stack`,
    ]);
  });

  it("when a workload overrides a fund policy threshold, then it is reported", () => {
    const env = [
      { workload: "Deployment/paimon-risk-worker", name: "L2_MAX_RATIO", value: "0.45" },
      { workload: "Deployment/paimon-risk-worker", name: "RISK_L1_RATIO_ELEVATED", value: "0.080" },
      { workload: "Deployment/paimon-risk-worker", name: "L3_MIN_RATIO", value: undefined },
    ];
    expect(policyOverrideProblems(env, policyDefaults)).toEqual([
      "Deployment/paimon-risk-worker sets L2_MAX_RATIO to 0.45, not the default 0.40 the alerts use",
      "Deployment/paimon-risk-worker sets L3_MIN_RATIO to a reference, not the default 0.50 the alerts use",
    ]);
  });
});

describe("the jobs prometheus-operator derives", () => {
  const service = (name: string, labels: Record<string, string>, namespace = "paimon"): KubeObject =>
    ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace, labels },
      spec: { ports: [{ name: "health", port: 8002 }] },
    }) as KubeObject;
  const monitor = (spec: Record<string, unknown>): KubeObject =>
    ({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "m", namespace: "paimon" },
      spec: { endpoints: [{ port: "health" }], selector: { matchLabels: { app: "a" } }, ...spec },
    }) as KubeObject;
  const jobs = (objects: KubeObject[]) => scrapeJobs(objects).map((target) => target.job);

  it("when a ServiceMonitor selects a Service, then the job is the Service's name, or its jobLabel's value", () => {
    expect(jobs([service("svc-a", { app: "a" }), service("svc-b", { app: "b" }), monitor({})])).toEqual(["svc-a"]);
    expect(jobs([service("svc-a", { app: "a", team: "fund" }), monitor({ jobLabel: "team" })])).toEqual(["fund"]);
    expect(jobs([service("svc-a", { app: "a" }), monitor({ jobLabel: "team" })])).toEqual(["svc-a"]);
  });

  it("when the Service lacks the port, is in another namespace, or fails an expression, then there is no job", () => {
    expect(jobs([service("svc-a", { app: "a" }), monitor({ endpoints: [{ port: "http" }] })])).toEqual([]);
    expect(jobs([service("svc-a", { app: "a" }, "other"), monitor({})])).toEqual([]);
    expect(jobs([service("svc-a", { app: "a" }, "other"), monitor({ namespaceSelector: { any: true } })])).toEqual([
      "svc-a",
    ]);
    const expression = { selector: { matchExpressions: [{ key: "app", operator: "In", values: ["b"] }] } };
    expect(jobs([service("svc-a", { app: "a" }), monitor(expression)])).toEqual([]);
  });

  it("when an endpoint relabels `job`, then the derivation refuses to guess", () => {
    const relabel = { endpoints: [{ port: "health", relabelings: [{ targetLabel: "job", replacement: "x" }] }] };
    expect(() => jobs([service("svc-a", { app: "a" }), monitor(relabel)])).toThrow("not modelled");
  });

  it("when a backup script pushes, then its grouping key and metric names are read; a push it cannot read throws", () => {
    const script = `printf 'paimon_backup_size_bytes %s\\n' "$SIZE" | curl --data-binary @- "http://pg:9091/metrics/job/paimon-backup/kind/redis"`;
    expect(pushesIn("c", script)).toEqual([
      { cronJob: "c", labels: { job: "paimon-backup", kind: "redis" }, metrics: ["paimon_backup_size_bytes"] },
    ]);
    expect(() => pushesIn("c", `echo x | curl "http://pg:9091/metrics/job/paimon-backup"`)).toThrow("readable");
  });
});

describe("the runbooks and external metrics", () => {
  it("then every external metric is read by an alert or a panel (none is listed for nothing)", () => {
    const read = new Set([...alerts, ...panels].flatMap((query) => metricsIn(query.expr)));
    expect(Object.keys(EXTERNAL_METRICS).filter((name) => !read.has(name))).toEqual([]);
  });

  it("then every alert's runbook_url resolves to a runbook page that says what to check and do", () => {
    for (const rule of ruleGroups().groups.flatMap((group) => group.rules) as {
      alert: string;
      annotations: { runbook_url: string };
    }[]) {
      expect(rule.annotations.runbook_url.startsWith(RUNBOOK_BASE_URL)).toBe(true);
      const file = path.join(repository, "runbooks", rule.annotations.runbook_url.slice(RUNBOOK_BASE_URL.length));
      expect(existsSync(file), `${rule.alert}: ${file}`).toBe(true);
      const page = readFileSync(file, "utf8");
      expect(page.startsWith(`# ${rule.alert}`), file).toBe(true);
      expect(page).toMatch(/## Check/);
      expect(page).toMatch(/## Act/);
    }
  });

  const pages = () =>
    Object.fromEntries(
      readdirSync(path.join(repository, "runbooks")).map((page) => [
        page,
        readFileSync(path.join(repository, "runbooks", page), "utf8"),
      ]),
    );
  it("then every object a runbook's kubectl command names is in the manifests", () => {
    for (const objects of Object.values(manifests)) expect(runbookObjectProblems(pages(), objects)).toEqual([]);
  });

  it("when a runbook names a CronJob or a label that does not exist, then it is reported", () => {
    const page = {
      "X.md":
        "1. `kubectl -n paimon get jobs -l app.kubernetes.io/name=backup-redis`, then `kubectl create job --from=cronjob/backup-redis x`; `kubectl get cronjob/paimon-backup-<kind>`",
    };
    expect(runbookObjectProblems(page, manifests["staging"] ?? [])).toEqual([
      "X.md: `kubectl -n paimon get jobs -l app.kubernetes.io/name=backup-redis` selects app.kubernetes.io/name=backup-redis, which no object carries",
      "X.md: `kubectl create job --from=cronjob/backup-redis x` names cronjob/backup-redis, which no stack's manifests hold",
    ]);
  });

  it("then every runbook page belongs to an alert or a procedure", () => {
    const names = new Set(ALERTS.map((rule) => `${rule.alert}.md`));
    const procedures = new Set([
      "disaster-recovery.md",
      "escalation.md",
      "incident-report.md",
      "operator-transactions.md",
      "restore.md",
      "README.md",
    ]);
    const pages = readdirSync(path.join(repository, "runbooks"));
    expect(pages.filter((page) => !names.has(page) && !procedures.has(page))).toEqual([]);
  });
});
