/**
 * §9.3 "dependencies updated": what the registry says of the workspace's lockfile — known
 * vulnerabilities (`pnpm audit --json`) and newer releases (`pnpm outdated -r --json`). A
 * registry that cannot be asked is `unknown`, never a pass.
 */
import { z } from "zod";
import { need, type CheckContext, type CheckItem, type CommandResult } from "./types";

const auditSchema = z.object({
  metadata: z.object({
    vulnerabilities: z.object({
      info: z.number().default(0),
      low: z.number().default(0),
      moderate: z.number().default(0),
      high: z.number().default(0),
      critical: z.number().default(0),
    }),
    dependencies: z.number().optional(),
    totalDependencies: z.number().optional(),
  }),
  advisories: z
    .record(z.string(), z.object({ module_name: z.string(), severity: z.string(), title: z.string().optional() }))
    .default({}),
});

const outdatedSchema = z.record(
  z.string(),
  z.object({
    current: z.string().optional(),
    latest: z.string().optional(),
    wanted: z.string().optional(),
    isDeprecated: z.boolean().default(false),
  }),
);

/** The JSON a command printed, or why there is none (its own first error line). */
function jsonOf(result: CommandResult, what: string): { json: unknown } | { problem: string } {
  try {
    return { json: JSON.parse(result.stdout) };
  } catch {
    const said = `${result.stderr}\n${result.stdout}`
      .split("\n")
      .map((line) => line.replace(/^[\s×│]+/, "").trim())
      .filter((line) => line !== "");
    return {
      problem: `${what} gave no report (exit ${String(result.code)}): ${said.slice(0, 3).join(" ") || "no output"}`,
    };
  }
}

const pnpm = (context: CheckContext, args: readonly string[]) =>
  context.runCommand("pnpm", args, need(context.workspace, "CHECK_WORKSPACE"));

export const vulnerabilities: CheckItem = {
  id: "dependencies.vulnerabilities",
  title: "Dependencies: known vulnerabilities",
  async run(context) {
    const threshold =
      "fail: a critical or high advisory; warn: a moderate or low one; unknown: the registry's audit could not be asked";
    const result = jsonOf(await pnpm(context, ["audit", "--json"]), "pnpm audit");
    if ("problem" in result) return { status: "unknown", evidence: result.problem, threshold };
    const parsed = auditSchema.safeParse(result.json);
    if (!parsed.success)
      return { status: "unknown", evidence: "pnpm audit printed JSON that is not an audit report", threshold };
    const { critical, high, moderate, low } = parsed.data.metadata.vulnerabilities;
    const named = Object.values(parsed.data.advisories)
      .slice(0, 5)
      .map((advisory) => `${advisory.module_name} (${advisory.severity})`);
    return {
      status: critical + high > 0 ? "fail" : moderate + low > 0 ? "warn" : "pass",
      evidence: `${critical} critical, ${high} high, ${moderate} moderate, ${low} low${named.length > 0 ? `: ${named.join(", ")}` : ""}`,
      threshold,
    };
  },
};

export const outdated: CheckItem = {
  id: "dependencies.outdated",
  title: "Dependencies: newer releases",
  async run(context) {
    const threshold =
      "warn: a dependency with a newer release, or deprecated (§9.3: dependencies are updated monthly); unknown: the registry could not be asked";
    const result = jsonOf(await pnpm(context, ["outdated", "--recursive", "--json"]), "pnpm outdated");
    if ("problem" in result) return { status: "unknown", evidence: result.problem, threshold };
    const parsed = outdatedSchema.safeParse(result.json);
    if (!parsed.success)
      return { status: "unknown", evidence: "pnpm outdated printed JSON that is not its report", threshold };
    const entries = Object.entries(parsed.data);
    const major = (version: string | undefined) => Number(version?.split(".")[0] ?? Number.NaN);
    const majors = entries.filter(([, entry]) => major(entry.latest) > major(entry.current));
    const deprecated = entries.filter(([, entry]) => entry.isDeprecated);
    const sample = [...majors, ...entries.filter((entry) => !majors.includes(entry))]
      .slice(0, 5)
      .map(([name, entry]) => `${name} ${entry.current ?? "?"} → ${entry.latest ?? "?"}`);
    return {
      status: entries.length > 0 ? "warn" : "pass",
      evidence:
        entries.length === 0
          ? "every dependency is at its latest release"
          : `${entries.length} with newer releases (${majors.length} a major behind, ${deprecated.length} deprecated): ${sample.join(", ")}`,
      threshold,
    };
  },
};
