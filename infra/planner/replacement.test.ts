import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { synthesizeStack } from "../k8s/main";
import { diffLeaves, diffSnapshots } from "./diff";
import { flatten } from "./leaves";
import { decide, storageBytes } from "./replacement";
import { parseSnapshot, type Json, type PlannedResource, type PlanSnapshot } from "./snapshot";
import { readStackConfigs } from "./stack-configs";

const STATEFUL_SET = "kubernetes:apps/v1:StatefulSet";
const CLAIM = "kubernetes:core/v1:PersistentVolumeClaim";

const committed = parseSnapshot(
  readFileSync(path.join(__dirname, "..", "plans", "production.json"), "utf8"),
  "infra/plans/production.json",
);
const clone = (): PlanSnapshot => structuredClone(committed);
const statefulSetOf = (snapshot: PlanSnapshot): PlannedResource => {
  const found = snapshot.resources.find((resource) => resource.type === STATEFUL_SET);
  if (!found) throw new Error("no StatefulSet in the production plan");
  return found;
};
type Inputs = { [key: string]: Json };
interface SetSpec {
  selector: { matchLabels: Record<string, string> };
  template: { spec: { containers: { image: string }[] } };
  volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[];
  [field: string]: Json;
}
const specOf = (resource: PlannedResource) => resource.inputs["spec"] as unknown as SetSpec;

/** The action for changing one leaf of `before` (a StatefulSet's or claim's inputs) by `change`. */
function actionOf(type: string, before: Inputs, change: (after: Inputs) => void): string[] {
  const after = structuredClone(before);
  change(after);
  return diffLeaves(flatten(before), flatten(after)).map((leaf) => decide(type, leaf.path, before, after).action);
}

const claim = (storage: string, extra: Record<string, Json> = {}): Inputs => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name: "data", namespace: "paimon" },
  spec: {
    accessModes: ["ReadWriteOnce"],
    storageClassName: "gp3-encrypted-retain",
    resources: { requests: { storage } },
    ...extra,
  },
});

describe("the Kubernetes StatefulSet's replacement table", () => {
  const set = statefulSetOf(committed).inputs;

  it("when the pod template changes (a new image), then it is updated in place and rolled out", () => {
    expect(
      actionOf(STATEFUL_SET, set, (after) => {
        specOf({ inputs: after } as PlannedResource).template.spec.containers[0]!.image =
          "timescale/timescaledb:2.18.0";
      }),
    ).toEqual(["update"]);
  });

  it("when a claim template's storage, the selector, the service name or the pod management changes, then it is replaced", () => {
    const spec = (after: Inputs) => specOf({ inputs: after } as PlannedResource);
    expect(
      actionOf(STATEFUL_SET, set, (after) => {
        spec(after).volumeClaimTemplates[0]!.spec.resources.requests.storage = "400Gi";
      }),
    ).toEqual(["replace"]);
    expect(
      actionOf(STATEFUL_SET, set, (after) => {
        spec(after).selector.matchLabels["tier"] = "metrics";
      }),
    ).toEqual(["replace"]);
    expect(actionOf(STATEFUL_SET, set, (after) => void (spec(after)["serviceName"] = "timescaledb"))).toEqual([
      "replace",
    ]);
    expect(actionOf(STATEFUL_SET, set, (after) => void (spec(after)["podManagementPolicy"] = "Parallel"))).toEqual([
      "replace",
    ]);
    expect(actionOf(STATEFUL_SET, set, (after) => void (spec(after)["revisionHistoryLimit"] = 3))).toEqual(["replace"]);
  });

  it("when the replicas, the update strategy, the retention or the labels change, then it is updated in place", () => {
    const spec = (after: Inputs) => specOf({ inputs: after } as PlannedResource);
    // One decision per changed leaf: the strategy's change is two (its type, and its rolling
    // update's partition gone), so the count follows the committed plan; each must be an update.
    const actions = actionOf(STATEFUL_SET, set, (after) => {
      spec(after)["replicas"] = 2;
      spec(after)["minReadySeconds"] = 10;
      spec(after)["updateStrategy"] = { type: "OnDelete" };
      spec(after)["persistentVolumeClaimRetentionPolicy"] = { whenDeleted: "Retain", whenScaled: "Delete" };
      (after["metadata"] as { labels: Record<string, string> }).labels["team"] = "data";
    });
    expect(actions.length).toBeGreaterThanOrEqual(5);
    expect(new Set(actions)).toEqual(new Set(["update"]));
  });

  it("when a field no row names changes, then it may replace: never a guess", () => {
    expect(
      actionOf(STATEFUL_SET, set, (after) => void (specOf({ inputs: after } as PlannedResource)["x"] = 1)),
    ).toEqual(["may replace"]);
  });
});

describe("the Kubernetes claim's replacement table", () => {
  it("when a claim's storage grows, then it is expanded in place; when it shrinks, then the API refuses it", () => {
    expect(actionOf(CLAIM, claim("200Gi"), (after) => Object.assign(after, claim("0.25Ti")))).toEqual(["update"]);
    expect(actionOf(CLAIM, claim("200Gi"), (after) => Object.assign(after, claim("100Gi")))).toEqual(["refuse"]);
    expect(actionOf(CLAIM, claim("200Gi"), (after) => Object.assign(after, claim("lots")))).toEqual(["may replace"]);
  });

  it("when its class or access modes change, then it is replaced; when its volume mode or limits do, then refused", () => {
    const spec = (after: Inputs) => after["spec"] as Record<string, Json>;
    expect(actionOf(CLAIM, claim("200Gi"), (after) => void (spec(after)["storageClassName"] = "gp2"))).toEqual([
      "replace",
    ]);
    expect(actionOf(CLAIM, claim("200Gi"), (after) => void (spec(after)["accessModes"] = ["ReadWriteMany"]))).toEqual([
      "replace",
    ]);
    expect(actionOf(CLAIM, claim("200Gi"), (after) => void (spec(after)["volumeMode"] = "Block"))).toEqual(["refuse"]);
    expect(
      actionOf(CLAIM, claim("200Gi"), (after) => Object.assign(after, claim("200Gi", { resources: { limits: {} } }))),
    ).toContain("refuse");
  });

  it("when quantities are spelt differently, then they compare by size", () => {
    expect(storageBytes("1Ti")).toBe(storageBytes("1024Gi"));
    expect(storageBytes("500M")).toBe(storageBytes("0.5G"));
    expect(storageBytes("5e9")).toBe(5_000_000_000);
    expect(storageBytes("2Gi")).toBeGreaterThan(storageBytes("2G")!);
    expect(storageBytes("10 apples")).toBeUndefined();
  });
});

describe("the plan diff of a StatefulSet and a claim", () => {
  it("when the TimescaleDB image changes, then no replacement is reported", () => {
    const head = clone();
    specOf(statefulSetOf(head)).template.spec.containers[0]!.image = "timescale/timescaledb:2.18.0-pg16";
    const diff = diffSnapshots(committed, head);
    expect(diff.resources.map((resource) => resource.type)).toEqual([STATEFUL_SET]);
    expect(diff.stateful).toEqual([]);
  });

  it("when its claim template grows, then the replacement is reported with what becomes of the claims", () => {
    const head = clone();
    specOf(statefulSetOf(head)).volumeClaimTemplates[0]!.spec.resources.requests.storage = "400Gi";
    const [entry] = diffSnapshots(committed, head).stateful;
    // Protected in production: `pulumi up` stops before deleting it.
    expect(entry).toMatchObject({ reason: "replaced", severity: "high", protected: true });
    expect(entry?.decisions?.map((decision) => [decision.property, decision.action])).toEqual([
      ["spec.volumeClaimTemplates", "replace"],
    ]);
    expect(entry?.detail).toContain("pulumi-kubernetes provider/pkg/provider/diff.go");
    expect(entry?.detail).toContain(
      "its claims are kept (whenDeleted: Retain) and the successor mounts them again as they are",
    );
    expect(entry?.detail).not.toContain("its data are deleted");
  });

  it("when the StatefulSet would delete its claims with it, then the report says their data goes", () => {
    const base = clone();
    specOf(statefulSetOf(base))["persistentVolumeClaimRetentionPolicy"] = {
      whenDeleted: "Delete",
      whenScaled: "Retain",
    };
    const head = structuredClone(base);
    specOf(statefulSetOf(head))["serviceName"] = "timescaledb";
    expect(diffSnapshots(base, head).stateful[0]?.detail).toContain(
      "its claims are deleted with it (whenDeleted: Delete), and their data",
    );
  });

  it("when a claim would shrink, then it is reported as refused by the API, not as a replacement", () => {
    const resource = (storage: string): PlannedResource => ({
      urn: "urn:pulumi:production::paimon::kubernetes:core/v1:PersistentVolumeClaim::data",
      type: CLAIM,
      name: "data",
      inputs: claim(storage),
    });
    const base = clone();
    base.resources.push(resource("200Gi"));
    const head = clone();
    head.resources.push(resource("100Gi"));
    const [entry] = diffSnapshots(base, head).stateful;
    expect(entry).toMatchObject({ reason: "refused", severity: "medium" });
    expect(entry?.detail).toMatch(/is refused by the API: `pulumi up` fails there, and nothing is replaced$/);
  });

  it("when a claim would shrink and also change its storage class, then it is replaced and nothing is refused", () => {
    const resource = (storage: string, storageClassName: string): PlannedResource => ({
      urn: "urn:pulumi:production::paimon::kubernetes:core/v1:PersistentVolumeClaim::data",
      type: CLAIM,
      name: "data",
      inputs: claim(storage, { storageClassName }),
    });
    const base = clone();
    base.resources.push(resource("200Gi", "gp3-encrypted-retain"));
    const head = clone();
    head.resources.push(resource("100Gi", "io2-encrypted-retain"));
    const [entry] = diffSnapshots(base, head).stateful;
    expect(entry).toMatchObject({ reason: "replaced", severity: "critical" });
    // The new claim is created with the smaller size: no in-place change for the API to refuse.
    expect(entry?.detail).not.toContain("`pulumi up` fails there");
    expect(entry?.detail).toContain("the new one is simply created with its `spec.resources.requests.storage`");
  });
});

describe.each(readStackConfigs().map((config) => [config.stack, config] as const))(
  "the %s TimescaleDB StatefulSet as the charts build it",
  (stack, config) => {
    it("when set against the committed plan's, then every difference is one Pulumi updates in place", () => {
      const plan = parseSnapshot(
        readFileSync(path.join(__dirname, "..", "plans", `${stack}.json`), "utf8"),
        `infra/plans/${stack}.json`,
      );
      const planned = statefulSetOf(plan).inputs;
      const built = synthesizeStack(config)
        .flatMap((chart) => chart.objects)
        .find((object) => object["kind"] === "StatefulSet") as Inputs | undefined;
      expect(built).toBeDefined();
      const decisions = diffLeaves(flatten(planned), flatten(built!)).map((leaf) =>
        decide(STATEFUL_SET, leaf.path, planned, built!),
      );
      expect(decisions.filter((decision) => decision.action !== "update")).toEqual([]);
    });
  },
);
