/**
 * The dependency items run the real `pnpm audit` and `pnpm outdated` on a workspace of their own,
 * against an npm registry stand-in that answers as registry.npmjs.org does — and against a
 * registry that cannot be reached, which is `unknown`, never a pass.
 */
import { afterEach, describe, expect, it } from "vitest";
import { outdated, vulnerabilities } from "./dependencies";
import { openCheckContext } from "./runner";
import { checkConfig, checkEnvSchema } from "./config";
import { fixtureWorkspace, type RegistryPackage } from "./testing";

const LEFT_PAD: RegistryPackage = {
  name: "left-pad",
  versions: ["1.1.0", "1.3.0"],
  latest: "1.3.0",
  deprecated: "use String.prototype.padStart()",
  advisories: [{ id: 1001, title: "Prototype pollution", severity: "high", vulnerable: "<1.2.0" }],
};

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function contextFor(workspace: string) {
  const now = new Date();
  const opened = await openCheckContext(
    checkConfig(checkEnvSchema.parse({ CHECK_WORKSPACE: workspace })),
    new Date(now.getTime() - 86_400_000),
    now,
  );
  stops.push(() => opened.close());
  return opened.context;
}

describe("the dependency items", () => {
  it("when the registry knows a high advisory and a newer, deprecated release, then vulnerabilities fail and releases warn", async () => {
    const fixture = await fixtureWorkspace(LEFT_PAD, "1.1.0");
    stops.push(() => fixture.stop());
    const context = await contextFor(fixture.directory);
    const [audit, releases] = [await vulnerabilities.run(context), await outdated.run(context)];
    expect(audit).toMatchObject({ status: "fail", evidence: "0 critical, 1 high, 0 moderate, 0 low: left-pad (high)" });
    expect(releases.status).toBe("warn");
    expect(releases.evidence).toBe("1 with newer releases (0 a major behind, 1 deprecated): left-pad 1.1.0 → 1.3.0");
    expect(fixture.requests).toContain("POST /-/npm/v1/security/advisories/bulk");
    expect(fixture.requests).toContain("GET /left-pad");
  }, 120_000);

  it("when the installed release is the latest and has no advisory, then both pass", async () => {
    const maintained: RegistryPackage = {
      name: LEFT_PAD.name,
      versions: LEFT_PAD.versions,
      latest: "1.3.0",
      advisories: [],
    };
    const fixture = await fixtureWorkspace(maintained, "1.3.0");
    stops.push(() => fixture.stop());
    const context = await contextFor(fixture.directory);
    expect(await vulnerabilities.run(context)).toMatchObject({ status: "pass" });
    expect(await outdated.run(context)).toMatchObject({
      status: "pass",
      evidence: "every dependency is at its latest release",
    });
  }, 120_000);

  it("when the registry cannot be reached, then both are unknown and say why", async () => {
    const fixture = await fixtureWorkspace(LEFT_PAD, "1.1.0", false);
    stops.push(() => fixture.stop());
    const context = await contextFor(fixture.directory);
    const [audit, releases] = [await vulnerabilities.run(context), await outdated.run(context)];
    expect(audit.status).toBe("unknown");
    expect(audit.evidence).toMatch(/^pnpm audit gave no report \(exit \d+\): /);
    expect(releases.status).toBe("unknown");
    expect(releases.evidence).toMatch(/^pnpm outdated gave no report \(exit \d+\): /);
  }, 120_000);
});
