import { isMaskedSecret } from "./classify";
import { renderCost, totalCost } from "./cost";
import { renderMermaid } from "./diagram";
import { hasChanges, type DiffReport, type PropertyChange, type ResourceChange, type StackDiff } from "./diff";
import { SEVERITIES, type Finding, type Severity } from "./findings";
import { formatValue, shortType } from "./format";
import type { PolicyViolation } from "./policy";
import { SECURITY_CATEGORIES } from "./security";

/**
 * The report an auditor reads in a pull request. It leads with a summary and the findings by
 * severity, unfolded; everything else is folded. It keeps under a pull-request comment's
 * 65,536 characters: when it would not, the least important entries go first (every change,
 * then the resources added and removed, the standing policy findings, low findings…), and the
 * report says what it left out and where the whole of it is (`--format json`).
 */

/** GitHub's limit for a comment body, less room for the comment's own marker and link. */
export const MARKDOWN_BUDGET = 60_000;

const code = (text: string) => `\`${text.replace(/`/g, "ˋ")}\``;
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

const SEVERITY_TITLE: Readonly<Record<Severity, string>> = {
  critical: "🔴 Critical",
  high: "🟠 High",
  medium: "🟡 Medium",
  low: "⚪ Low",
};
const BADGE = { weakened: "⚠ weakened", strengthened: "✓ strengthened", changed: "changed" } as const;

function shown(value: PropertyChange["before"]): string {
  if (isMaskedSecret(value)) return "[secret]";
  return formatValue(value);
}

function change(changeOf: PropertyChange): string {
  const masked = isMaskedSecret(changeOf.before) && isMaskedSecret(changeOf.after);
  return `${code(changeOf.path)}: ${code(shown(changeOf.before))} → ${code(shown(changeOf.after))}${masked ? " (value changed, masked)" : ""}`;
}

const resourceCell = (finding: { name: string; type: string }) =>
  `${code(finding.name)} ${cell(shortType(finding.type))}`;

function findingRow(stack: string, finding: Finding): string {
  return `| ${stack} | ${BADGE[finding.direction]} | ${SECURITY_CATEGORIES[finding.category]} | ${resourceCell(finding)} | ${cell(finding.reason)} |`;
}

function violationRow(stack: string, violation: PolicyViolation): string {
  return `| ${stack} | ${violation.enforcement === "mandatory" ? "✗ mandatory" : "advisory"} | ${violation.severity} | ${code(violation.policy)} | ${violation.checkov ?? "—"} | ${code(violation.name ?? "(stack)")} | ${cell(violation.message)} |`;
}
const VIOLATION_HEADER = [
  "| Stack | Level | Severity | Rule | Checkov | Resource | Finding |",
  "|---|---|---|---|---|---|---|",
];

function policyCell(diff: StackDiff): string {
  const violations = diff.violations ?? [];
  if (violations.length === 0) return "clean";
  const introduced = diff.policy?.baseKnown ? diff.policy.introduced : violations;
  const mandatory = violations.filter((violation) => violation.enforcement === "mandatory").length;
  const newMandatory = introduced.filter((violation) => violation.enforcement === "mandatory").length;
  const parts = [
    mandatory > 0 ? `**✗ ${mandatory} mandatory**` : undefined,
    violations.length - mandatory > 0 ? `${violations.length - mandatory} advisory` : undefined,
  ].filter((part): part is string => part !== undefined);
  const fresh = diff.policy?.baseKnown
    ? ` (${introduced.length} new${newMandatory ? `, ${newMandatory} mandatory` : ""})`
    : "";
  return `${parts.join(", ")}${fresh}`;
}

/** A part of the report: a fixed head and tail around entries that may be trimmed. */
interface Section {
  readonly head: readonly string[];
  readonly items: string[];
  readonly tail: readonly string[];
  /** Higher survives longer. */
  readonly priority: number;
  /** What a trimmed entry is called, for the notice. */
  readonly unit: string;
  trimmed: number;
}

const section = (head: string[], items: string[], tail: string[], priority: number, unit: string): Section => ({
  head,
  items,
  tail,
  priority,
  unit,
  trimmed: 0,
});

const folded = (summary: string, items: string[], priority: number, unit: string, header: string[] = []): Section =>
  section([`<details><summary>${summary}</summary>`, "", ...header], items, ["", "</details>", ""], priority, unit);

function resourceEntries(resources: readonly ResourceChange[]): string[] {
  return resources.map((resource) => {
    const properties = resource.properties ?? [];
    const head = `- ${code(resource.name)} ${shortType(resource.type)}`;
    return properties.length === 0
      ? head
      : [
          head,
          ...properties.slice(0, 12).map((property) => `  - ${cell(property)}`),
          ...(properties.length > 12 ? [`  - … ${properties.length - 12} more`] : []),
        ].join("\n");
  });
}

function render(sections: readonly Section[]): string {
  const lines: string[] = [];
  for (const part of sections) {
    if (part.items.length === 0 && part.trimmed === 0 && part.unit !== "") continue;
    lines.push(...part.head, ...part.items);
    if (part.trimmed > 0) lines.push(`- … ${part.trimmed} more ${part.unit} trimmed (see the JSON report)`);
    lines.push(...part.tail);
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** Drops the least important entries until the report fits; returns the notice of what went. */
function fit(sections: Section[], budget: number, base: string): string | undefined {
  const size = () => render(sections).length;
  const notice = (dropped: Section[]) =>
    `> ✂ Trimmed to fit a pull-request comment (${budget.toLocaleString("en")} characters): ${dropped
      .map((part) => `${part.trimmed} ${part.unit}`)
      .join(", ")} left out. The full report: \`pnpm plan --diff ${base} --format json\`.`;
  const reserve = 600;
  if (size() <= budget) return undefined;
  const order = [...sections].filter((part) => part.unit !== "").sort((a, b) => a.priority - b.priority);
  for (const part of order) {
    // Halve first, then one by one: a thousand entries fit in a few renders.
    while (part.items.length > 0 && size() + reserve > budget) {
      const excess = size() + reserve - budget;
      const average = Math.max(1, Math.floor(part.items.join("\n").length / part.items.length));
      const drop = Math.min(part.items.length, Math.max(1, Math.ceil(excess / average)));
      part.items.splice(part.items.length - drop, drop);
      part.trimmed += drop;
    }
    if (size() + reserve <= budget) break;
  }
  return notice(order.filter((part) => part.trimmed > 0));
}

/** The markdown an auditor reads in a pull request. */
export function renderMarkdown(report: DiffReport, budget = MARKDOWN_BUDGET): string {
  const stacks = report.stacks.map((diff) => diff.stack).join(", ");
  const policySections = (): Section[] => {
    const introduced = report.stacks.flatMap((diff) =>
      (diff.policy?.baseKnown ? diff.policy.introduced : (diff.violations ?? [])).map((violation) =>
        violationRow(diff.stack, violation),
      ),
    );
    const existing = report.stacks.flatMap((diff) =>
      (diff.policy?.baseKnown ? diff.policy.existing : []).map((violation) => violationRow(diff.stack, violation)),
    );
    const resolved = report.stacks.flatMap((diff) =>
      (diff.policy?.resolved ?? []).map(
        (violation) =>
          `- ${diff.stack}: ${code(violation.policy)} ${code(violation.name ?? "(stack)")} — ${cell(violation.message)}`,
      ),
    );
    if (introduced.length + existing.length + resolved.length === 0) return [];
    const baseKnown = report.stacks.every((diff) => diff.policy?.baseKnown === true);
    return [
      section(["### Policy violations in the proposed plan", ""], [], [], 1000, ""),
      ...(introduced.length > 0
        ? [
            section(
              [
                baseKnown ? "**New with this change**" : "**On the proposed plan** (the base recorded none)",
                "",
                ...VIOLATION_HEADER,
              ],
              introduced,
              [""],
              180,
              "new policy violations",
            ),
          ]
        : []),
      ...(existing.length > 0
        ? [
            folded(
              `Already on the base (${existing.length})`,
              existing,
              40,
              "standing policy violations",
              VIOLATION_HEADER,
            ),
          ]
        : []),
      ...(resolved.length > 0
        ? [folded(`Resolved by this change (${resolved.length})`, resolved, 45, "resolved policy violations")]
        : []),
    ];
  };
  if (!report.stacks.some(hasChanges)) {
    const sections = [
      section([`No infrastructure changes against ${code(report.base)} (${stacks}).`, ""], [], [], 1000, ""),
      ...policySections(),
    ];
    const notice = fit(sections, budget, report.base);
    if (notice) sections.splice(1, 0, section([notice, ""], [], [], 1000, ""));
    return render(sections);
  }
  const findings = report.stacks.flatMap((diff) => diff.findings.map((finding) => ({ stack: diff.stack, finding })));
  const count = (severity: Severity, diff: StackDiff) => diff.findings.filter((f) => f.severity === severity).length;
  const cost = renderCost(report.stacks);
  const summary = [
    `## Infrastructure plan: changes against ${code(report.base)}`,
    "",
    ...(cost ? [cost.headline, ""] : []),
    "| Stack | Added | Changed | Removed | Critical | High | Medium | Low | Policy |",
    "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ...report.stacks.map((diff) => {
      const counts = SEVERITIES.map((severity) => {
        const n = count(severity, diff);
        return n > 0 && (severity === "critical" || severity === "high") ? `**${n}**` : String(n);
      });
      return `| ${diff.stack} | ${diff.counts.added} | ${diff.counts.changed} | ${diff.counts.removed} | ${counts.join(" | ")} | ${policyCell(diff)} |`;
    }),
    "",
  ];
  const weakened = findings.filter(({ finding }) => finding.direction === "weakened").length;
  const worstFound = SEVERITIES.find((severity) => findings.some(({ finding }) => finding.severity === severity));
  summary.push(
    findings.length === 0
      ? "No security-relevant finding."
      : `**${findings.length} finding(s)**, ${weakened} weakening the platform; the worst is **${worstFound ?? "low"}**.`,
    "",
  );

  const sections: Section[] = [section(summary, [], [], 1000, "")];
  const noticeAt = sections.length;
  if (findings.length > 0) sections.push(section(["### Findings", ""], [], [], 1000, ""));
  for (const severity of SEVERITIES) {
    const rows = findings
      .filter(({ finding }) => finding.severity === severity)
      .map(({ stack, finding }) => findingRow(stack, finding));
    if (rows.length === 0) continue;
    const priority = { critical: 200, high: 150, medium: 90, low: 60 }[severity];
    sections.push(
      section(
        [
          `#### ${SEVERITY_TITLE[severity]} (${rows.length})`,
          "",
          "| Stack | | Category | Resource | Finding |",
          "|---|---|---|---|---|",
        ],
        rows,
        [""],
        priority,
        `${severity} findings`,
      ),
    );
  }

  // One whole Mermaid block per stack: the budget drops a picture whole, never half a graph.
  const pictures = report.stacks.flatMap((diff) =>
    diff.graph && diff.graph.nodes.length > 0 ? [`**${diff.stack}**\n\n${renderMermaid(diff.graph)}\n`] : [],
  );
  if (pictures.length > 0)
    sections.push(folded("Picture of the change: what it touches, ⚠ where it weakens", pictures, 55, "pictures"));

  sections.push(...policySections());
  for (const part of cost?.sections ?? [])
    sections.push(folded(part.summary, [...part.rows], part.priority, part.unit, [...part.header]));

  const decisions = report.stacks.flatMap((diff) =>
    diff.stateful.flatMap((entry) =>
      (entry.decisions ?? []).map(
        (decision) =>
          `| ${diff.stack} | ${resourceCell(entry)} | ${code(decision.property)} | ${decision.action} | ${cell(decision.note)} | ${code(decision.source)} |`,
      ),
    ),
  );
  if (decisions.length > 0)
    sections.push(
      folded(`Replacement rules applied (${decisions.length})`, decisions, 50, "replacement rules", [
        "| Stack | Resource | Property | On change | Why | Provider source |",
        "|---|---|---|---|---|---|",
      ]),
    );

  sections.push(section(["### Changes", ""], [], [], 1000, ""));
  for (const diff of report.stacks) {
    if (!hasChanges(diff)) {
      sections.push(section([`#### ${diff.stack}`, "", "No changes.", ""], [], [], 1000, ""));
      continue;
    }
    sections.push(section([`#### ${diff.stack}`, ""], [], [], 1000, ""));
    const added = diff.resources.filter((resource) => resource.kind === "added");
    const removed = diff.resources.filter((resource) => resource.kind === "removed");
    const changed = diff.resources.filter((resource) => resource.kind === "changed");
    if (added.length > 0)
      sections.push(
        folded(
          `Added (${added.length}), with their security-relevant properties`,
          resourceEntries(added),
          30,
          `added resources of ${diff.stack}`,
        ),
      );
    if (removed.length > 0)
      sections.push(
        folded(
          `Removed (${removed.length}), with their security-relevant properties`,
          resourceEntries(removed),
          32,
          `removed resources of ${diff.stack}`,
        ),
      );
    if (changed.length > 0) {
      const entries = changed.map((resource) =>
        [
          `- ${code(resource.name)} ${shortType(resource.type)}`,
          ...resource.changes.map((propertyChange) => `  - ${cell(change(propertyChange))}`),
        ].join("\n"),
      );
      sections.push(folded(`Changed (${changed.length})`, entries, 10, `changed resources of ${diff.stack}`));
    }
    if (diff.outputs.length > 0)
      sections.push(
        folded(
          `Stack outputs (${diff.outputs.length})`,
          diff.outputs.map((output) => `- ${cell(change(output))}`),
          5,
          `output changes of ${diff.stack}`,
        ),
      );
  }

  const notice = fit(sections, budget, report.base);
  if (notice) sections.splice(noticeAt, 0, section([notice, ""], [], [], 1000, ""));
  return render(sections);
}

/** The same report as data, for bots and dashboards: nothing trimmed. */
export function renderJson(report: DiffReport): string {
  return `${JSON.stringify({ ...report, cost: totalCost(report.stacks) }, null, 2)}\n`;
}
