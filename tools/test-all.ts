/**
 * `pnpm test`: every check the repository has, in one run — formatting, lint, typecheck, the
 * vitest suites, and the freshness of every generated file — ending with one line
 * `N passed, N failed` over all of them. Every step runs even when an earlier one fails. First,
 * the machine's prerequisites are checked (and installed or started where they can be).
 */
import { spawn, spawnSync } from "node:child_process";
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

interface Check {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
}

/** Runs a check that passes or fails as a whole, its output held back until it ends. */
function runCheck(check: Check): Promise<{ status: number; output: string; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(check.command, check.args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.once("error", (error) => {
      output += `${error.message}\n`;
    });
    child.once("close", (code) => {
      resolve({ status: code ?? 1, output, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/**
 * The checks that pass or fail as a whole, two at a time (they are CPU-bound and the project's
 * machines have two cores); each one's output is printed whole, in the order listed.
 */
async function checks(list: readonly Check[]): Promise<Outcome[]> {
  let running = 0;
  const waiting: (() => void)[] = [];
  const limited = async <T>(task: () => Promise<T>): Promise<T> => {
    while (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
  // Started in order, two at a time; printed in order, each once it has ended.
  const results = list.map((check) => limited(() => runCheck(check)));
  const outcomes: Outcome[] = [];
  for (const [index, check] of list.entries()) {
    const result = await results[index];
    if (!result) continue;
    console.log(`\n▶ ${check.name}`);
    process.stdout.write(result.output);
    const took = `${result.seconds.toFixed(0)} s`;
    console.log(result.status === 0 ? `✓ ${check.name} (${took})` : `✗ ${check.name} (exit ${result.status}, ${took})`);
    outcomes.push(result.status === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 });
  }
  return outcomes;
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
    ...(await checks([
      { name: "lint (eslint)", command: "pnpm", args: ["exec", "eslint", "--max-warnings=0", "."] },
      { name: "typecheck (tsc, every package)", command: "pnpm", args: ["run", "typecheck"] },
      { name: "format (prettier --check)", command: "pnpm", args: ["exec", "prettier", "--check", "."] },
      {
        name: "plan snapshots fresh (pnpm plan --check)",
        command: "pnpm",
        args: ["exec", "tsx", "infra/planner/cli.ts", "--check"],
      },
      {
        name: "generated files fresh (pnpm generate --check)",
        command: "pnpm",
        args: ["exec", "tsx", "tools/generate.ts", "--check"],
      },
    ])),
    vitest(),
  ];
  const passed = outcomes.reduce((sum, outcome) => sum + outcome.passed, 0);
  const failed = outcomes.reduce((sum, outcome) => sum + outcome.failed, 0);
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

void main();
