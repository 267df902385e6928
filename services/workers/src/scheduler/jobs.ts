/**
 * The work of each schedule's slot. Each runs inside its slot's transaction on the fund's
 * database (what it writes there commits with the run row, once); what it writes elsewhere — the
 * metrics database's daily row — is keyed by the slot, so a retried slot writes it once too.
 */
import { AppError } from "@paimon/core/errors";
import type { Database, MetricsDatabase } from "@paimon/core/db";
import { assessRisk, LAYERS, toUnits, formatUnits, type RiskPolicy } from "@paimon/core/fund";
import type { Logger } from "@paimon/core/logger";
import { outboxValues, queuedJob, type ScheduleName } from "@paimon/core/queues";
import { sql, type Kysely, type Transaction } from "kysely";
import { fundStateAt, latestCommittedBlock } from "../fund-state";
import { raiseRebalance } from "../rebalance/intents";

export interface SlotContext {
  readonly trx: Transaction<Database>;
  readonly slot: Date;
  readonly metricsDb: Kysely<MetricsDatabase>;
  readonly logger: Logger;
}

export interface JobSettings {
  readonly policy: RiskPolicy;
  /** A `scheduled` rebalance is raised when a layer is further than this from its target. */
  readonly rebalanceDrift: string;
  readonly pushgatewayUrl: string | undefined;
  /** Maximum ages of the last backup, by kind, in seconds. */
  readonly backupMaxAgeSeconds: Readonly<Record<BackupKind, number>>;
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
}

export const BACKUP_KINDS = ["postgres", "redis", "secrets", "timescaledb"] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

/** How long the Pushgateway may take to answer. */
const PUSHGATEWAY_TIMEOUT_MS = 5_000;

export function scheduledJobs(
  settings: JobSettings,
): Record<ScheduleName, (context: SlotContext) => Promise<Record<string, unknown>>> {
  const now = settings.now ?? (() => new Date());
  return {
    /**
     * The daily cut-off of the standard channel: what was requested before it is due, handed to
     * the settlement worker as one job (which reads each redemption's status on chain first).
     */
    "settlement-cutoff": async ({ trx, slot }) => {
      const due = await sql<{ redemptions: number; assets: string }>`
        select count(*)::int as redemptions, coalesce(sum(assets), 0)::text as assets
        from redemptions where channel = 'standard' and status = 'requested' and created_at < ${slot}`.execute(trx);
      const { redemptions, assets: sum } = due.rows[0] ?? { redemptions: 0, assets: "0" };
      const assets = formatUnits(toUnits(sum));
      const job = queuedJob("settlements", { kind: "cutoff", cutoffAt: slot.toISOString(), redemptions, assets });
      // No conflict clause: a cut-off handed over twice would be a bug, and fails here instead.
      await trx.insertInto("outbox").values(outboxValues(job)).execute();
      return { redemptions, assets, job_id: job.jobId };
    },

    /** The fund's daily snapshot: the latest committed block's state and risk, in the metrics database. */
    "fund-snapshot": async ({ trx, slot, metricsDb }) => {
      const block = await latestCommittedBlock(trx);
      if (!block) return { skipped: "nothing committed yet" };
      const state = await fundStateAt(trx, block.chainId, block.number);
      const assessment = assessRisk(state, settings.policy);
      await metricsDb
        .insertInto("fund_daily")
        .values({
          slot,
          chain_id: block.chainId,
          block_number: block.number.toString(),
          nav: assessment.nav,
          l1_value: state.l1,
          l2_value: state.l2,
          l3_value: state.l3,
          pending_assets: state.pendingAssets,
          pending_count: state.pendingCount,
          level: assessment.level,
          reasons: JSON.stringify(assessment.reasons),
        })
        .onConflict((oc) => oc.column("slot").doNothing())
        .execute();
      return { block_number: block.number.toString(), nav: assessment.nav, level: assessment.level };
    },

    /**
     * The periodic allocation check: a layer further from its target than the allowed drift (though
     * maybe still inside its band) raises a `scheduled` rebalance, unless a rebalance is open.
     */
    "rebalance-check": async ({ trx, slot }) => {
      const block = await latestCommittedBlock(trx);
      if (!block) return { skipped: "nothing committed yet" };
      const state = await fundStateAt(trx, block.chainId, block.number);
      const assessment = assessRisk(state, settings.policy);
      const drifts = LAYERS.map((layer) => {
        const drift = toUnits(assessment.ratios[layer]) - toUnits(settings.policy.bands[layer].target);
        return { layer, drift: drift < 0n ? -drift : drift };
      });
      const worst = drifts.reduce((a, b) => (b.drift > a.drift ? b : a));
      const drift = formatUnits(worst.drift, 18);
      if (worst.drift <= toUnits(settings.rebalanceDrift)) return { drift, raised: null };
      const raised = await raiseRebalance(trx, {
        trigger: "scheduled",
        idempotencyKey: `scheduled-${String(slot.getTime())}`,
        reason: `scheduled check at ${slot.toISOString()}: ${worst.layer} is ${assessment.ratios[worst.layer]} of NAV, ${settings.policy.bands[worst.layer].target} is its target`,
        unlessAnyOpen: true,
      });
      return { drift, layer: worst.layer, raised: raised?.executionId ?? null };
    },

    /**
     * The backups' freshness: each kind's last success (what the backup jobs push to the
     * Pushgateway) against its maximum age. A stale kind is logged and recorded; the backup
     * alerts page on the same numbers.
     */
    "backup-freshness": async ({ logger }) => {
      if (settings.pushgatewayUrl === undefined) {
        return { checked: false, reason: "PUSHGATEWAY_URL is not set: nothing to read the backups' successes from" };
      }
      const url = new URL("/metrics", settings.pushgatewayUrl);
      let text: string;
      try {
        const response = await (settings.fetch ?? fetch)(url, { signal: AbortSignal.timeout(PUSHGATEWAY_TIMEOUT_MS) });
        if (!response.ok) throw new Error(`HTTP ${String(response.status)}`);
        text = await response.text();
      } catch (error) {
        throw new AppError("pushgateway_unreachable", `the Pushgateway at ${url.href} did not answer`, {
          retryable: true,
          cause: error,
        });
      }
      const last = lastBackupSuccesses(text);
      const nowSeconds = now().getTime() / 1000;
      const kinds = Object.fromEntries(
        BACKUP_KINDS.map((kind) => {
          const at = last.get(kind);
          const age = at === undefined ? null : Math.round(nowSeconds - at);
          return [
            kind,
            {
              last_success: at === undefined ? null : new Date(at * 1000).toISOString(),
              age_seconds: age,
              max_age_seconds: settings.backupMaxAgeSeconds[kind],
              fresh: age !== null && age <= settings.backupMaxAgeSeconds[kind],
            },
          ];
        }),
      );
      const stale = BACKUP_KINDS.filter((kind) => !kinds[kind]?.fresh);
      if (stale.length > 0) logger.warn("backups overdue", { stale, kinds });
      return { checked: true, stale, kinds };
    },
  };
}

/** `paimon_backup_last_success_timestamp_seconds` by kind, from a Prometheus text exposition. */
export function lastBackupSuccesses(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^paimon_backup_last_success_timestamp_seconds\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!match) continue;
    const kind = /(?:^|,)\s*kind="([^"]*)"/.exec(match[1] ?? "")?.[1];
    const value = Number(match[2]);
    if (kind === undefined || !Number.isFinite(value)) continue;
    found.set(kind, Math.max(found.get(kind) ?? 0, value));
  }
  return found;
}
