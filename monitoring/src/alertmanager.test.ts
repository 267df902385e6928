import { describe, expect, it } from "vitest";
import { ALERTS, ruleLabels } from "./alerts";
import { RECEIVERS, alertmanagerConfig, renderAlertmanagerConfig } from "./alertmanager";
import { runTool } from "./testing";

const production = { environment: "production", paging: true };
const staging = { environment: "staging", paging: false };
const config = renderAlertmanagerConfig(production);

function routes(labels: Readonly<Record<string, string>>, file = config): string {
  const result = runTool("amtool", { "alertmanager.yml": file }, () => [
    "config",
    "routes",
    "test",
    "--config.file=alertmanager.yml",
    ...Object.entries(labels).map(([key, value]) => `${key}=${value}`),
  ]);
  expect(result.ok).toBe(true);
  return result.output.trim();
}

/** Whether an Alertmanager matcher (`name="v"`, `name=~"re"`, `name!="v"`) matches a label set. */
function matches(matcher: string, labels: Readonly<Record<string, string>>): boolean {
  const [, name, operator, value] = /^([a-z_]+)(=~|!=|=)"(.*)"$/.exec(matcher) ?? [];
  const actual = labels[name ?? ""] ?? "";
  if (operator === "=~") return new RegExp(`^(?:${value ?? ""})$`).test(actual);
  if (operator === "!=") return actual !== value;
  return actual === value;
}

describe("Alertmanager", () => {
  it.each([staging, production])("then amtool accepts the $environment configuration", (stack) => {
    const result = runTool("amtool", { "alertmanager.yml": renderAlertmanagerConfig(stack) }, () => [
      "check-config",
      "alertmanager.yml",
    ]);
    expect(result.output).toContain("SUCCESS");
    expect(result.ok).toBe(true);
  });

  it("when an alert is critical, then it pages through PagerDuty and also reaches the team", () => {
    expect(routes({ alertname: "PostgresDown", severity: "critical" })).toBe(`${RECEIVERS.pager},${RECEIVERS.chat}`);
  });

  it("when a stack has no paging, then its critical alerts reach the team without paging anyone", () => {
    expect(routes({ alertname: "PostgresDown", severity: "critical" }, renderAlertmanagerConfig(staging))).toBe(
      RECEIVERS.chat,
    );
  });

  it("when an alert is a warning, then it reaches the team's chat and mail only", () => {
    expect(routes({ alertname: "LowLiquidity", severity: "warning" })).toBe(RECEIVERS.chat);
  });

  it("then no credential is in the configuration: PagerDuty, Slack and SMTP read files of the synced secret", () => {
    expect(config).toContain("routing_key_file: /etc/alertmanager/secrets/paimon-secrets/pagerduty-key");
    expect(config).not.toMatch(/routing_key:|api_url:|auth_password:/);
  });

  it("when a dependency is down, then every alert that names it upstream is muted, and the outage itself is not", () => {
    const { inhibit_rules: rules } = alertmanagerConfig(production) as {
      inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal?: string[] }[];
    };
    const outage = (alertname: string, component: string) => ({ alertname, component, severity: "critical" });
    const muted = (source: Record<string, string>, target: Record<string, string>) =>
      rules.some(
        (rule) =>
          rule.source_matchers.every((matcher) => matches(matcher, source)) &&
          rule.target_matchers.every((matcher) => matches(matcher, target)) &&
          (rule.equal ?? []).every((label) => source[label] === target[label]),
      );
    const postgresDown = outage("PostgresDown", "postgres");
    for (const rule of ALERTS.filter((alert) => alert.upstream?.includes("postgres"))) {
      expect(muted(postgresDown, { alertname: rule.alert, ...ruleLabels(rule) }), rule.alert).toBe(true);
    }
    expect(
      muted(postgresDown, {
        alertname: "PostgresDown",
        ...ruleLabels(ALERTS.find((a) => a.alert === "PostgresDown")!),
      }),
    ).toBe(false);
    expect(muted(postgresDown, { alertname: "RedisMemoryHigh", severity: "warning", component: "redis" })).toBe(false);
    expect(
      muted(outage("ServiceDown", "api"), { alertname: "HighAPILatency", severity: "warning", component: "api" }),
    ).toBe(true);
  });
});
