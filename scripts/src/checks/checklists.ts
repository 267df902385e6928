/**
 * The operations spec's §9 checklists as items: six daily, five weekly, five monthly. Where one
 * spec item is judged per part (the backups per kind, the dependencies' vulnerabilities and
 * releases), each part is a line of its own; the monthly report is the monthly list's last line,
 * added by the command that writes it.
 */
import type { BackupKind } from "../manifest";
import { accessReviewed } from "./access";
import { alertThresholds, alertsFired } from "./alerts";
import { backupFresh } from "./backups";
import { certificateExpiry } from "./certificates";
import { databasePerformance } from "./database";
import { outdated, vulnerabilities } from "./dependencies";
import { drillDone } from "./drill";
import { eventLag } from "./events";
import { pendingRedemptions, riskIndicators } from "./fund";
import { servicesHealthy } from "./health";
import { resourceTrends } from "./resources";
import { operatorAuthentications } from "./security";
import { slaMet } from "./sla";
import type { CheckItem, Checklist } from "./types";

/** How far back each checklist looks unless `--since` says otherwise. */
export const PERIOD_SECONDS: Readonly<Record<Checklist, number>> = {
  daily: 86_400,
  weekly: 7 * 86_400,
  monthly: 30 * 86_400,
};

export function checklistItems(checklist: Checklist, backupKinds: readonly BackupKind[]): CheckItem[] {
  switch (checklist) {
    case "daily":
      return [
        servicesHealthy,
        riskIndicators,
        pendingRedemptions,
        eventLag,
        alertsFired,
        ...backupKinds.map(backupFresh),
      ];
    case "weekly":
      return [slaMet, databasePerformance, operatorAuthentications, certificateExpiry, resourceTrends];
    case "monthly":
      return [drillDone, accessReviewed, vulnerabilities, outdated, alertThresholds];
  }
}
