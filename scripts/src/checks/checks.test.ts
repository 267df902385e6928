/**
 * `ops check daily|weekly|monthly` against the real thing: `pnpm dev` (the API, the listener and
 * the three workers on a devnet), Debian's Prometheus scraping every one of them each second with
 * the repository's alert rules loaded, a backup store holding real backups (a PostgreSQL dump of
 * the dev database, a Redis RDB of a server of the test's own), a TLS endpoint, a drill record,
 * the production plan, and a workspace whose registry is a stand-in. A backup older than its RPO
 * fails an item, one late by §7.1 but within its alert's line warns, refused operator requests and
 * a certificate two weeks from expiry warn; the monthly report is written with its charts.
 */
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeBackup } from "../backups";
import { dumpPostgres } from "../postgres";
import { drillId, writeDrillRecord } from "../records";
import { saveRedis } from "../redis";
import { fileStore } from "../store";
import { runOpsForTest, startRedis, type LocalServer } from "../testing";
import {
  ROOT,
  fixtureWorkspace,
  startDev,
  startPrometheus,
  startTlsEndpoint,
  untilQuery,
  type DevEnvironment,
  type LocalPrometheus,
} from "./testing";
import type { ItemResult } from "./types";

const HOUR_MS = 3_600_000;
/** Generous: a loaded two-core machine starts the devnet, five services and Prometheus. */
const START_MS = 240_000;
const WAIT_MS = 90_000;

interface Report {
  status: string;
  items: ItemResult[];
  report?: string;
}

let dev: DevEnvironment;
let prometheus: LocalPrometheus;
let redis: LocalServer;
let tls: Awaited<ReturnType<typeof startTlsEndpoint>>;
let workspace: Awaited<ReturnType<typeof fixtureWorkspace>>;
let gateway: Server;
/** What beforeAll started, stopped in afterAll whether or not the rest started. */
const cleanups: (() => Promise<unknown>)[] = [];
let gatewayUrl: string;
const pushes: { method: string; url: string; body: string }[] = [];
let scratch: string;
let env: Record<string, string>;
let started: Date;

const ops = (argv: string[], extra: Record<string, string> = {}) => runOpsForTest(argv, { ...env, ...extra });
const item = (report: Report, id: string) => {
  const found = report.items.find((result) => result.id === id);
  if (!found) throw new Error(`no item ${id} in ${JSON.stringify(report.items.map((result) => result.id))}`);
  return found;
};

beforeAll(
  async () => {
    started = new Date();
    scratch = mkdtempSync(path.join(tmpdir(), "paimon-checks-"));
    dev = await startDev("checks", START_MS);
    cleanups.push(() => dev.stop());
    const hostPort = (url: string) => new URL(url).host;
    prometheus = await startPrometheus(
      {
        "paimon-api": hostPort(dev.apiUrl),
        "paimon-event-listener": hostPort(dev.listenerUrl),
        "paimon-risk-worker": hostPort(dev.workerUrls.risk),
        "paimon-scheduler-worker": hostPort(dev.workerUrls.scheduler),
        "paimon-rebalance-worker": hostPort(dev.workerUrls.rebalance),
      },
      [path.join(ROOT, "monitoring/generated/paimon-rules.yml")],
      WAIT_MS,
    );
    cleanups.push(() => prometheus.stop());
    // What the daily items read has reached Prometheus: the risk monitor's first assessment, the
    // listener's queue, lag and outbox gauges.
    for (const expr of [
      "paimon_risk_level",
      "paimon_event_queue_size",
      "paimon_chain_head_lag_blocks",
      "paimon_outbox_backlog",
    ])
      await untilQuery(prometheus.url, expr, WAIT_MS);

    redis = await startRedis();
    cleanups.push(() => redis.stop());
    tls = await startTlsEndpoint(10);
    cleanups.push(() => tls.stop());
    workspace = await fixtureWorkspace(
      { name: "left-pad", versions: ["1.1.0", "1.3.0"], latest: "1.3.0", advisories: [] },
      "1.1.0",
    );
    cleanups.push(() => workspace.stop());
    gateway = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      request.on("end", () => {
        pushes.push({ method: request.method ?? "", url: request.url ?? "", body });
        response.writeHead(200).end();
      });
    });
    gateway.listen(0, "127.0.0.1");
    await once(gateway, "listening");
    cleanups.push(() => new Promise((resolve) => gateway.close(resolve)));
    gatewayUrl = `http://127.0.0.1:${String((gateway.address() as AddressInfo).port)}`;

    // The store: a PostgreSQL dump of the dev database begun 25 hours ago (a day late by §7.1, inside
    // DailyBackupMissed's 26 h) and a Redis snapshot begun two hours ago (past the 75-minute RPO line).
    const store = fileStore(path.join(scratch, "store"));
    const ago = (ms: number) => () => new Date(Date.now() - ms);
    await makeBackup({
      kind: "postgres",
      store,
      now: ago(25 * HOUR_MS),
      produce: async (directory) => {
        const { file, snapshot } = await dumpPostgres({ url: dev.databaseUrl, directory });
        return {
          files: [file],
          tables: snapshot.tables,
          position: { wal_lsn: snapshot.walLsn, listener_block: snapshot.listenerBlock },
          source: { server_version: snapshot.serverVersion, database: snapshot.database },
        };
      },
    });
    const client = new Redis(redis.url);
    await client.set("paimon-checks", "1");
    await makeBackup({
      kind: "redis",
      store,
      now: ago(2 * HOUR_MS),
      produce: async (directory) => {
        const saved = await saveRedis({ redis: client, directory });
        return {
          files: [saved.file],
          tables: saved.keyspace,
          position: { wal_lsn: null, listener_block: null },
          source: { server_version: saved.version, database: null },
        };
      },
    });
    client.disconnect();
    // The last drill, as `ops dr-drill` records it: passed ten days ago.
    const drilled = new Date(Date.now() - 10 * 24 * HOUR_MS);
    await writeDrillRecord(store, {
      format: 1,
      id: drillId(drilled),
      started_at: drilled.toISOString(),
      completed_at: new Date(drilled.getTime() + 600_000).toISOString(),
      passed: true,
      problems: [],
      backup_id: null,
      restore: { method: "pg_restore", scratch: "paimon_drill_scratch", started_at: drilled.toISOString() },
      rpo: { seconds: 120, target_seconds: 3600, met: true },
      rto: { seconds: 300, target_seconds: 14_400, met: true, api_ready_at: drilled.toISOString() },
      replay: null,
      tables: [],
    });

    env = {
      PROMETHEUS_URL: prometheus.url,
      API_URL: dev.apiUrl,
      EVENT_LISTENER_URL: dev.listenerUrl,
      RISK_WORKER_URL: dev.workerUrls.risk,
      SCHEDULER_WORKER_URL: dev.workerUrls.scheduler,
      REBALANCE_WORKER_URL: dev.workerUrls.rebalance,
      DATABASE_URL: dev.databaseUrl,
      BACKUP_TARGET: `file://${path.join(scratch, "store")}`,
      CHECK_BACKUP_KINDS: "postgres,redis",
      CHECK_TLS_ENDPOINTS: tls.endpoint,
      CHECK_TLS_CA_FILE: tls.caFile,
      PLAN_FILE: path.join(ROOT, "infra/plans/production.json"),
      CHECK_WORKSPACE: workspace.directory,
      PUSHGATEWAY_URL: gatewayUrl,
    };
  },
  START_MS + 4 * WAIT_MS,
);

afterAll(async () => {
  await Promise.allSettled(cleanups.map((cleanup) => cleanup()));
  rmSync(scratch, { recursive: true, force: true });
}, WAIT_MS);

describe("ops check against pnpm dev and a real Prometheus", () => {
  it(
    "when a backup is older than its RPO, then daily fails that item, warns on the late one, passes the rest, exits 1 and pushes the outcome",
    async () => {
      const run = await ops(["check", "daily", "--json", "--since", started.toISOString()]);
      const report = JSON.parse(run.out) as Report;
      expect(report.items.map((result) => result.id)).toEqual([
        "services.health",
        "fund.risk",
        "fund.redemptions",
        "events.lag",
        "alerts.fired",
        "backups.postgres",
        "backups.redis",
      ]);
      expect(item(report, "services.health")).toMatchObject({ status: "pass" });
      expect(item(report, "services.health").evidence).toMatch(
        /^5 services ready; paimon-api: 1 up, paimon-event-listener: 1 up/,
      );
      expect(item(report, "fund.risk")).toMatchObject({ status: "pass" });
      expect(item(report, "fund.risk").evidence).toMatch(/^level 1 \(worst in period 1\); L1 \d+\.\d\d %/);
      expect(item(report, "fund.risk").threshold).toContain("HighRiskLevel: >= 3");
      expect(item(report, "fund.redemptions")).toMatchObject({ status: "pass" });
      expect(item(report, "events.lag")).toMatchObject({ status: "pass" });
      expect(item(report, "events.lag").threshold).toContain("EventProcessingLag: > 1000");
      expect(item(report, "alerts.fired")).toMatchObject({
        status: "pass",
        evidence: "no alert fired during the period",
      });
      expect(item(report, "backups.postgres")).toMatchObject({ status: "warn" });
      expect(item(report, "backups.postgres").evidence).toMatch(
        /^newest 25\.0 h old: postgres-\d{8}T\d{9}Z \(\d+ bytes\)/,
      );
      expect(item(report, "backups.postgres").threshold).toBe(
        "warn: older than 24.0 h (§7.1); fail: older than 26.0 h (DailyBackupMissed: > 26)",
      );
      expect(item(report, "backups.redis")).toMatchObject({ status: "fail" });
      expect(item(report, "backups.redis").threshold).toContain("RedisBackupOlderThanRpo: > 4500");
      expect(report.status).toBe("fail");
      expect(run.code).toBe(1);

      const push = pushes.find((one) => one.url === "/metrics/job/paimon-ops-check/check/daily");
      expect(push?.method).toBe("PUT");
      const value = (id: string) =>
        new RegExp(`^paimon_ops_check_status\\{[^}]*item="${id.replace(".", "\\.")}"[^}]*\\} (\\d)$`, "m").exec(
          push?.body ?? "",
        )?.[1];
      expect([value("backups.redis"), value("backups.postgres"), value("services.health")]).toEqual(["3", "1", "0"]);

      const table = await ops(["check", "daily", "--since", started.toISOString()]);
      expect(table.code).toBe(1);
      expect(table.out).toMatch(/^fail {4}backups\.redis {5}newest 2\.0 h old/m);
    },
    WAIT_MS * 2,
  );

  it(
    "when operator requests are refused and a certificate expires within two weeks, then weekly warns on those and exits 4",
    async () => {
      const refuse = () =>
        fetch(`${dev.apiUrl}/v1/rebalances`, {
          method: "POST",
          headers: {
            authorization: "Bearer aaaa.bbbb.cccc",
            "content-type": "application/json",
            "idempotency-key": "checks-0001",
          },
          body: JSON.stringify({ reason: "not an operator" }),
        });
      const refusals = `sum(increase(paimon_http_request_duration_seconds_count{job="paimon-api",status="401"}[${String(
        Math.ceil((Date.now() - started.getTime()) / 1000) + 600,
      )}s]))`;
      expect((await refuse()).status).toBe(401);
      await untilQuery(prometheus.url, 'paimon_http_request_duration_seconds_count{status="401"}', WAIT_MS);
      expect((await refuse()).status).toBe(401);
      await untilQuery(prometheus.url, refusals, WAIT_MS, (value) => value > 0);

      const run = await ops(["check", "weekly", "--json", "--since", started.toISOString()]);
      const report = JSON.parse(run.out) as Report;
      expect(report.items.map((result) => result.id)).toEqual([
        "sla",
        "database.performance",
        "security.authentications",
        "certificates.expiry",
        "resources.trends",
      ]);
      expect(item(report, "sla")).toMatchObject({ status: "pass" });
      expect(item(report, "sla").evidence).toMatch(
        /^up 100\.000 % of the period; \d+ requests, 100\.000 % not 5xx; P99 \d+ ms/,
      );
      expect(["pass", "warn"]).toContain(item(report, "database.performance").status);
      expect(item(report, "database.performance").evidence).toMatch(/; connections \d+ of \d+ usable; /);
      expect(item(report, "security.authentications")).toMatchObject({ status: "warn" });
      expect(item(report, "security.authentications").evidence).toMatch(
        /^\d+ failed authentication\(s\), 0 refused: POST \/v1\/rebalances 401 ×\d+$/,
      );
      expect(item(report, "certificates.expiry")).toMatchObject({ status: "warn" });
      expect(item(report, "certificates.expiry").evidence).toMatch(
        new RegExp(`^${tls.endpoint} expires in (9|10)\\.\\d d$`),
      );
      expect(item(report, "resources.trends")).toMatchObject({ status: "pass" });
      expect(item(report, "resources.trends").evidence).toMatch(/paimon-api \d+ MB/);
      expect(run.code).toBe(4);
    },
    WAIT_MS * 2,
  );

  it(
    "then monthly reads the drill, the plan and the registry, and writes the report whose charts are SVG files beside it",
    async () => {
      const out = path.join(scratch, "report");
      const run = await ops(["check", "monthly", "--json", "--since", started.toISOString(), "--out", out]);
      const report = JSON.parse(run.out) as Report;
      expect(report.items.map((result) => result.id)).toEqual([
        "dr.drill",
        "access.review",
        "dependencies.vulnerabilities",
        "dependencies.outdated",
        "alerts.thresholds",
        "report.monthly",
      ]);
      expect(item(report, "dr.drill")).toMatchObject({ status: "pass" });
      expect(item(report, "dr.drill").evidence).toMatch(
        /^drill-\d{8}T\d{9}Z passed 10\.0 d ago: RPO 2 min \(target 60 min\), RTO 5 min \(target 4\.0 h\)$/,
      );
      expect(item(report, "access.review")).toMatchObject({ status: "pass" });
      expect(item(report, "access.review").evidence).toContain(
        "keys-operator-signing signers: paimon-production-rebalance-worker;",
      );
      expect(item(report, "access.review").evidence).toContain(
        "secret readers: paimon-production-external-secrets, paimon-production-secrets-backup",
      );
      expect(item(report, "dependencies.vulnerabilities")).toMatchObject({ status: "pass" });
      expect(item(report, "dependencies.outdated")).toMatchObject({ status: "warn" });
      expect(item(report, "alerts.thresholds")).toMatchObject({ status: "pass" });
      expect(item(report, "alerts.thresholds").evidence).toMatch(/^\d+ rules loaded; none fired during the period$/);
      expect(item(report, "report.monthly")).toMatchObject({ status: "pass" });
      expect(run.code).toBe(4);

      const markdown = readFileSync(report.report ?? "", "utf8");
      expect(markdown).toMatch(/^# Paimon monthly operations report, \d{4}-\d{2}$/m);
      const charts = [...markdown.matchAll(/!\[[^\]]+\]\(([^)]+\.svg)\)/g)].map((match) => match[1] ?? "");
      expect(charts).toEqual(["availability.svg", "latency.svg", "events.svg", "alerts.svg", "backups.svg"]);
      for (const chart of charts) {
        const file = path.join(out, chart);
        expect(existsSync(file), file).toBe(true);
        expect(readFileSync(file, "utf8")).toMatch(/^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      }
      // The alerts chart names every loaded rule; the backups table both kinds.
      expect(readFileSync(path.join(out, "alerts.svg"), "utf8")).toContain("HighRiskLevel");
      expect(markdown).toMatch(/^\| redis \| 0 \| 2\.0 h old \| 60 min \|$/m);
      expect(markdown).toContain("| Disaster-recovery drill | pass |");
    },
    WAIT_MS * 2,
  );

  it("when monthly is asked without --out, then it is a usage error, 64", async () => {
    const run = await ops(["check", "monthly"]);
    expect(run.code).toBe(64);
    expect(run.err).toContain("--out <dir> is required");
  });
});
