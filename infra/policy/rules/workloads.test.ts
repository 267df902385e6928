import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../../planner/policy";
import { expectCase, manifest } from "../testing";
import { isPlaceholderDigest, workloadRules } from "./workloads";

const [migrations, byDigest, placeholder] = workloadRules as [
  (typeof workloadRules)[number],
  (typeof workloadRules)[number],
  (typeof workloadRules)[number],
];
const IMAGE = "ghcr.io/paimon-fund/paimon:0.2.0";
const database = { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: "paimon-secrets", key: "database-url" } } };
const metrics = {
  name: "METRICS_DATABASE_URL",
  valueFrom: { secretKeyRef: { name: "paimon-secrets", key: "metrics" } },
};
const wait = (image = IMAGE, env = [database, metrics]) => ({
  name: "wait-for-migrations",
  image,
  args: ["migrate", "--wait"],
  env,
});
const deployment = (initContainers: unknown[], env = [database, metrics], image = IMAGE) =>
  manifest({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "paimon-api", namespace: "paimon" },
    spec: { template: { spec: { initContainers, containers: [{ name: "api", image, args: ["api"], env }] } } },
  });
const job = (image = IMAGE, env = [database, metrics]) =>
  manifest({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "paimon-migrate", namespace: "paimon" },
    spec: { template: { spec: { containers: [{ name: "migrate", image, args: ["migrate"], env }] } } },
  });

describe("paimon-deployments-wait-for-migrations", () => {
  const fitting = [deployment([wait()]), job()];

  it("when a Deployment that reads DATABASE_URL has no `migrate --wait` init container, then it fires", () => {
    expectCase(migrations, { failing: [deployment([]), job()], passing: fitting });
    expect(evaluatePolicies([migrations], [deployment([]), job()], { environment: "production" })[0]?.message).toMatch(
      /^Deployment paimon\/paimon-api: container api reads DATABASE_URL but no init container of its image runs `migrate --wait`/,
    );
  });

  it("when the init container runs another image, or is not told of the metrics database, then it fires", () => {
    expectCase(migrations, {
      failing: [deployment([wait("ghcr.io/paimon-fund/paimon:0.1.0")]), job()],
      passing: fitting,
    });
    expectCase(migrations, { failing: [deployment([wait(IMAGE, [database])]), job()], passing: fitting });
  });

  it("when no Job of the same image runs `migrate` on the databases it reads, then it fires", () => {
    expectCase(migrations, { failing: [deployment([wait()])], passing: fitting });
    expectCase(migrations, {
      failing: [deployment([wait()]), job("ghcr.io/paimon-fund/paimon:0.1.0")],
      passing: fitting,
    });
    expectCase(migrations, { failing: [deployment([wait()]), job(IMAGE, [database])], passing: fitting });
  });

  it("when a Deployment reads no database, then it needs no migration", () => {
    expect(evaluatePolicies([migrations], [deployment([], [])], { environment: "production" })).toEqual([]);
  });
});

describe("images", () => {
  const digest = (hex: string) => `${IMAGE}@sha256:${hex}`;
  const real = "4e459e217f00cbb09920c34d245501e63427e6767a495de57ce76823ff280f12";
  const pinned = (image: string) => [deployment([wait(image)], [database, metrics], image), job(image)];

  it("then repeated patterns are placeholders and a real digest is not", () => {
    for (const hex of ["1".repeat(64), "0".repeat(64), "deadbeef".repeat(8), "ab".repeat(32)]) {
      expect(isPlaceholderDigest(hex), hex).toBe(true);
    }
    expect(isPlaceholderDigest(real)).toBe(false);
  });

  it("when a production image names no digest, then it fires; staging may run a tag", () => {
    expectCase(byDigest, { failing: pinned(IMAGE), passing: pinned(digest(real)) });
    expect(evaluatePolicies([byDigest], pinned(IMAGE), { environment: "staging" })).toEqual([]);
  });

  it("when an image is pinned to a placeholder digest, then it is flagged once per image, in every stack", () => {
    expectCase(placeholder, { failing: pinned(digest("2".repeat(64))), passing: pinned(digest(real)) });
    const flagged = evaluatePolicies([placeholder], pinned(digest("2".repeat(64))), { environment: "staging" });
    expect(flagged).toHaveLength(1);
    expect(flagged[0]?.message).toMatch(/is a placeholder digest, not an image's: .*\(run by 3 container\(s\)/);
  });
});
