import type { StackDiff } from "./diff";
import { flatten } from "./leaves";
import { SEVERITY_RANK, type ChangeKind, type Finding, type Severity } from "./findings";
import { shortType } from "./format";
import type { PlannedResource, PlanSnapshot } from "./snapshot";

/**
 * The picture of a change: the resources it adds, changes or removes, and their immediate
 * neighbours — the component that holds each, what each references and what references it (a
 * security group and its rules, a role and its policies, a bucket and its policy, a key and who
 * its policy names) — drawn as a Mermaid graph, which GitHub renders in a comment. Edges come from
 * the snapshots: a resource's parent, its `dependsOn`, and the references its inputs hold (a
 * resource's URN, or a computed attribute's placeholder such as `<securityGroup:database-access.id>`).
 * Whatever a weakening touches is marked: the resource, the reference held by the weakened
 * property, and the internet where a change opens something to it.
 */

/** Changed resources drawn at most; the rest, least severe first, are counted and left out. */
export const DIAGRAM_CHANGED_LIMIT = 12;
/** Neighbours drawn at most around each changed resource. */
export const DIAGRAM_NEIGHBOUR_LIMIT = 4;

export type Relation = "parent" | "reference" | "dependsOn";

export interface GraphNode {
  /** A Mermaid identifier (`n0`, `n1`, …): never built from a resource's name. */
  readonly id: string;
  readonly urn: string;
  readonly name: string;
  readonly type: string;
  /** What the change does to it; `context` for a neighbour the change leaves as it is. */
  readonly change: ChangeKind | "context";
  /** Its worst finding, when it has one. */
  readonly severity?: Severity;
  readonly weakened: boolean;
}

export interface GraphEdge {
  /** Node ids: from the referenced (or parent) resource to the one that refers to it (or the child). */
  readonly from: string;
  readonly to: string;
  readonly relation: Relation;
  /** The referring resource's input that holds the reference. */
  readonly property?: string;
  /** Whether the change adds or removes the edge itself. */
  readonly change: "added" | "removed" | "kept";
  readonly weakened: boolean;
  /** Why it is marked, in a few words. */
  readonly note?: string;
}

export interface ChangeGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  /** Changed resources left out to keep the picture readable (the least severe). */
  readonly omittedChanges: number;
  /** Neighbours left out around the drawn resources. */
  readonly omittedNeighbours: number;
}

export interface DiagramLimits {
  readonly changed: number;
  readonly neighbours: number;
}

/** The internet, as a node: what an exposure finding opens a resource to. */
const INTERNET = "(internet)";
const OPEN_TO_THE_INTERNET = new Set(["0.0.0.0/0", "::/0"]);

interface Link {
  readonly from: string;
  readonly to: string;
  readonly relation: Relation;
  readonly property?: string;
  /** The leaves of that input that hold the reference (`policy.@json.Statement[Sid=Read].Resource`). */
  readonly paths: readonly string[];
}

/** `<securityGroup:database-access.id>` inside any string: the short type and the name it refers to. */
const PLACEHOLDER = /<([a-z][A-Za-z0-9]*):([^<>]+?)\.[A-Za-z0-9]+>/g;

const lowerFirst = (text: string) => `${text.charAt(0).toLowerCase()}${text.slice(1)}`;

/** Every edge of a snapshot, by URN. */
function linksOf(snapshot: PlanSnapshot): Link[] {
  const byPlaceholder = new Map<string, string>();
  const urns = new Set(snapshot.resources.map((resource) => resource.urn));
  for (const resource of snapshot.resources) {
    byPlaceholder.set(`${lowerFirst(resource.type.split(":").pop() ?? "")}:${resource.name}`, resource.urn);
  }
  const links: Link[] = [];
  for (const resource of snapshot.resources) {
    // Every top-level component's parent is the stack itself, which says nothing about the change.
    if (resource.parent && urns.has(resource.parent) && resource.parent.split("::")[2] !== "pulumi:pulumi:Stack")
      links.push({ from: resource.parent, to: resource.urn, relation: "parent", paths: [] });
    for (const dependency of resource.options?.dependsOn ?? [])
      if (urns.has(dependency)) links.push({ from: dependency, to: resource.urn, relation: "dependsOn", paths: [] });
    for (const [property, value] of Object.entries(resource.inputs)) {
      const referenced = new Map<string, string[]>();
      for (const [leaf, text] of flatten(value, property)) {
        if (typeof text !== "string") continue;
        const found = [
          ...(urns.has(text) ? [text] : []),
          ...[...text.matchAll(PLACEHOLDER)].flatMap(
            (match) => byPlaceholder.get(`${match[1] ?? ""}:${match[2] ?? ""}`) ?? [],
          ),
        ];
        for (const urn of found) referenced.set(urn, [...(referenced.get(urn) ?? []), leaf]);
      }
      for (const [urn, paths] of referenced)
        if (urn !== resource.urn) links.push({ from: urn, to: resource.urn, relation: "reference", property, paths });
    }
  }
  return links;
}

const linkKey = (link: Link) => `${link.from}\u0000${link.to}\u0000${link.relation}\u0000${link.property ?? ""}`;
const topKey = (path: string) => path.split(/[.[]/)[0];
const withoutDocument = (path: string) => path.replace(/\.@json(?=[.[]|$)/g, "");

/**
 * Whether a weakening found at `path` lies on a reference: its path leads to a leaf that holds it
 * (a statement of a policy and the ARN in it). A statement without a `Sid` is named by content,
 * not by path: then any reference in the same input counts.
 */
function touches(path: string | undefined, link: Link): boolean {
  if (path === undefined || link.property === undefined) return false;
  if (path.includes("[…]")) return topKey(path) === link.property;
  const at = withoutDocument(path);
  return link.paths.some((leaf) => {
    const held = withoutDocument(leaf);
    return held === at || held.startsWith(`${at}.`) || held.startsWith(`${at}[`);
  });
}

/** The picture's data: which resources and edges to draw, and what is marked. */
export function changeGraph(
  base: PlanSnapshot,
  head: PlanSnapshot,
  diff: StackDiff,
  limits: DiagramLimits = { changed: DIAGRAM_CHANGED_LIMIT, neighbours: DIAGRAM_NEIGHBOUR_LIMIT },
): ChangeGraph {
  const resources = new Map<string, PlannedResource>();
  for (const resource of [...base.resources, ...head.resources]) resources.set(resource.urn, resource);
  const findings = new Map<string, Finding[]>();
  for (const finding of diff.findings) findings.set(finding.urn, [...(findings.get(finding.urn) ?? []), finding]);
  const worst = (urn: string) =>
    (findings.get(urn) ?? []).reduce<Severity | undefined>(
      (found, finding) =>
        found === undefined || SEVERITY_RANK[finding.severity] < SEVERITY_RANK[found] ? finding.severity : found,
      undefined,
    );
  const weakenedAt = (urn: string) => (findings.get(urn) ?? []).filter((finding) => finding.direction === "weakened");

  const rank = (urn: string) => {
    const severity = worst(urn);
    return [weakenedAt(urn).length > 0 ? 0 : 1, severity === undefined ? 4 : SEVERITY_RANK[severity]];
  };
  const changed = [...diff.resources]
    .filter((resource) => !resource.type.startsWith("pulumi:"))
    .sort((a, b) => {
      const [wa = 0, sa = 0] = rank(a.urn);
      const [wb = 0, sb = 0] = rank(b.urn);
      return wa - wb || sa - sb || (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0);
    });
  const drawn = changed.slice(0, limits.changed);
  const kinds = new Map<string, ChangeKind>(drawn.map((resource) => [resource.urn, resource.kind]));

  const before = linksOf(base);
  const after = linksOf(head);
  const beforeKeys = new Set(before.map(linkKey));
  const afterKeys = new Set(after.map(linkKey));
  const links = new Map<string, Link & { change: GraphEdge["change"] }>();
  for (const link of after)
    links.set(linkKey(link), { ...link, change: beforeKeys.has(linkKey(link)) ? "kept" : "added" });
  for (const link of before)
    if (!afterKeys.has(linkKey(link))) links.set(linkKey(link), { ...link, change: "removed" });

  const order: string[] = drawn.map((resource) => resource.urn);
  let omittedNeighbours = 0;
  for (const resource of drawn) {
    // The component first, then what it references, then what refers to it.
    const around = [...links.values()]
      .filter((link) => link.to === resource.urn || link.from === resource.urn)
      .map((link) => ({
        urn: link.to === resource.urn ? link.from : link.to,
        weight: link.relation === "parent" && link.to === resource.urn ? 0 : link.to === resource.urn ? 1 : 2,
      }))
      .sort((a, b) => a.weight - b.weight || (a.urn < b.urn ? -1 : 1));
    const fresh = [...new Set(around.map((entry) => entry.urn))].filter((urn) => !kinds.has(urn) && resources.has(urn));
    const added = fresh.filter((urn) => !order.includes(urn)).slice(0, limits.neighbours);
    omittedNeighbours += fresh.filter((urn) => !order.includes(urn)).length - added.length;
    order.push(...added);
  }

  const ids = new Map(order.map((urn, index) => [urn, `n${index}`]));
  const nodes: GraphNode[] = order.map((urn) => {
    const resource = resources.get(urn) as PlannedResource;
    const severity = kinds.has(urn) ? worst(urn) : undefined;
    return {
      id: ids.get(urn) ?? "",
      urn,
      name: resource.name,
      type: resource.type,
      change: kinds.get(urn) ?? "context",
      ...(severity ? { severity } : {}),
      weakened: kinds.has(urn) && weakenedAt(urn).length > 0,
    };
  });
  // Parallel references (a policy naming its bucket in `bucket` and in `policy`) are drawn as one edge.
  const merged = new Map<string, GraphEdge>();
  for (const link of links.values()) {
    if (!ids.has(link.from) || !ids.has(link.to) || !(kinds.has(link.from) || kinds.has(link.to))) continue;
    const weakening = weakenedAt(link.to).some((finding) => touches(finding.path, link));
    const key = `${link.from}\u0000${link.to}\u0000${link.relation}`;
    const seen = merged.get(key);
    const properties = [
      ...new Set([...(seen?.property?.split(", ") ?? []), ...(link.property ? [link.property] : [])]),
    ];
    const notes = [
      ...new Set([...(seen?.note?.split(", ") ?? []), ...(weakening && link.property ? [link.property] : [])]),
    ];
    merged.set(key, {
      from: ids.get(link.from) ?? "",
      to: ids.get(link.to) ?? "",
      relation: link.relation,
      ...(properties.length > 0 ? { property: properties.join(", ") } : {}),
      change: seen && seen.change !== link.change ? "kept" : link.change,
      weakened: (seen?.weakened ?? false) || weakening,
      ...(notes.length > 0 ? { note: notes.join(", ") } : {}),
    });
  }
  const edges: GraphEdge[] = [...merged.values()];

  // A change that opens a resource to the internet is an edge from it.
  const exposed = drawn.filter((resource) =>
    weakenedAt(resource.urn).some(
      (finding) =>
        finding.category === "network-exposure" &&
        typeof finding.after === "string" &&
        OPEN_TO_THE_INTERNET.has(finding.after),
    ),
  );
  if (exposed.length > 0) {
    const id = `n${nodes.length}`;
    nodes.push({ id, urn: INTERNET, name: "the internet", type: "", change: "context", weakened: true });
    for (const resource of exposed) {
      const finding = weakenedAt(resource.urn).find(
        (candidate) => typeof candidate.after === "string" && OPEN_TO_THE_INTERNET.has(candidate.after),
      );
      edges.push({
        from: id,
        to: ids.get(resource.urn) ?? "",
        relation: "reference",
        change: "added",
        weakened: true,
        note: typeof finding?.after === "string" ? finding.after : "open",
      });
    }
  }
  return { nodes, edges, omittedChanges: changed.length - drawn.length, omittedNeighbours };
}

/**
 * Text made safe inside a quoted Mermaid label: anything but letters, digits and plain
 * punctuation becomes an entity code (`#35;`), so no name can close the label, start markup or
 * end the fenced block.
 */
export function mermaidText(text: string): string {
  // Code points, not graphemes: each is judged and encoded on its own.
  return Array.from(text)
    .map((character) =>
      /^[\p{L}\p{N} _\-.,:/()=+*@⚠✓~−·]$/u.test(character) ? character : `#${character.codePointAt(0) ?? 63};`,
    )
    .join("");
}

const MARK: Readonly<Record<GraphNode["change"], string>> = { added: "+ ", removed: "− ", changed: "~ ", context: "" };

const STYLES = [
  "classDef weakened fill:#ffebe9,stroke:#cf222e,stroke-width:3px,color:#1f2328",
  "classDef added fill:#dafbe1,stroke:#1a7f37,color:#1f2328",
  "classDef removed fill:#f6f8fa,stroke:#6e7781,stroke-dasharray:5 3,color:#57606a",
  "classDef changed fill:#ddf4ff,stroke:#0969da,color:#1f2328",
  "classDef context fill:#ffffff,stroke:#d0d7de,color:#57606a",
];

/** The graph as a fenced ```mermaid block (with a line saying what was left out, if anything). */
export function renderMermaid(graph: ChangeGraph): string {
  const lines = ["```mermaid", "graph LR", ...STYLES.map((style) => `  ${style}`)];
  for (const node of graph.nodes) {
    const label =
      node.urn === INTERNET
        ? mermaidText("⚠ the internet")
        : `${mermaidText(`${node.weakened ? "⚠ " : ""}${MARK[node.change]}${node.name}`)}<br/>${mermaidText(
            `${shortType(node.type)}${node.severity ? ` · ${node.severity}` : ""}`,
          )}`;
    lines.push(node.urn === INTERNET ? `  ${node.id}(("${label}"))` : `  ${node.id}["${label}"]`);
  }
  graph.edges.forEach((edge) => {
    const arrow = edge.change === "removed" ? "--x" : edge.relation === "reference" ? "-->" : "-.->";
    const text = edge.weakened
      ? `⚠ ${edge.note ?? edge.property ?? "weakened"}${edge.change === "removed" ? " removed" : ""}`
      : edge.relation === "dependsOn"
        ? "dependsOn"
        : undefined;
    lines.push(`  ${edge.from} ${arrow}${text ? `|"${mermaidText(text)}"|` : ""} ${edge.to}`);
  });
  for (const kind of ["added", "removed", "changed", "context"] as const) {
    const members = graph.nodes.filter((node) => !node.weakened && node.change === kind).map((node) => node.id);
    if (members.length > 0) lines.push(`  class ${members.join(",")} ${kind}`);
  }
  const weakened = graph.nodes.filter((node) => node.weakened).map((node) => node.id);
  if (weakened.length > 0) lines.push(`  class ${weakened.join(",")} weakened`);
  const marked = graph.edges.flatMap((edge, index) => (edge.weakened ? [index] : []));
  if (marked.length > 0) lines.push(`  linkStyle ${marked.join(",")} stroke:#cf222e,stroke-width:3px`);
  lines.push("```");
  const left = [
    graph.omittedChanges > 0 ? `${graph.omittedChanges} changed resource(s), the least severe,` : undefined,
    graph.omittedNeighbours > 0 ? `${graph.omittedNeighbours} neighbour(s)` : undefined,
  ].filter((part): part is string => part !== undefined);
  if (left.length > 0) lines.push("", `_Not drawn: ${left.join(" and ")}; every change is listed below._`);
  return lines.join("\n");
}
