import { billingContext, chargesOf, COST_CATEGORIES, type Charge, type CostCategory } from "./prices/billing";
import { findPrice, type PriceRow, type PriceTable, type PriceUnit } from "./prices/table";
import type { PlanSnapshot } from "./snapshot";

/**
 * The monthly cost of a plan and of a change to it, at on-demand list prices from the committed
 * price table. A charge whose price the table does not know stays unknown and is named, never
 * guessed; charges metered by use (GB processed, requests, GB stored) are shown with their rate
 * and kept out of the totals, since no plan knows the traffic.
 */

/** The price a line was costed at, as the report shows it. */
export interface LinePrice {
  readonly id: string;
  readonly region: string;
  readonly unit?: PriceUnit;
  /** USD per unit; null when unknown. */
  readonly price: number | null;
  readonly source: string;
  /** The table's sources behind it, with their addresses when public. */
  readonly references: readonly { readonly id: string; readonly url?: string }[];
  readonly date: string | null;
  readonly note?: string;
}

export interface CostLine {
  /** `<urn>#<part>`: the same charge in two plans has the same key. */
  readonly key: string;
  readonly urn: string;
  readonly name: string;
  readonly category: CostCategory;
  readonly kind: Charge["kind"];
  readonly detail: string;
  readonly price: LinePrice;
  /** Units a month, for a fixed charge; null when the plan does not say. */
  readonly quantity?: number | null;
  /** USD a month, for a fixed charge; null when its price or quantity is unknown. */
  readonly monthly?: number | null;
  /** Why `monthly` is null. */
  readonly unknownBecause?: string;
}

export interface CategoryCost {
  readonly category: CostCategory;
  /** The sum of the lines whose cost is known. */
  readonly known: number;
  /** Fixed lines whose cost is unknown. */
  readonly unpriced: number;
  /** Usage-based lines, not in `known`. */
  readonly usage: number;
}

export interface StackCost {
  readonly lines: readonly CostLine[];
  readonly categories: readonly CategoryCost[];
  /** USD a month over the lines whose cost is known. */
  readonly known: number;
  readonly unpriced: number;
}

export interface CategoryChange {
  readonly category: CostCategory;
  readonly base: CategoryCost | undefined;
  readonly head: CategoryCost | undefined;
  /** head − base over what is known on both sides. */
  readonly delta: number;
  /** Lines whose change cannot be priced. */
  readonly unknown: number;
}

/** A fixed charge added, removed or changed whose cost is not known. */
export interface UnpricedChange {
  readonly name: string;
  readonly category: CostCategory;
  readonly change: "added" | "removed" | "changed";
  readonly detail: string;
  readonly reason: string;
}

/** One stack's cost before and after the change. */
export interface StackCostChange {
  readonly currency: "USD";
  /** The price table's date. */
  readonly pricesCollected: string;
  readonly hoursPerMonth: number;
  readonly base: StackCost;
  readonly head: StackCost;
  /** head − base, USD a month, over what is known. */
  readonly delta: number;
  readonly categories: readonly CategoryChange[];
  readonly unpricedChanges: readonly UnpricedChange[];
  /** Usage-based charges that come or go with the change. */
  readonly usageAdded: number;
  readonly usageRemoved: number;
}

const round = (value: number) => Math.round(value * 100) / 100;

function reasonUnknown(row: PriceRow | undefined, id: string, region: string | undefined): string {
  if (region === undefined) return "the plan does not say its region";
  if (!row) return `no price for ${id} in ${region} in the price table`;
  return `${row.description} in ${region}: ${row.source}`;
}

function priceLine(charge: Charge, urn: string, name: string, table: PriceTable): CostLine {
  const row = charge.region === undefined ? undefined : findPrice(table, charge.item, charge.region);
  const price: LinePrice = {
    id: charge.item,
    region: charge.region ?? "unknown",
    ...(row ? { unit: row.unit } : {}),
    price: row?.price ?? null,
    source: row?.source ?? "not in the price table",
    references: (row?.refs ?? []).map((id) => {
      const url = table.sources[id]?.url;
      return { id, ...(url ? { url } : {}) };
    }),
    date: row?.date ?? null,
    ...(row?.note ? { note: row.note } : {}),
  };
  const base = { key: `${urn}#${charge.part}`, urn, name, category: charge.category, detail: charge.detail, price };
  if (charge.kind === "usage") {
    return {
      ...base,
      kind: "usage",
      ...(price.price === null ? { unknownBecause: reasonUnknown(row, charge.item, charge.region) } : {}),
    };
  }
  const unknownBecause =
    charge.quantity === null
      ? (charge.unknownBecause ?? "its size is not in the plan")
      : price.price === null
        ? reasonUnknown(row, charge.item, charge.region)
        : undefined;
  return {
    ...base,
    kind: "fixed",
    quantity: charge.quantity,
    monthly:
      unknownBecause || charge.quantity === null || price.price === null ? null : round(price.price * charge.quantity),
    ...(unknownBecause ? { unknownBecause } : {}),
  };
}

/** The monthly cost of a plan, per resource type. */
export function costOf(snapshot: PlanSnapshot, table: PriceTable): StackCost {
  const context = billingContext(snapshot, table.hoursPerMonth);
  const lines = snapshot.resources.flatMap((resource) =>
    chargesOf(resource, context).map((charge) => priceLine(charge, resource.urn, resource.name, table)),
  );
  const categories = COST_CATEGORIES.flatMap((category): CategoryCost[] => {
    const of = lines.filter((line) => line.category === category);
    if (of.length === 0) return [];
    const fixed = of.filter((line) => line.kind === "fixed");
    return [
      {
        category,
        known: round(fixed.reduce((sum, line) => sum + (line.monthly ?? 0), 0)),
        unpriced: fixed.filter((line) => line.monthly === null).length,
        usage: of.length - fixed.length,
      },
    ];
  });
  return {
    lines,
    categories,
    known: round(categories.reduce((sum, category) => sum + category.known, 0)),
    unpriced: categories.reduce((sum, category) => sum + category.unpriced, 0),
  };
}

const sameCharge = (a: CostLine, b: CostLine) =>
  a.price.id === b.price.id && a.price.region === b.price.region && a.quantity === b.quantity;

/** What a change does to a stack's monthly cost. */
export function costChange(base: PlanSnapshot, head: PlanSnapshot, table: PriceTable): StackCostChange {
  const before = costOf(base, table);
  const after = costOf(head, table);
  const old = new Map(before.lines.map((line) => [line.key, line]));
  const now = new Map(after.lines.map((line) => [line.key, line]));
  const unpricedChanges: UnpricedChange[] = [];
  const unknownIn = new Map<CostCategory, number>();
  const note = (line: CostLine, change: UnpricedChange["change"]) => {
    unpricedChanges.push({
      name: line.name,
      category: line.category,
      change,
      detail: line.detail,
      reason: line.unknownBecause ?? "unknown",
    });
    unknownIn.set(line.category, (unknownIn.get(line.category) ?? 0) + 1);
  };
  for (const line of after.lines) {
    if (line.kind !== "fixed") continue;
    const was = old.get(line.key);
    if (!was) {
      if (line.monthly === null) note(line, "added");
    } else if ((line.monthly === null || was.monthly === null) && !sameCharge(line, was)) {
      note(line.monthly === null ? line : was, "changed");
    }
  }
  for (const line of before.lines)
    if (line.kind === "fixed" && line.monthly === null && !now.has(line.key)) note(line, "removed");

  const knownSum = (lines: readonly CostLine[], keep: (line: CostLine) => boolean) =>
    lines.filter((line) => line.kind === "fixed" && keep(line)).reduce((sum, line) => sum + (line.monthly ?? 0), 0);
  // A line unknown on either side contributes nothing known: its change is in `unpricedChanges`.
  const comparable = (line: CostLine, other: Map<string, CostLine>) => {
    const match = other.get(line.key);
    return line.monthly !== null && (match === undefined || match.monthly !== null);
  };
  const categories = COST_CATEGORIES.flatMap((category): CategoryChange[] => {
    const b = before.categories.find((entry) => entry.category === category);
    const h = after.categories.find((entry) => entry.category === category);
    if (!b && !h) return [];
    const delta =
      knownSum(after.lines, (line) => line.category === category && comparable(line, old)) -
      knownSum(before.lines, (line) => line.category === category && comparable(line, now));
    return [{ category, base: b, head: h, delta: round(delta), unknown: unknownIn.get(category) ?? 0 }];
  });
  return {
    currency: "USD",
    pricesCollected: table.collected,
    hoursPerMonth: table.hoursPerMonth,
    base: before,
    head: after,
    delta: round(categories.reduce((sum, category) => sum + category.delta, 0)),
    categories,
    unpricedChanges,
    usageAdded: after.lines.filter((line) => line.kind === "usage" && !old.has(line.key)).length,
    usageRemoved: before.lines.filter((line) => line.kind === "usage" && !now.has(line.key)).length,
  };
}

/** The change across every stack, as the report's first line states it. */
export interface CostTotal {
  readonly delta: number;
  readonly unpricedChanges: number;
  readonly byStack: readonly { readonly stack: string; readonly delta: number; readonly unpricedChanges: number }[];
}

export function totalCost(stacks: readonly { readonly stack: string; readonly cost?: StackCostChange }[]): CostTotal {
  const byStack = stacks.flatMap(({ stack, cost }) =>
    cost ? [{ stack, delta: cost.delta, unpricedChanges: cost.unpricedChanges.length }] : [],
  );
  return {
    delta: round(byStack.reduce((sum, entry) => sum + entry.delta, 0)),
    unpricedChanges: byStack.reduce((sum, entry) => sum + entry.unpricedChanges, 0),
    byStack,
  };
}

/** `$1,234.56`, with a sign when asked. */
export function usd(value: number, signed = false): string {
  const sign = value < 0 ? "−" : signed && value > 0 ? "+" : "";
  return `${sign}$${Math.abs(value).toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** "about $N": whole dollars from $10 up, cents below. */
const about = (value: number) =>
  Math.abs(value) >= 10
    ? `$${Math.round(Math.abs(value)).toLocaleString("en")}`
    : usd(Math.abs(value)).replace("−", "");

const UNIT_TEXT: Readonly<Record<PriceUnit, string>> = {
  hour: "/hour",
  month: "/month",
  "GB-month": "/GB-month",
  GB: "/GB",
  request: "/request",
};

function rate(price: LinePrice): string {
  if (price.price === null || !price.unit) return "unknown";
  const amount = (value: number) =>
    `$${value.toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 6 })}`;
  if (price.unit === "request") return `${amount(price.price * 1e6)}/million requests`;
  return `${amount(price.price)}${UNIT_TEXT[price.unit]}`;
}

function sourceCell(price: LinePrice): string {
  const references = price.references.map((reference) =>
    reference.url ? `[${reference.id}](${reference.url})` : `${reference.id} (unpublished)`,
  );
  return cell(
    [price.source, references.length > 0 ? `— ${references.join(", ")}` : "", price.note ? `(${price.note})` : ""]
      .filter(Boolean)
      .join(" "),
  );
}

/** A part of the cost report that the report folds, and may trim entry by entry. */
export interface CostSection {
  readonly summary: string;
  readonly header: readonly string[];
  readonly rows: readonly string[];
  /** Higher survives trimming longer (the report's scale: changed resources 10, low findings 60). */
  readonly priority: number;
  /** What a trimmed row is called. */
  readonly unit: string;
}

export interface CostRendering {
  /** The line under the report's title. */
  readonly headline: string;
  readonly sections: readonly CostSection[];
}

const cell = (value: string) => value.replace(/\|/g, "\\|").replace(/\n/g, " ");

function headline(stacks: readonly { readonly stack: string; readonly cost: StackCostChange }[]): string {
  const total = totalCost(stacks);
  const changed = total.byStack.filter((entry) => Math.abs(entry.delta) >= 0.005);
  const perStack =
    changed.length > 0 ? ` (${changed.map((entry) => `${entry.stack} ${usd(entry.delta, true)}`).join(", ")})` : "";
  const unpriced = stacks.flatMap(({ stack, cost }) => cost.unpricedChanges.map((entry) => ({ stack, ...entry })));
  const named = unpriced
    .slice(0, 3)
    .map((entry) => `${entry.stack} \`${entry.name}\` ${entry.detail} (${entry.change})`)
    .join("; ");
  const more = unpriced.length > 3 ? `; ${unpriced.length - 3} more` : "";
  const usage = stacks.reduce((sum, { cost }) => sum + cost.usageAdded + cost.usageRemoved, 0);
  const basis = "at on-demand list prices, before usage-based charges";
  const delta = total.delta;
  const direction = delta > 0 ? "adds" : "removes";
  if (unpriced.length > 0) {
    const lead =
      Math.abs(delta) >= 0.005
        ? `**This change ${direction} about ${about(delta)}/month, and a part whose price is unknown**${perStack}`
        : `**This change's cost is unknown**`;
    return `${lead}: no price for ${named}${more}. Known prices are on-demand list prices, before usage-based charges.`;
  }
  if (Math.abs(delta) < 0.005)
    return usage > 0
      ? `**No change in fixed monthly cost**; ${usage} usage-based charge(s) come or go (see "Monthly cost").`
      : "**No cost change.**";
  return `**This change ${direction} about ${about(delta)}/month**${perStack}, ${basis}.`;
}

function costCell(category: { known: number; unpriced: number; usage?: number } | undefined): string {
  if (!category) return "—";
  if (category.unpriced === 0 && category.known === 0 && (category.usage ?? 0) > 0) return "usage-based";
  if (category.unpriced === 0) return usd(category.known);
  return category.known > 0
    ? `${usd(category.known)} + ${category.unpriced} unpriced`
    : `unknown (${category.unpriced})`;
}

function changeCell(delta: number, unknown: number): string {
  const known = Math.abs(delta) >= 0.005 ? `**${usd(delta, true)}**` : "";
  const unknownPart = unknown > 0 ? `${unknown} unpriced` : "";
  return [known, unknownPart].filter(Boolean).join(" + ") || "—";
}

/**
 * The cost part of the plan diff's report: the headline, a per-stack, per-resource-type table,
 * the usage-based charges with their rates, and the prices used with their sources.
 */
export function renderCost(
  stacks: readonly { readonly stack: string; readonly cost?: StackCostChange }[],
): CostRendering | undefined {
  const costed = stacks.flatMap(({ stack, cost }) => (cost ? [{ stack, cost }] : []));
  const first = costed[0]?.cost;
  if (!first) return undefined;

  const rows = costed.flatMap(({ stack, cost }) => {
    const unpricedNames = (category: CostCategory) =>
      cost.head.lines
        .filter((line) => line.category === category && line.kind === "fixed" && line.monthly === null)
        .map((line) => `\`${line.name}\` ${line.detail}`)
        .join("; ");
    return [
      ...cost.categories.map(
        (entry) =>
          `| ${stack} | ${entry.category} | ${costCell(entry.base)} | ${costCell(entry.head)} | ${changeCell(entry.delta, entry.unknown)} | ${cell(unpricedNames(entry.category))} |`,
      ),
      `| **${stack}** | **Total** | **${costCell(cost.base)}** | **${costCell(cost.head)}** | ${changeCell(cost.delta, cost.unpricedChanges.length)} | |`,
    ];
  });
  const total = totalCost(costed);
  if (costed.length > 1) rows.push(`| **All stacks** | | | | ${changeCell(total.delta, total.unpricedChanges)} | |`);

  const usage = new Map<
    string,
    { stack: string; category: CostCategory; detail: string; price: LinePrice; count: number }
  >();
  for (const { stack, cost } of costed)
    for (const line of cost.head.lines) {
      if (line.kind !== "usage") continue;
      const key = `${stack}\u0000${line.price.id}\u0000${line.price.region}\u0000${line.detail}`;
      const entry = usage.get(key);
      if (entry) entry.count += 1;
      else usage.set(key, { stack, category: line.category, detail: line.detail, price: line.price, count: 1 });
    }
  const usageRows = [...usage.values()].map(
    (entry) =>
      `| ${entry.stack} | ${entry.category} | ${cell(entry.detail)} | ${entry.count} | ${rate(entry.price)} | ${entry.price.region} |`,
  );

  const used = new Map<string, LinePrice>();
  for (const { cost } of costed)
    for (const line of [...cost.head.lines, ...cost.base.lines])
      used.set(`${line.price.id}@${line.price.region}`, line.price);
  const priceRows = [...used.values()]
    .sort((a, b) => (a.id === b.id ? a.region.localeCompare(b.region) : a.id.localeCompare(b.id)))
    .map(
      (price) =>
        `| \`${price.id}\` | ${price.region} | ${rate(price)} | ${sourceCell(price)} | ${price.date ?? (price.price === null ? "—" : "undated")} |`,
    );

  return {
    headline: headline(costed),
    sections: [
      {
        summary: `Monthly cost by resource type (USD, on demand, ${first.hoursPerMonth} h a month; prices of ${first.pricesCollected})`,
        header: [
          "| Stack | Resource type | Base | Proposed | Change | Not priced (proposed) |",
          "|---|---|--:|--:|--:|---|",
        ],
        rows,
        priority: 55,
        unit: "cost rows",
      },
      {
        summary: `Usage-based charges, not in the totals (${usageRows.length})`,
        header: ["| Stack | Resource type | Charged for | Resources | Rate | Where |", "|---|---|---|--:|---|---|"],
        rows: usageRows,
        priority: 12,
        unit: "usage-based charges",
      },
      {
        summary: `Prices used (${priceRows.length}), with their sources — refresh with \`pnpm prices:refresh\``,
        header: ["| Price | Region | Rate | Source | Dated |", "|---|---|--:|---|---|"],
        rows: priceRows,
        priority: 8,
        unit: "prices",
      },
    ],
  };
}
