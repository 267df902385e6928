import { readFileSync } from "node:fs";
import path from "node:path";
import { JSDOM } from "jsdom";
import { beforeAll, describe, expect, it } from "vitest";
import { DIAGRAM_CHANGED_LIMIT, DIAGRAM_NEIGHBOUR_LIMIT, changeGraph, mermaidText, renderMermaid } from "./diagram";
import { diffSnapshots } from "./diff";
import { renderMarkdown } from "./report";
import { parseSnapshot, type Json, type PlannedResource, type PlanSnapshot } from "./snapshot";

const committed = parseSnapshot(
  readFileSync(path.join(__dirname, "..", "plans", "production.json"), "utf8"),
  "infra/plans/production.json",
);
const clone = (): PlanSnapshot => structuredClone(committed);
const find = (snapshot: PlanSnapshot, name: string): PlannedResource => {
  const found = snapshot.resources.find((resource) => resource.name === name && !resource.type.startsWith("paimon:"));
  if (!found) throw new Error(`${name} not in snapshot`);
  return found;
};
const picture = (head: PlanSnapshot, base = committed) => {
  const diff = diffSnapshots(base, head);
  const graph = changeGraph(base, head, diff);
  return { diff, graph, text: renderMermaid(graph) };
};
const nodeOf = (graph: ReturnType<typeof changeGraph>, name: string) => {
  const node = graph.nodes.find((candidate) => candidate.name === name);
  if (!node) throw new Error(`${name} not drawn`);
  return node;
};

/**
 * Mermaid's own parser, the one GitHub renders comments with: it needs a DOM (for its sanitizer)
 * even to parse, which jsdom gives it.
 */
let parse: (text: string) => Promise<unknown>;
beforeAll(async () => {
  const dom = new JSDOM("<!doctype html><html><body></body></html>");
  Object.assign(globalThis, { window: dom.window, document: dom.window.document });
  const { default: mermaid } = await import("mermaid");
  parse = (text) => mermaid.parse(text);
});
const source = (block: string) => block.replace(/^```mermaid\n/, "").replace(/\n```[\s\S]*$/, "");

describe("the picture of a change", () => {
  it("when an ingress rule is opened to the internet, then the rule is marked, its security group drawn, and the internet's edge weakened", async () => {
    const head = clone();
    const rule = find(head, "database-access-from-cluster");
    delete rule.inputs["referencedSecurityGroupId"];
    rule.inputs["cidrIpv4"] = "0.0.0.0/0";
    const { graph, text } = picture(head);

    const changed = nodeOf(graph, "database-access-from-cluster");
    expect(changed).toMatchObject({ change: "changed", weakened: true, severity: "critical" });
    const group = graph.edges.find((edge) => edge.to === changed.id && edge.relation === "reference");
    expect(graph.nodes.find((node) => node.id === group?.from)?.type).toBe("aws:ec2/securityGroup:SecurityGroup");
    // The reference to the cluster's node group is what the change removed.
    expect(graph.edges).toContainEqual(
      expect.objectContaining({ to: changed.id, property: "referencedSecurityGroupId", change: "removed" }),
    );
    const internet = graph.edges.findIndex((edge) => edge.to === changed.id && edge.note === "0.0.0.0/0");
    expect(graph.edges[internet]).toMatchObject({ weakened: true });

    expect(text).toMatch(new RegExp(`^  ${changed.id}\\["⚠ ~ database-access-from-cluster<br/>`, "m"));
    expect(text).toMatch(new RegExp(`^  class [n0-9,]*\\b${changed.id}\\b[n0-9,]* weakened$`, "m"));
    expect(text).toMatch(/^ {2}n\d+ -->\|"⚠ 0\.0\.0\.0\/0"\| n\d+$/m);
    expect(text).toMatch(new RegExp(`^  linkStyle ([0-9]+,)*${internet}(,[0-9]+)* stroke:#cf222e`, "m"));
    await expect(parse(source(text))).resolves.toMatchObject({ diagramType: "flowchart-v2" });
  });

  it("when a bucket policy lets everyone read, then the edge from the bucket to its policy is the weakened one", () => {
    const head = clone();
    const policy = find(head, "backups-policy");
    const document = (policy.inputs["policy"] as { "@json": { Statement: Record<string, Json>[] } })["@json"];
    document.Statement.push({
      Sid: "PublicRead",
      Effect: "Allow",
      Principal: "*",
      Action: "s3:GetObject",
      Resource: "<bucket:backups-bucket.arn>/*",
    });
    const { graph } = picture(head);
    const bucket = nodeOf(graph, "backups-bucket");
    const bucketPolicy = nodeOf(graph, "backups-policy");
    expect(bucketPolicy.weakened).toBe(true);
    expect(bucket.change).toBe("context");
    // The new statement names the bucket; the data key the policy names elsewhere is untouched.
    const weakened = graph.edges.filter((edge) => edge.weakened);
    expect(weakened).toEqual([
      expect.objectContaining({ from: bucket.id, to: bucketPolicy.id, property: "bucket, policy", note: "policy" }),
    ]);
    expect(graph.edges).toContainEqual(
      expect.objectContaining({ from: nodeOf(graph, "keys-data").id, to: bucketPolicy.id, weakened: false }),
    );
    // The component that holds both is drawn as the policy's parent.
    expect(graph.edges).toContainEqual(
      expect.objectContaining({ to: bucketPolicy.id, relation: "parent", weakened: false }),
    );
  });

  it("when names carry quotes, brackets, backticks or Mermaid keywords, then ids are generated and labels cannot break out", async () => {
    const hostile = ['evil"] --> n0\nclick n0 "javascript:alert(1)"', "```", "end", "a;b<script>#x", "subgraph"];
    const stack = (resources: PlannedResource[]): PlanSnapshot => ({
      format: 1,
      project: "paimon",
      stack: "production",
      resources,
      outputs: {},
    });
    const head = stack(
      hostile.map((name) => ({
        urn: `urn:pulumi:production::paimon::aws:s3/bucket:Bucket::${name}`,
        type: "aws:s3/bucket:Bucket",
        name,
        inputs: { bucket: name },
      })),
    );
    const { text, graph } = picture(head, stack([]));
    expect(graph.nodes.map((node) => node.id)).toEqual(["n0", "n1", "n2", "n3", "n4"]);
    const body = text.split("\n").slice(1, -1);
    expect(body.filter((line) => line.includes("```"))).toEqual([]);
    for (const line of body.filter((candidate) => /^ {2}n\d+\[/.test(candidate)))
      expect(line).toMatch(/^ {2}n\d+\["([^"`[\]<>;#\n]|#\d+;)*(<br\/>([^"`[\]<>;#\n]|#\d+;)*)?"\]$/);
    await expect(parse(source(text))).resolves.toMatchObject({ diagramType: "flowchart-v2" });
    // The parser is a real one: a label closed early does not parse.
    await expect(parse('graph LR\n  n0["evil"] --> n0"]')).rejects.toThrow();
    expect(mermaidText('a"b')).toBe("a#34;b");
    expect(mermaidText("x`;<")).toBe("x#96;#59;#60;");
  });

  it("when a change touches a thousand resources, then the picture draws the most severe few and says how many it left out", async () => {
    const head = clone();
    const group = find(head, "database-access-sg");
    for (let index = 0; index < 1000; index += 1) {
      head.resources.push({
        urn: `urn:pulumi:production::paimon::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::bulk-${index}`,
        type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        name: `bulk-${index}`,
        inputs: {
          securityGroupId: `<securityGroup:${group.name}.id>`,
          ipProtocol: "tcp",
          fromPort: 5432,
          toPort: 5432,
          referencedSecurityGroupId: "<securityGroup:cluster-nodes.id>",
        },
      });
    }
    const rule = find(head, "database-access-from-cluster");
    delete rule.inputs["referencedSecurityGroupId"];
    rule.inputs["cidrIpv4"] = "0.0.0.0/0";
    const { graph, text, diff } = picture(head);

    expect(diff.resources.length).toBeGreaterThan(1000);
    expect(graph.nodes.filter((node) => node.change !== "context")).toHaveLength(DIAGRAM_CHANGED_LIMIT);
    expect(graph.nodes.length).toBeLessThanOrEqual(DIAGRAM_CHANGED_LIMIT * (1 + DIAGRAM_NEIGHBOUR_LIMIT) + 1);
    expect(graph.omittedChanges).toBe(diff.resources.length - DIAGRAM_CHANGED_LIMIT);
    // The critical change is drawn first, ahead of the thousand additions.
    expect(graph.nodes[0]?.name).toBe("database-access-from-cluster");
    expect(text).toContain(`_Not drawn: ${graph.omittedChanges} changed resource(s), the least severe,`);
    expect(text.length).toBeLessThan(12_000);
    await expect(parse(source(text))).resolves.toMatchObject({ diagramType: "flowchart-v2" });
  });

  it("when the report is rendered, then the picture sits folded after the findings, one whole block per stack", () => {
    const head = clone();
    const rule = find(head, "database-access-from-cluster");
    delete rule.inputs["referencedSecurityGroupId"];
    rule.inputs["cidrIpv4"] = "0.0.0.0/0";
    const diff = diffSnapshots(committed, head);
    const markdown = renderMarkdown({ base: "main", stacks: [{ ...diff, graph: changeGraph(committed, head, diff) }] });
    const at = markdown.indexOf("<details><summary>Picture of the change");
    expect(at).toBeGreaterThan(markdown.indexOf("### Findings"));
    expect(at).toBeLessThan(markdown.indexOf("### Changes"));
    expect(markdown.slice(at)).toMatch(
      /^<details><summary>Picture[^\n]*\n\n\*\*production\*\*\n\n```mermaid\ngraph LR\n/,
    );

    const tight = renderMarkdown(
      { base: "main", stacks: [{ ...diff, graph: changeGraph(committed, head, diff) }] },
      3_000,
    );
    expect(tight.split("```mermaid").length - 1).toBeLessThanOrEqual(1);
    expect((tight.match(/```/g) ?? []).length % 2).toBe(0);
  });
});
