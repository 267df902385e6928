import { OPS_CHECK_STATUS_VALUES } from "@paimon/core/metrics";
import { TARGETS, series } from "../jobs";
import { m } from "../promql";
import type { AlertRule } from "./types";

const CHECKS = TARGETS["ops-checks"];
const STATUS = (item: string) => series(m("paimon_ops_check_status"), { ...CHECKS, check: "daily", item });

/**
 * The operations checklists' outcome: `ops check daily` runs as a CronJob and pushes each item's
 * status; an item that failed, or could not be checked, reaches the team's channel.
 */
export const OPERATIONS_ALERTS: readonly AlertRule[] = [
  {
    alert: "OpsCheckFailing",
    expr: `max by (check, item) (${m("paimon_ops_check_status")}) >= ${OPS_CHECK_STATUS_VALUES.unknown}`,
    for: "5m",
    severity: "warning",
    component: "platform",
    summary: "An operations checklist item is failing",
    description: `The {{ $labels.check }} check's item {{ $labels.item }} has status {{ $value }} (${OPS_CHECK_STATUS_VALUES.fail} failed, ${OPS_CHECK_STATUS_VALUES.unknown} could not be checked): run \`pnpm ops check {{ $labels.check }}\` for its evidence.`,
    fires: {
      series: [
        { series: STATUS("backups.redis"), values: `${OPS_CHECK_STATUS_VALUES.fail}x10` },
        { series: STATUS("services.health"), values: `${OPS_CHECK_STATUS_VALUES.pass}x10` },
      ],
      at: "6m",
      resultLabels: { check: "daily", item: "backups.redis" },
      value: OPS_CHECK_STATUS_VALUES.fail,
    },
    quiet: {
      series: [{ series: STATUS("backups.redis"), values: `${OPS_CHECK_STATUS_VALUES.warn}x10` }],
      at: "6m",
    },
  },
];
