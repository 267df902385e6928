import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type * as Sarif from "sarif";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureIo, createTempRoot, type TempRoot } from "../testing/temp-root";
import { main, runPlan } from "./cli";
import type { DiffReport } from "./diff";
import { REPO_ROOT } from "./stacks";

let temp: TempRoot;
beforeEach(() => {
  temp = createTempRoot();
});
afterEach(() => {
  temp.remove();
});

const defaults = { format: "markdown" } as const;
const fixture = (name: string) => path.join(__dirname, "fixtures", `${name}.ts`);

describe("pnpm plan", () => {
  it("when run, then it prints each stack's summary and writes its snapshot", async () => {
    const io = captureIo(temp.root);
    expect(await runPlan({ ...defaults, stack: "staging" }, io)).toBe(0);
    expect(io.stdout()).toMatch(/^== stack staging · \d+ resources · region ap-southeast-1/);
    expect(io.stdout()).toMatch(/infra\/plans\/staging\.json: written \(\d+ resources\)/);
    expect(temp.read("infra/plans/staging.json")).toBe(
      readFileSync(path.join(__dirname, "..", "plans", "staging.json"), "utf8"),
    );
  });

  it("when asked for an unknown stack, then it fails listing the known ones", async () => {
    await expect(runPlan({ ...defaults, stack: "prod" }, captureIo(temp.root))).rejects.toThrow(
      'unknown stack "prod": known stacks are production, staging',
    );
  });

  it("when a stack file is not valid YAML, then it fails naming the file, line and column", async () => {
    temp.edit("Pulumi.staging.yaml", "  paimon:environment: staging", "  paimon:environment: [staging");
    await expect(runPlan({ ...defaults, stack: "staging" }, captureIo(temp.root))).rejects.toThrow(
      /^Pulumi\.staging\.yaml:\d+:\d+: not valid YAML: /,
    );
  });

  it("when a stack file fails validation, then it fails naming the stack, the file and the key", async () => {
    temp.edit("Pulumi.production.yaml", "availabilityZoneCount: 3", "availabilityZoneCount: 1");
    await expect(runPlan(defaults, captureIo(temp.root))).rejects.toThrow(
      /^stack production: Pulumi\.production\.yaml: paimon:network\.availabilityZoneCount: Too small: expected number to be >=2$/,
    );
  });

  it("when the region has fewer AZs than configured, then the program's refusal names the key", async () => {
    temp.edit("Pulumi.staging.yaml", "availabilityZoneCount: 2", "availabilityZoneCount: 4");
    await expect(runPlan({ ...defaults, stack: "staging" }, captureIo(temp.root))).rejects.toThrow(
      "stack staging: Pulumi.staging.yaml: paimon:network.availabilityZoneCount: ap-southeast-1 has only 3 standard availability zones, 4 were asked for",
    );
  });

  it("when the program throws in a component, then it fails naming that resource", async () => {
    await expect(
      runPlan({ ...defaults, stack: "staging" }, captureIo(temp.root, fixture("throwing-program"))),
    ).rejects.toThrow(
      'stack staging: paimon:network:Network "lonely" failed: availabilityZones: got 1, need at least 2',
    );
  });

  it("when config holds a secure value, then the snapshot shows [secret] and never the value", async () => {
    temp.edit(
      "Pulumi.staging.yaml",
      "config:\n",
      "config:\n  paimon:pagerdutyToken:\n    secure: v1:c2VjcmV0LWNpcGhlcnRleHQ=\n",
    );
    const io = captureIo(temp.root, fixture("secret-program"));
    expect(await runPlan({ ...defaults, stack: "staging" }, io)).toBe(0);
    const snapshot = temp.read("infra/plans/staging.json");
    expect(snapshot).not.toContain("c2VjcmV0");
    const parsed = JSON.parse(snapshot) as {
      resources: { name: string; type: string; inputs: Record<string, unknown> }[];
      outputs: unknown;
    };
    const version = parsed.resources.find((r) => r.type === "aws:secretsmanager/secretVersion:SecretVersion");
    expect(version?.inputs["secretString"]).toBe("[secret]");
    expect(parsed.outputs).toEqual({ token: "[secret]" });
  });

  it("when a stack breaks a mandatory policy, then the plan prints it, fails naming the rule, and writes nothing", async () => {
    temp.edit(
      "Pulumi.production.yaml",
      "    deletionProtection: true\n    performanceInsights",
      "    deletionProtection: false\n    performanceInsights",
    );
    const io = captureIo(temp.root);
    expect(await runPlan({ ...defaults, stack: "production" }, io)).toBe(1);
    // The database's protect follows its deletion protection: off, the primary and its replica are unprotected too.
    // The advisories are production's placeholder digests of paimon's own images.
    expect(io.stdout()).toMatch(/Policy pack: 4 mandatory, \d+ advisory violations/);
    expect(io.stdout()).toMatch(
      /✗ mandatory\s+paimon-production-stateful-protected\s+database-primary\s+not protected/,
    );
    expect(io.stdout()).toMatch(
      /✗ mandatory\s+CKV_AWS_293-rds-deletion-protection\s+database-primary\s+deletionProtection is off/,
    );
    expect(io.stderr()).toContain(
      "production: CKV_AWS_293-rds-deletion-protection (database-primary: deletionProtection is off)",
    );
    expect(() => temp.read("infra/plans/production.json")).toThrow();
  });

  it("when a committed snapshot is stale, then --check fails naming the stack and writes nothing", async () => {
    await runPlan({ ...defaults, quiet: true }, captureIo(temp.root));
    temp.edit("Pulumi.production.yaml", "flowLogRetentionDays: 365", "flowLogRetentionDays: 400");
    const before = temp.read("infra/plans/production.json");
    const io = captureIo(temp.root);
    expect(await runPlan({ ...defaults, check: true }, io)).toBe(1);
    expect(io.stdout()).toContain("infra/plans/production.json: stale");
    expect(io.stdout()).toContain("infra/plans/staging.json: fresh");
    expect(io.stderr()).toMatch(/snapshot of production is out of date/);
    expect(temp.read("infra/plans/production.json")).toBe(before);
  });

  it("when a snapshot is missing, then --check reports it missing", async () => {
    const io = captureIo(temp.root);
    expect(await runPlan({ ...defaults, check: true, stack: "staging" }, io)).toBe(1);
    expect(io.stdout()).toContain("infra/plans/staging.json: missing");
  });

  it("when --diff is given a ref that does not exist or has no snapshot, then it fails saying which", async () => {
    temp.commit("no snapshots yet");
    await expect(runPlan({ ...defaults, diff: "nope" }, captureIo(temp.root))).rejects.toThrow(
      'unknown git ref "nope"',
    );
    await expect(runPlan({ ...defaults, diff: "HEAD", stack: "staging" }, captureIo(temp.root))).rejects.toThrow(
      "HEAD has no infra/plans/staging.json",
    );
  });

  it("when config weakens a stack, then --diff flags it, in markdown and as JSON", async () => {
    await runPlan({ ...defaults, quiet: true }, captureIo(temp.root));
    temp.commit("baseline");
    temp.edit("Pulumi.staging.yaml", "      redis: 7", "      redis: 3");
    temp.edit("Pulumi.staging.yaml", "    forceDestroy: false", "    forceDestroy: true");

    const markdown = captureIo(temp.root);
    expect(await runPlan({ ...defaults, diff: "HEAD" }, markdown)).toBe(0);
    const text = markdown.stdout();
    expect(text).toContain("| staging | 0 | 2 | 0 | 0 | **1** | 1 | 0 | clean |");
    expect(text).toMatch(/\| production \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \| \d+ advisory \(0 new\) \|/);
    expect(text.indexOf("### Findings")).toBeLessThan(text.indexOf("### Changes"));
    expect(text).toContain("`rules[id=expire-redis].expiration.days`: `7` → `3`");
    expect(text).toContain("`forceDestroy`: `false` → `true`");
    // The Redis backup exports each snapshot into the bucket and deletes it: the bucket's
    // lifecycle is the only retention, and the backup job does not change.
    expect(text).not.toContain("RETENTION_DAYS");

    const json = captureIo(temp.root);
    await runPlan({ format: "json", diff: "HEAD" }, json);
    const report = JSON.parse(json.stdout()) as DiffReport;
    expect(
      report.stacks.find((s) => s.stack === "staging")?.findings.map((f) => [f.severity, f.category, f.direction]),
    ).toEqual([
      ["high", "deletion-protection", "weakened"],
      ["medium", "backup-retention", "weakened"],
    ]);
  });

  it("when nothing changed, then --diff prints one line, and the standing advisories", async () => {
    await runPlan({ ...defaults, quiet: true }, captureIo(temp.root));
    temp.commit("baseline");
    const io = captureIo(temp.root);
    await runPlan({ ...defaults, diff: "HEAD" }, io);
    const [first, ...rest] = io.stdout().split("\n");
    expect(first).toBe("No infrastructure changes against `HEAD` (production, staging).");
    const findings = rest.filter((line) => line.startsWith("| production") || line.startsWith("| staging"));
    // The services' image's placeholder digest: the one image production runs that is not yet released.
    expect(findings.length).toBeGreaterThanOrEqual(1);
    for (const line of findings) {
      expect(line).toMatch(/^\| production \| advisory \| low \| `paimon-image-digest-not-placeholder` \|/);
    }
    expect(rest).toContain(`<details><summary>Already on the base (${String(findings.length)})</summary>`);
  });

  it("when --diff is asked for SARIF, then it prints one SARIF 2.1.0 log whose results point into the repository", async () => {
    await runPlan({ ...defaults, quiet: true, stack: "staging" }, captureIo(temp.root));
    temp.commit("baseline");
    temp.edit("Pulumi.staging.yaml", "    forceDestroy: false", "    forceDestroy: true");
    const io = captureIo(temp.root);
    expect(await runPlan({ format: "sarif", diff: "HEAD", stack: "staging" }, io)).toBe(0);
    const log = JSON.parse(io.stdout()) as Sarif.Log;
    expect(log.version).toBe("2.1.0");
    const results = log.runs[0]?.results ?? [];
    expect(results).toContainEqual(
      expect.objectContaining({
        ruleId: "plan-diff/deletion-protection/weakened",
        level: "error",
        baselineState: "new",
        locations: [
          expect.objectContaining({
            physicalLocation: {
              artifactLocation: { uri: "infra/components/backup-bucket/index.ts", uriBaseId: "%SRCROOT%" },
              region: { startLine: expect.any(Number) as number },
            },
          }),
        ],
      }),
    );
  });

  it("when --check and --diff are combined, then it refuses", async () => {
    await expect(runPlan({ ...defaults, check: true, diff: "HEAD" }, captureIo(temp.root))).rejects.toThrow(
      "--check and --diff cannot be combined",
    );
  });

  it.each([["json"], ["sarif"], ["markdown"]])(
    "when --format %s is given without --diff, then it refuses naming --diff, and plans and writes nothing",
    async (format) => {
      const io = captureIo(temp.root);
      expect(await main(["--format", format, "--stack", "staging"], io)).toBe(1);
      expect(io.stderr()).toBe(
        `plan: --format ${format} applies to --diff <git-ref> only: add --diff, or leave --format out\n`,
      );
      expect(io.stdout()).toBe("");
      expect(() => temp.read("infra/plans/staging.json")).toThrow();
    },
  );

  it("when its stdout is a pipe nobody reads (`pnpm plan | head`), then it ends quietly, exit 0, with the snapshot whole", async () => {
    // `true` has exited before the plan prints anything: every write meets a closed pipe (EPIPE).
    const script = `const cli = require(${JSON.stringify(path.join(__dirname, "cli.ts"))});
      cli.main(["--stack", "staging"], cli.processIo(${JSON.stringify(temp.root)})).then((code) => { process.exitCode = code; });`;
    const child = spawn(
      "bash",
      ["-c", '"$0" "$@" | true; exit "${PIPESTATUS[0]}"', process.execPath, "--import", "tsx", "--eval", script],
      { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(readdirSync(path.join(temp.root, "infra", "plans"))).toEqual(["staging.json"]);
    expect(temp.read("infra/plans/staging.json")).toBe(
      readFileSync(path.join(__dirname, "..", "plans", "staging.json"), "utf8"),
    );
  });
});
