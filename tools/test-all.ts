/**
 * `pnpm test`: every check the repository has, in one run — formatting, lint, typecheck, the
 * vitest suites, and the freshness of every generated file — ending with one line
 * `N passed, N failed` over all of them. Every step runs even when an earlier one fails. First,
 * the machine's prerequisites are checked (and installed or started where they can be).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ensurePrerequisites } from "./prerequisites";

interface Outcome {
  readonly passed: number;
  readonly failed: number;
}

const root = path.resolve(__dirname, "..");

function run(command: string, args: readonly string[]): number {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  return result.status ?? 1;
}

/** A check that passes or fails as a whole. */
function check(name: string, command: string, args: readonly string[]): Outcome {
  console.log(`\n▶ ${name}`);
  const status = run(command, args);
  console.log(status === 0 ? `✓ ${name}` : `✗ ${name} (exit ${status})`);
  return status === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
}

/** The vitest suites, counted test by test. */
function vitest(): Outcome {
  console.log("\n▶ vitest");
  const directory = mkdtempSync(path.join(tmpdir(), "paimon-vitest-"));
  const report = path.join(directory, "report.json");
  try {
    const status = run("pnpm", [
      "exec",
      "vitest",
      "run",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${report}`,
    ]);
    let counts: { numPassedTests: number; numFailedTests: number; numTotalTests: number };
    try {
      counts = JSON.parse(readFileSync(report, "utf8")) as typeof counts;
    } catch {
      console.log(`✗ vitest wrote no report (exit ${status})`);
      return { passed: 0, failed: 1 };
    }
    // A run that fails outside any test (a file that cannot load) still fails the total.
    const failed = counts.numFailedTests + (status !== 0 && counts.numFailedTests === 0 ? 1 : 0);
    if (counts.numTotalTests === 0) {
      console.log("✗ vitest ran no test");
      return { passed: 0, failed: 1 };
    }
    return { passed: counts.numPassedTests, failed };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log("▶ prerequisites");
  const problems = await ensurePrerequisites();
  if (problems.length > 0) {
    console.log(
      `✗ prerequisites: this machine is missing what the tests need\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    console.log("\n0 passed, 1 failed");
    process.exitCode = 1;
    return;
  }
  console.log("✓ prerequisites");
  const outcomes: Outcome[] = [
    check("format (prettier --check)", "pnpm", ["exec", "prettier", "--check", "."]),
    check("lint (eslint)", "pnpm", ["exec", "eslint", "--max-warnings=0", "."]),
    check("typecheck (tsc, every package)", "pnpm", ["run", "typecheck"]),
    check("plan snapshots fresh (pnpm plan --check)", "pnpm", ["exec", "tsx", "infra/planner/cli.ts", "--check"]),
    check("generated files fresh (pnpm generate --check)", "pnpm", ["exec", "tsx", "tools/generate.ts", "--check"]),
    vitest(),
  ];
  const passed = outcomes.reduce((sum, outcome) => sum + outcome.passed, 0);
  const failed = outcomes.reduce((sum, outcome) => sum + outcome.failed, 0);
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

void main();
