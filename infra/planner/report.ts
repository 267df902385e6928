import {
  hasChanges,
  type DiffReport,
  type FlaggedChange,
  type PropertyChange,
  type ResourceChange,
  type StackDiff,
} from "./diff";
import { formatValue, shortType } from "./format";
import { SECURITY_CATEGORIES } from "./security";

/** Above this many entries a list folds into a `<details>` block, so hundreds of changes stay readable. */
const FOLD_AFTER = 12;

const code = (text: string) => `\`${text.replace(/`/g, "ˋ")}\``;
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function fold(summary: string, lines: readonly string[]): string[] {
  if (lines.length <= FOLD_AFTER) return [summary, "", ...lines, ""];
  return [`<details><summary>${summary}</summary>`, "", ...lines, "", "</details>", ""];
}

function change(changeOf: PropertyChange): string {
  return `${code(changeOf.path)}: ${code(formatValue(changeOf.before))} → ${code(formatValue(changeOf.after))}`;
}

const BADGE = { weakened: "⚠ weakened", strengthened: "✓ strengthened", changed: "changed" } as const;

function flaggedRow(flag: FlaggedChange): string {
  const what =
    flag.kind === "changed" && flag.path !== undefined
      ? change({
          path: flag.path,
          ...(flag.before !== undefined ? { before: flag.before } : {}),
          ...(flag.after !== undefined ? { after: flag.after } : {}),
        })
      : `resource ${flag.kind}`;
  return `| ${BADGE[flag.direction]} | ${SECURITY_CATEGORIES[flag.category]} | ${code(flag.name)} ${cell(shortType(flag.type))} | ${cell(what)} |`;
}

function resourceLines(resources: readonly ResourceChange[]): string[] {
  const byType = new Map<string, string[]>();
  for (const resource of resources) {
    const names = byType.get(resource.type) ?? [];
    names.push(code(resource.name));
    byType.set(resource.type, names);
  }
  return [...byType].map(([type, names]) => `- ${shortType(type)} ×${names.length}: ${names.join(", ")}`);
}

function stackSection(diff: StackDiff): string[] {
  if (!hasChanges(diff)) return [];
  const lines = [`#### ${diff.stack}`, ""];
  const added = diff.resources.filter((resource) => resource.kind === "added");
  const removed = diff.resources.filter((resource) => resource.kind === "removed");
  const changed = diff.resources.filter((resource) => resource.kind === "changed");
  if (added.length > 0) lines.push(...fold(`**Added (${added.length})**`, resourceLines(added)));
  if (removed.length > 0) lines.push(...fold(`**Removed (${removed.length})**`, resourceLines(removed)));
  if (changed.length > 0) {
    const entries = changed.flatMap((resource) => [
      `- ${code(resource.name)} ${shortType(resource.type)}`,
      ...resource.changes.map((propertyChange) => `  - ${change(propertyChange)}`),
    ]);
    lines.push(...fold(`**Changed (${changed.length})**`, entries));
  }
  if (diff.outputs.length > 0) {
    lines.push(
      ...fold(
        `**Stack outputs (${diff.outputs.length})**`,
        diff.outputs.map((output) => `- ${change(output)}`),
      ),
    );
  }
  return lines;
}

function policyCell(diff: StackDiff): string {
  const violations = diff.violations ?? [];
  const mandatory = violations.filter((violation) => violation.enforcement === "mandatory").length;
  if (violations.length === 0) return "clean";
  return mandatory > 0
    ? `**✗ ${mandatory} mandatory**, ${violations.length - mandatory} advisory`
    : `${violations.length} advisory`;
}

function policySection(report: DiffReport): string[] {
  const rows = report.stacks.flatMap((diff) =>
    (diff.violations ?? []).map(
      (violation) =>
        `| ${diff.stack} | ${violation.enforcement === "mandatory" ? "✗ mandatory" : "advisory"} | ${code(violation.policy)} | ${code(violation.name ?? "(stack)")} | ${cell(violation.message)} |`,
    ),
  );
  if (rows.length === 0) return [];
  return [
    "### Policy violations in the proposed plan",
    "",
    "| Stack | Level | Rule | Resource | Finding |",
    "|---|---|---|---|---|",
    ...rows,
    "",
  ];
}

/** The markdown an auditor reads in a pull request: summary, flagged changes, stateful risks, then every change. */
export function renderMarkdown(report: DiffReport): string {
  const stacks = report.stacks.map((diff) => diff.stack).join(", ");
  if (!report.stacks.some(hasChanges)) {
    const policy = policySection(report);
    return `No infrastructure changes against ${code(report.base)} (${stacks}).\n${policy.length > 0 ? `\n${policy.join("\n")}` : ""}`;
  }
  const lines = [
    `## Infrastructure plan: changes against ${code(report.base)}`,
    "",
    "| Stack | Added | Changed | Removed | Security-relevant | Stateful replaced or deleted | Policy |",
    "|---|--:|--:|--:|--:|--:|---|",
  ];
  for (const diff of report.stacks) {
    const weakened = diff.flagged.filter((flag) => flag.direction === "weakened").length;
    const security =
      diff.flagged.length === 0 ? "0" : `**${diff.flagged.length}**${weakened ? ` (${weakened} weakened)` : ""}`;
    lines.push(
      `| ${diff.stack} | ${diff.counts.added} | ${diff.counts.changed} | ${diff.counts.removed} | ${security} | ${diff.stateful.length ? `**${diff.stateful.length}**` : "0"} | ${policyCell(diff)} |`,
    );
  }
  lines.push("", ...policySection(report));

  const flaggedStacks = report.stacks.filter((diff) => diff.flagged.length > 0);
  if (flaggedStacks.length > 0) {
    lines.push("### ⚠ Security-relevant changes", "");
    for (const diff of flaggedStacks) {
      const rows = diff.flagged.map(flaggedRow);
      lines.push(`**${diff.stack}**`, "", "| | Category | Resource | Change |", "|---|---|---|---|");
      lines.push(...rows.slice(0, FOLD_AFTER * 4), "");
      if (rows.length > FOLD_AFTER * 4) {
        lines.push(
          `<details><summary>${rows.length - FOLD_AFTER * 4} more</summary>`,
          "",
          "| | Category | Resource | Change |",
          "|---|---|---|---|",
          ...rows.slice(FOLD_AFTER * 4),
          "",
          "</details>",
          "",
        );
      }
    }
  }

  const statefulStacks = report.stacks.filter((diff) => diff.stateful.length > 0);
  if (statefulStacks.length > 0) {
    lines.push("### ⚠ Stateful resources replaced or deleted", "");
    for (const diff of statefulStacks) {
      for (const entry of diff.stateful) {
        lines.push(
          `- **${diff.stack}** ${code(entry.name)} ${shortType(entry.type)} — **${entry.reason}**: ${entry.detail}${
            entry.protected ? " (protected: `pulumi up` refuses until `protect` is lifted)" : ""
          }`,
        );
      }
    }
    lines.push("");
  }

  lines.push("### Changes", "");
  for (const diff of report.stacks) {
    const section = stackSection(diff);
    lines.push(...(section.length > 0 ? section : [`#### ${diff.stack}`, "", "No changes.", ""]));
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** The same report as data, for bots and dashboards. */
export function renderJson(report: DiffReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
