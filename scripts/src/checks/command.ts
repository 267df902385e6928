/**
 * `ops check daily|weekly|monthly`: runs the checklist, prints a line per item (or one JSON
 * document), pushes the outcome for alerting where PUSHGATEWAY_URL is set, and for `monthly`
 * writes the monthly operations report. Its exit code says the worst: 0 all pass, 1 an item
 * failed, 4 no failure but a warning or an item that could not be checked.
 */
import { loadConfig } from "@paimon/core/config";
import { writeMonthlyReport } from "../report/monthly";
import { checklistItems, PERIOD_SECONDS } from "./checklists";
import { checkConfig, checkEnvSchema } from "./config";
import { pushCheckStatus } from "./push";
import { openCheckContext, runItems } from "./runner";
import { worst, type Checklist, type ItemResult, type Status } from "./types";

/** Exit codes by the worst status (cli.ts's header lists them with the others). */
export const CHECK_EXIT_CODES: Readonly<Record<Status, number>> = { pass: 0, warn: 4, unknown: 4, fail: 1 };

export interface CheckOptions {
  readonly since?: Date | undefined;
  /** Where `monthly` writes its report. */
  readonly out?: string | undefined;
  readonly json: boolean;
}

export interface CheckIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now?: () => Date;
}

function table(checklist: Checklist, since: Date, now: Date, results: readonly ItemResult[]): string {
  const width = Math.max(...results.map((result) => result.id.length), 4);
  return [
    `${checklist} check, ${since.toISOString()} to ${now.toISOString()}`,
    `${"STATUS".padEnd(8)}${"ITEM".padEnd(width + 2)}EVIDENCE`,
    ...results.map((result) => `${result.status.padEnd(8)}${result.id.padEnd(width + 2)}${result.evidence}`),
    `${worst(results.map((result) => result.status))}: ${(["pass", "warn", "unknown", "fail"] as const)
      .map((status) => `${results.filter((result) => result.status === status).length} ${status}`)
      .join(", ")}`,
    "",
  ].join("\n");
}

export async function runCheck(checklist: Checklist, options: CheckOptions, io: CheckIo): Promise<number> {
  const config = checkConfig(loadConfig(checkEnvSchema, io.env));
  const now = io.now?.() ?? new Date();
  const since = options.since ?? new Date(now.getTime() - PERIOD_SECONDS[checklist] * 1000);
  if (since >= now) throw new RangeError(`--since ${since.toISOString()} is not before now`);
  const opened = await openCheckContext(config, now, since);
  let results: ItemResult[];
  let report: string | undefined;
  try {
    results = await runItems(checklistItems(checklist, config.backupKinds), opened.context);
    if (checklist === "monthly") {
      const out = options.out ?? "";
      try {
        report = await writeMonthlyReport(out, opened.context, results);
        results.push({
          id: "report.monthly",
          title: "Monthly operations report",
          status: "pass",
          evidence: `written to ${report}`,
          threshold: "written, with its charts",
        });
      } catch (error) {
        results.push({
          id: "report.monthly",
          title: "Monthly operations report",
          status: "fail",
          evidence: `not written: ${error instanceof Error ? error.message : String(error)}`,
          threshold: "written, with its charts",
        });
      }
    }
  } finally {
    await opened.close();
  }
  let pushFailed = false;
  if (config.pushgatewayUrl) {
    try {
      await pushCheckStatus(config.pushgatewayUrl, checklist, results, config.timeoutMs);
    } catch (error) {
      // The alert path is broken: the run fails, whatever the items said.
      io.err(`ops: could not push the outcome to ${config.pushgatewayUrl}: ${(error as Error).message}\n`);
      pushFailed = true;
    }
  }
  const status = worst(results.map((result) => result.status));
  io.out(
    options.json
      ? `${JSON.stringify({ checklist, since: since.toISOString(), now: now.toISOString(), status, items: results, ...(report ? { report } : {}) })}\n`
      : table(checklist, since, now, results),
  );
  return pushFailed ? CHECK_EXIT_CODES.fail : CHECK_EXIT_CODES[status];
}
