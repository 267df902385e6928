import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { EXTERNAL_METRICS, METRICS, catalogued } from "@paimon/core/metrics";
import { describe, expect, it } from "vitest";
import { ALERTS, RUNBOOK_BASE_URL, ruleGroups } from "./alerts";
import { dashboards } from "./dashboards";
import { metricsIn } from "./promql";

const repository = path.resolve(__dirname, "..", "..");

/** Every PromQL expression of every panel, with where it is. */
function panelQueries(): { where: string; expr: string }[] {
  return Object.entries(dashboards()).flatMap(([name, dashboard]) =>
    (dashboard.panels ?? []).flatMap((panel) =>
      ((panel as { targets?: { expr?: string }[] }).targets ?? []).flatMap((target) =>
        target.expr ? [{ where: `${name} / ${(panel as { title?: string }).title ?? "?"}`, expr: target.expr }] : [],
      ),
    ),
  );
}

describe("monitoring consistency", () => {
  it("then every metric an alert queries is in the catalog", () => {
    for (const rule of ALERTS) {
      for (const name of metricsIn(rule.expr)) expect(catalogued(name), `${rule.alert} queries ${name}`).toBe(true);
    }
  });

  it("then every metric a panel queries is in the catalog", () => {
    const queries = panelQueries();
    expect(queries.length).toBeGreaterThan(30);
    for (const { where, expr } of queries) {
      for (const name of metricsIn(expr)) expect(catalogued(name), `${where} queries ${name}`).toBe(true);
    }
  });

  it("then every metric the services export is on some dashboard", () => {
    const plotted = new Set(
      panelQueries().flatMap(({ expr }) => metricsIn(expr).map((name) => name.replace(/_(bucket|sum|count)$/, ""))),
    );
    const missing = Object.keys(METRICS).filter((name) => !plotted.has(name));
    expect(missing).toEqual([]);
  });

  it("then every external metric is read by an alert or a panel (none is listed for nothing)", () => {
    const read = new Set(
      [...ALERTS.map((rule) => rule.expr), ...panelQueries().map((query) => query.expr)].flatMap(metricsIn),
    );
    expect(Object.keys(EXTERNAL_METRICS).filter((name) => !read.has(name))).toEqual([]);
  });

  it("when an expression names a metric that does not exist, then the check catches it", () => {
    expect(metricsIn("paimon_l4_ratio > 0").every(catalogued)).toBe(false);
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

  it("then every runbook page belongs to an alert or a procedure", () => {
    const alerts = new Set(ALERTS.map((rule) => `${rule.alert}.md`));
    const procedures = new Set(["disaster-recovery.md", "README.md"]);
    const pages = readdirSync(path.join(repository, "runbooks"));
    expect(pages.filter((page) => !alerts.has(page) && !procedures.has(page))).toEqual([]);
  });
});
