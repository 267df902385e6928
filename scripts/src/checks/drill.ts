/**
 * §9.3 "a disaster-recovery drill": the drills `ops dr-drill` recorded in the backup store
 * (`drills/<id>.json`, records.ts). Monthly means the newest passing drill is at most a month
 * old; a later drill that failed, or a record that does not read, is a warning.
 */
import { readDrillRecords, type DrillRecord } from "../records";
import { duration, need, type CheckItem } from "./types";

/** §9.3 asks for a drill every month: the longest month. */
export const DRILL_MAX_AGE_SECONDS = 31 * 86_400;

const measured = (record: DrillRecord) =>
  [
    record.rpo
      ? `RPO ${duration(record.rpo.seconds)} (target ${duration(record.rpo.target_seconds)})`
      : "RPO not measured",
    record.rto
      ? `RTO ${duration(record.rto.seconds)} (target ${duration(record.rto.target_seconds)})`
      : "RTO not measured",
  ].join(", ");

export const drillDone: CheckItem = {
  id: "dr.drill",
  title: "Disaster-recovery drill",
  async run(context) {
    const store = need(context.store, "BACKUP_TARGET");
    const threshold = `fail: no passing drill in the last ${duration(DRILL_MAX_AGE_SECONDS)} (§9.3 monthly; a pass meets §8.1's RPO < 1 h and RTO < 4 h); warn: a later drill failed, or a record does not read`;
    const entries = await readDrillRecords(store);
    const records = entries.flatMap((entry) => ("record" in entry ? [entry.record] : []));
    const unreadable = entries.flatMap((entry) => ("problem" in entry ? [`${entry.key}: ${entry.problem}`] : []));
    const passed = records.find((record) => record.passed);
    const age = passed ? (context.now.getTime() - Date.parse(passed.completed_at)) / 1000 : Infinity;
    const laterFailures = records.filter((record) => !record.passed && (!passed || record.id > passed.id));
    const parts = [
      passed
        ? `${passed.id} passed ${duration(age)} ago: ${measured(passed)}`
        : `no passing drill among ${records.length} recorded in ${store.url}`,
      ...laterFailures.map((record) => `${record.id} failed: ${record.problems.join("; ")}`),
      ...unreadable.map((problem) => `unreadable ${problem}`),
    ];
    return {
      status:
        age > DRILL_MAX_AGE_SECONDS ? "fail" : laterFailures.length > 0 || unreadable.length > 0 ? "warn" : "pass",
      evidence: parts.join("; "),
      threshold,
    };
  },
};
