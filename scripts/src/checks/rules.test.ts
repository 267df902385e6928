import { describe, expect, it } from "vitest";
import { ruleForKind } from "./backups";
import type { LoadedRule } from "./prometheus";
import { crosses, lineSeconds, thresholdOf } from "./rules";

const rule = (name: string, query: string): LoadedRule => ({
  name,
  query,
  forSeconds: 300,
  labels: { severity: "warning" },
  state: "inactive",
  intervalSeconds: 60,
});

describe("thresholds read from alert rules", () => {
  it("when a rule is one comparison with a number, then its measure, operator and line are read", () => {
    const line = thresholdOf(rule("EventProcessingLag", "max by (priority) (paimon_event_queue_size) > 1000"));
    expect(line).toMatchObject({
      measure: "max by (priority) (paimon_event_queue_size)",
      op: ">",
      value: 1000,
      severity: "warning",
    });
    expect(line.label).toBe("EventProcessingLag: > 1000");
    expect([crosses(line, 1000), crosses(line, 1001)]).toEqual([false, true]);
    expect(crosses(thresholdOf(rule("LowLiquidity", "paimon_l1_ratio < 0.08")), 0.079)).toBe(true);
  });

  it("when a rule measures hours or days, then its line is converted to seconds", () => {
    const daily = thresholdOf(
      rule(
        "DailyBackupMissed",
        '(time() - paimon_backup_last_success_timestamp_seconds{kind=~"postgres|secrets"}) / 3600 > 26',
      ),
    );
    expect(lineSeconds(daily)).toBe(26 * 3600);
    expect(lineSeconds(thresholdOf(rule("RedisBackupOlderThanRpo", 'time() - x{kind="redis"} > 4500')))).toBe(4500);
  });

  it("when a rule is compound, then it is refused by name", () => {
    expect(() => thresholdOf(rule("L2RatioOutOfBand", "paimon_l2_ratio < 0.2 or paimon_l2_ratio > 0.4"))).toThrow(
      "alert rule L2RatioOutOfBand is not one comparison with a number",
    );
  });

  it("when backup rules select kinds, then each kind finds the rule whose matcher names it", () => {
    const rules = [
      rule("RedisBackupOlderThanRpo", 'time() - paimon_backup_last_success_timestamp_seconds{kind="redis"} > 4500'),
      rule(
        "DailyBackupMissed",
        '(time() - paimon_backup_last_success_timestamp_seconds{kind=~"postgres|secrets|timescaledb"}) / 3600 > 26',
      ),
    ];
    expect(
      ["postgres", "redis", "secrets", "timescaledb"].map((kind) => ruleForKind(rules, kind as never)?.name),
    ).toEqual(["DailyBackupMissed", "RedisBackupOlderThanRpo", "DailyBackupMissed", "DailyBackupMissed"]);
  });
});
