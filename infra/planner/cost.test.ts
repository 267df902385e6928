import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { costChange, costOf, type CostLine } from "./cost";
import { diffSnapshots, type DiffReport } from "./diff";
import { quantityGiB } from "./prices/charges";
import { loadPriceTable } from "./prices/table";
import { renderJson, renderMarkdown } from "./report";
import { parseSnapshot, type PlannedResource, type PlanSnapshot } from "./snapshot";

const committed = (stack: string) =>
  parseSnapshot(
    readFileSync(path.join(__dirname, "..", "plans", `${stack}.json`), "utf8"),
    `infra/plans/${stack}.json`,
  );
const staging = committed("staging");
const production = committed("production");
const prices = loadPriceTable();
const HOURS = 730;

const line = (lines: readonly CostLine[], name: string, part: string): CostLine => {
  const found = lines.find((entry) => entry.name === name && entry.key.endsWith(`#${part}`));
  if (!found) throw new Error(`no ${part} line for ${name}`);
  return found;
};
const resource = (snapshot: PlanSnapshot, name: string, type: string): PlannedResource => {
  const found = snapshot.resources.find((entry) => entry.name === name && entry.type === type);
  if (!found) throw new Error(`${name} not in the snapshot`);
  return found;
};
/** A copy of a resource under a new name, as a pull request adding another would plan it. */
const another = (original: PlannedResource, name: string): PlannedResource => ({
  ...structuredClone(original),
  urn: original.urn.replace(/::[^:]+$/, `::${name}`),
  name,
});
const headline = (report: DiffReport) => renderMarkdown(report).split("\n")[2];

describe("the cost of the committed plans", () => {
  it("when staging is costed, then its node group, NAT gateway and database cost what the prices say", () => {
    const { lines } = costOf(staging, prices);
    // 2 × m6i.large at 0.120 USD/hour, 730 hours a month.
    expect(line(lines, "cluster-general", "instances")).toEqual(
      expect.objectContaining({ category: "Node groups", quantity: 2 * HOURS, monthly: 175.2 }),
    );
    // Their 50 GB gp3 root volumes at 0.096 USD/GB-month.
    expect(line(lines, "cluster-general", "root-volumes").monthly).toBe(9.6);
    // One NAT gateway at 0.059 USD/hour, and its address at 0.005.
    expect(line(lines, "network-nat-ap-southeast-1a", "hours").monthly).toBe(43.07);
    expect(line(lines, "network-nat-ap-southeast-1a", "address").monthly).toBe(3.65);
    // db.t4g.medium Single-AZ at 0.102 USD/hour; 50 GB gp3 at 0.138 USD/GB-month.
    expect(line(lines, "database-primary", "instance").monthly).toBe(74.46);
    expect(line(lines, "database-primary", "storage").monthly).toBe(6.9);
    // The TimescaleDB claim: 50Gi through the gp3 StorageClass.
    expect(line(lines, "timescaledb-statefulset-paimon-paimon-timescaledb", "volume:data").monthly).toBe(4.8);
  });

  it("when production is costed, then three NAT gateways, the read replica and the OpenSearch data nodes add up", () => {
    const cost = costOf(production, prices);
    expect(cost.categories.find((entry) => entry.category === "NAT gateways")).toEqual({
      category: "NAT gateways",
      known: 129.21,
      unpriced: 0,
      usage: 3,
    });
    // The replica inherits the primary's 100 GB; it is Single-AZ, at 0.27 USD/hour.
    expect(line(cost.lines, "database-replica-1", "instance").monthly).toBe(197.1);
    expect(line(cost.lines, "database-replica-1", "storage").monthly).toBe(13.8);
    // The Multi-AZ primary's storage at 0.276 USD/GB-month.
    expect(line(cost.lines, "database-primary", "storage").monthly).toBe(27.6);
    // 3 × r6g.large.search at 0.202 USD/hour.
    expect(line(cost.lines, "logs-domain", "data-nodes").monthly).toBe(442.38);
    // Prometheus keeps 2 replicas × 100Gi.
    expect(line(cost.lines, "kubernetes-kube-prometheus-stack", "volume:Prometheus").quantity).toBe(200);
    // The DR key lives in Tokyo and is priced there.
    expect(line(cost.lines, "dr-data", "key").price).toEqual(
      expect.objectContaining({ region: "ap-northeast-1", price: 1 }),
    );
    // The CloudFront web ACL is billed at the global rates: 5 + 4 rules.
    expect(line(cost.lines, "edge-waf", "web-acl").price.region).toBe("global");
    expect(line(cost.lines, "edge-waf", "rules").monthly).toBe(4);
  });

  it("when a price is not in the table, then the line is unknown and says why, and the total counts it apart", () => {
    const cost = costOf(production, prices);
    const cache = line(cost.lines, "cache-redis", "nodes");
    expect(cache).toEqual(
      expect.objectContaining({
        monthly: null,
        quantity: 4 * HOURS,
        detail: "2 shards × 2 nodes of cache.r7g.large",
        unknownBecause: expect.stringMatching(/cache\.r7g\.large node in ap-southeast-1: not found/) as string,
      }),
    );
    expect(line(cost.lines, "database-primary", "instance").monthly).toBeNull();
    expect(cost.categories.find((entry) => entry.category === "ElastiCache")).toEqual(
      expect.objectContaining({ known: 0, unpriced: 1 }),
    );
    expect(cost.unpriced).toBeGreaterThanOrEqual(5);
    // The known total is the sum of the known lines only.
    const known = cost.lines.reduce((sum, entry) => sum + (entry.monthly ?? 0), 0);
    expect(cost.known).toBeCloseTo(known, 2);

    // Nothing changed: one line, and no cost heading.
    const unchanged = renderMarkdown({ base: "main", stacks: [diffSnapshots(production, production, prices)] });
    expect(unchanged.split("\n")[0]).toBe("No infrastructure changes against `main` (production).");
    expect(unchanged).not.toContain("/month");
    const changed = structuredClone(production);
    resource(changed, "keys-data", "aws:kms/key:Key").inputs["description"] = "touched";
    const table = renderMarkdown({ base: "main", stacks: [diffSnapshots(production, changed, prices)] });
    expect(table).toContain(
      "| production | ElastiCache | unknown (1) | unknown (1) | — | `cache-redis` 2 shards × 2 nodes of cache.r7g.large |",
    );
    expect(table).toMatch(/\| `elasticache\.node:redis:cache\.r7g\.large` \| ap-southeast-1 \| unknown \| not found/);
  });

  it("when usage decides a charge, then its rate is shown and it stays out of the totals", () => {
    const cost = costOf(production, prices);
    const nat = line(cost.lines, "network-nat-ap-southeast-1a", "data");
    expect(nat.kind).toBe("usage");
    expect(nat.price.price).toBe(0.059);
    expect(nat.monthly).toBeUndefined();
    const changed = structuredClone(production);
    resource(changed, "keys-data", "aws:kms/key:Key").inputs["description"] = "touched";
    const markdown = renderMarkdown({ base: "main", stacks: [diffSnapshots(production, changed, prices)] });
    expect(markdown).toContain("| production | NAT gateways | GB processed | 3 | $0.059/GB | ap-southeast-1 |");
    expect(markdown).toContain("| production | WAF | requests inspected | 1 | $0.60/million requests | global |");
    expect(markdown).toMatch(
      /\| production \| CloudFront \| GB out to viewers, at the asia-pacific edges' rate .*\| \$0\.12\/GB \| global \|/,
    );
  });
});

describe("the cost of a change", () => {
  it("when a pull request adds a NAT gateway and its address, then the report opens with what that adds", () => {
    const head = structuredClone(production);
    head.resources.push(
      another(
        resource(production, "network-nat-ap-southeast-1a", "aws:ec2/natGateway:NatGateway"),
        "network-nat-extra",
      ),
      another(resource(production, "network-nat-ap-southeast-1a", "aws:ec2/eip:Eip"), "network-nat-extra"),
    );
    const diff = diffSnapshots(production, head, prices);
    // 0.059 × 730 + 0.005 × 730
    expect(diff.cost?.delta).toBe(46.72);
    expect(headline({ base: "main", stacks: [diff] })).toBe(
      "**This change adds about $47/month** (production +$46.72), at on-demand list prices, before usage-based charges.",
    );
    expect(renderMarkdown({ base: "main", stacks: [diff] })).toContain(
      "| production | NAT gateways | $129.21 | $172.28 | **+$43.07** |  |",
    );
  });

  it("when a pull request adds a node group, then its instances and root volumes are the change", () => {
    const head = structuredClone(production);
    const group = another(resource(production, "cluster-general", "aws:eks/nodeGroup:NodeGroup"), "cluster-batch");
    group.inputs["scalingConfig"] = { desiredSize: 2, maxSize: 4, minSize: 2 };
    head.resources.push(group);
    const diff = diffSnapshots(production, head, prices);
    // 2 × 0.240 × 730 for the instances, 2 × 100 GB × 0.096 for their roots.
    expect(diff.cost?.categories.find((entry) => entry.category === "Node groups")?.delta).toBe(350.4);
    expect(diff.cost?.categories.find((entry) => entry.category === "EBS volumes")?.delta).toBe(19.2);
    expect(headline({ base: "main", stacks: [diff] })).toBe(
      "**This change adds about $370/month** (production +$369.60), at on-demand list prices, before usage-based charges.",
    );
  });

  it("when a pull request removes a secret, then the report says what it saves", () => {
    const head = structuredClone(production);
    head.resources = head.resources.filter((entry) => entry.name !== "secrets-smtp-password");
    expect(headline({ base: "main", stacks: [diffSnapshots(production, head, prices)] })).toBe(
      "**This change removes about $0.40/month** (production −$0.40), at on-demand list prices, before usage-based charges.",
    );
  });

  it("when a pull request changes what the table cannot price, then the report says the cost is unknown, and why", () => {
    const head = structuredClone(production);
    resource(head, "cache-redis", "aws:elasticache/replicationGroup:ReplicationGroup").inputs["numNodeGroups"] = 3;
    const diff = diffSnapshots(production, head, prices);
    expect(diff.cost?.delta).toBe(0);
    expect(diff.cost?.unpricedChanges).toEqual([
      expect.objectContaining({
        name: "cache-redis",
        change: "changed",
        detail: "3 shards × 2 nodes of cache.r7g.large",
      }),
    ]);
    expect(headline({ base: "main", stacks: [diff] })).toBe(
      "**This change's cost is unknown**: no price for production `cache-redis` 3 shards × 2 nodes of cache.r7g.large (changed). Known prices are on-demand list prices, before usage-based charges.",
    );
    // Known and unknown together: a priced NAT gateway next to the unpriced shard.
    head.resources.push(
      another(
        resource(production, "network-nat-ap-southeast-1a", "aws:ec2/natGateway:NatGateway"),
        "network-nat-extra",
      ),
    );
    expect(headline({ base: "main", stacks: [diffSnapshots(production, head, prices)] })).toMatch(
      /^\*\*This change adds about \$43\/month, and a part whose price is unknown\*\* \(production \+\$43\.07\): no price for production `cache-redis`/,
    );
  });

  it("when nothing billed changes, then the report says so, and says when usage-based charges come or go", () => {
    const tagged = structuredClone(production);
    resource(tagged, "keys-data", "aws:kms/key:Key").inputs["description"] = "touched";
    expect(headline({ base: "main", stacks: [diffSnapshots(production, tagged, prices)] })).toBe("**No cost change.**");
    const logged = structuredClone(production);
    logged.resources.push(
      another(resource(production, "network-flow-logs", "aws:cloudwatch/logGroup:LogGroup"), "extra-logs"),
    );
    expect(headline({ base: "main", stacks: [diffSnapshots(production, logged, prices)] })).toBe(
      '**No change in fixed monthly cost**; 2 usage-based charge(s) come or go (see "Monthly cost").',
    );
  });

  it("when both stacks change, then the heading sums them and the table totals each stack and all", () => {
    const stagingHead = structuredClone(staging);
    resource(stagingHead, "cluster-general", "aws:eks/nodeGroup:NodeGroup").inputs["scalingConfig"] = {
      desiredSize: 3,
      maxSize: 4,
      minSize: 2,
    };
    const productionHead = structuredClone(production);
    productionHead.resources = productionHead.resources.filter((entry) => entry.name !== "secrets-smtp-password");
    const report: DiffReport = {
      base: "main",
      stacks: [diffSnapshots(production, productionHead, prices), diffSnapshots(staging, stagingHead, prices)],
    };
    // staging: one more m6i.large (87.60) and its 50 GB root (4.80); production: one secret fewer.
    expect(headline(report)).toBe(
      "**This change adds about $92/month** (production −$0.40, staging +$92.40), at on-demand list prices, before usage-based charges.",
    );
    const markdown = renderMarkdown(report);
    expect(markdown).toMatch(
      /\| \*\*staging\*\* \| \*\*Total\*\* \| \*\*\$[\d,.]+ \+ 3 unpriced\*\* \| .* \| \*\*\+\$92\.40\*\* \| \|/,
    );
    expect(markdown).toContain("| **All stacks** | | | | **+$92.00** | |");
    const json = JSON.parse(renderJson(report)) as {
      cost: { delta: number; byStack: unknown[] };
      stacks: { stack: string; cost: { delta: number; head: { known: number } } }[];
    };
    expect(json.cost).toEqual({
      delta: 92,
      unpricedChanges: 0,
      byStack: [
        { stack: "production", delta: -0.4, unpricedChanges: 0 },
        { stack: "staging", delta: 92.4, unpricedChanges: 0 },
      ],
    });
    expect(json.stacks.find((entry) => entry.stack === "staging")?.cost.head.known).toBe(
      costOf(stagingHead, prices).known,
    );
  });

  it("when a thousand NAT gateways are added, then the report still fits a comment, the cost heading first", () => {
    const head = structuredClone(production);
    const nat = resource(production, "network-nat-ap-southeast-1a", "aws:ec2/natGateway:NatGateway");
    for (let index = 0; index < 1000; index += 1) head.resources.push(another(nat, `nat-${index}`));
    const diff = diffSnapshots(production, head, prices);
    const markdown = renderMarkdown({ base: "main", stacks: [diff] });
    expect(markdown.split("\n")[2]).toBe(
      "**This change adds about $43,070/month** (production +$43,070.00), at on-demand list prices, before usage-based charges.",
    );
    expect(markdown.length).toBeLessThan(65_536);
    expect(markdown).toContain("<summary>Monthly cost by resource type");
  });

  it("when a base and head are costed with one table, then the change is the difference of the two totals", () => {
    const head = structuredClone(staging);
    head.resources = head.resources.filter((entry) => entry.type !== "aws:ec2/natGateway:NatGateway");
    const change = costChange(staging, head, prices);
    expect(change.delta).toBeCloseTo(change.head.known - change.base.known, 2);
    expect(change.delta).toBe(-43.07);
  });
});

describe("Kubernetes storage quantities", () => {
  it("when sizes are binary or decimal, then they are read in GiB", () => {
    expect(quantityGiB("100Gi")).toBe(100);
    expect(quantityGiB("1Ti")).toBe(1024);
    expect(quantityGiB("512Mi")).toBe(0.5);
    expect(quantityGiB("1G")).toBeCloseTo(0.931, 3);
    expect(quantityGiB("lots")).toBeUndefined();
  });
});
