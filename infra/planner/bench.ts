/**
 * `pnpm bench:plan`: how long planning takes from a cold process, as an engineer or CI runs it,
 * beside its targets, and where a stack's time goes — through the prebuilt bundle that `pnpm plan`
 * runs and, for comparison, through tsx. Prints figures; asserts nothing (speed is never a test).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { stackBundle } from "./bundle";
import { PROGRAM_MODULE, planStack, type PlanRunner, type StackPlan } from "./plan";
import type { StackPhases } from "./run-stack";
import { REPO_ROOT, listStacks } from "./stacks";
import { parseCommandLine } from "../../tools/command-line";

const RUNS = 5;
const CLI = path.join(__dirname, "cli.ts");
/** The targets: both stacks, and each alone. */
const TARGET_BOTH_MS = 5_000;
const TARGET_EACH_MS = 3_000;
/** `--check` ends in one of these per stack once planning finished, stale or not. */
const CHECKED = /^infra\/plans\/[^:]+\.json: (?:fresh|stale|missing)$/m;

const sum = (phases: StackPhases) =>
  phases.startup + phases.programImport + phases.programRun + phases.secrets + phases.policy + phases.snapshot;

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function spawnTimed(args: readonly string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ["--import", "tsx", ...args], { cwd: REPO_ROOT, encoding: "utf8" });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  // A stale snapshot (the tree moved on) or a policy refusal still planned every stack.
  if (result.status !== 0 && !CHECKED.test(result.stdout)) {
    throw new Error(`${args.join(" ")} exited ${result.status}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return elapsed;
}

function cold(label: string, args: readonly string[], targetMs: number): void {
  const run = () => spawnTimed([CLI, "--check", "--quiet", ...args]);
  run(); // warms the file-system cache and the bundle, not the process: every timed run is a new process
  const samples = Array.from({ length: RUNS }, run).sort((a, b) => a - b);
  const middle = median(samples);
  console.log(
    `${label.padEnd(26)} median ${seconds(middle)}  min ${seconds(samples[0] ?? 0)}  max ${seconds(samples.at(-1) ?? 0)}` +
      `  target < ${seconds(targetMs)} ${middle < targetMs ? "met" : "MISSED"}`,
  );
}

/** A row of the breakdown; undefined where it does not apply to the runner. */
type Row = readonly [label: string, value: (plan: StackPlan, runner: PlanRunner) => number | undefined];

const PHASES: readonly Row[] = [
  ["bundle check", (plan, runner) => (runner === "bundle" ? plan.timings.bundle : undefined)],
  ["node + planner modules", (plan) => plan.timings.phases.startup],
  ["program modules", (plan) => plan.timings.phases.programImport],
  ["program run (cdk8s too)", (plan) => plan.timings.phases.programRun],
  ["secretlint", (plan) => plan.timings.phases.secrets],
  ["policy pack", (plan) => plan.timings.phases.policy],
  ["snapshot", (plan) => plan.timings.phases.snapshot],
  ["fork and IPC", (plan) => plan.timings.process - sum(plan.timings.phases)],
  ["stack process in all", (plan) => plan.timings.process],
];

async function breakdown(stacks: readonly string[]): Promise<void> {
  const runners: readonly PlanRunner[] = ["bundle", "tsx"];
  const columns: { label: string; runner: PlanRunner; plans: StackPlan[] }[] = [];
  for (const stack of stacks) {
    for (const runner of runners) {
      const plans: StackPlan[] = [];
      for (let run = 0; run <= RUNS; run += 1) {
        const plan = await planStack(stack, { runner });
        if (run > 0) plans.push(plan); // the first warms the file-system cache
      }
      columns.push({ label: `${stack} ${runner}`, runner, plans });
    }
  }
  const startup = median(Array.from({ length: RUNS }, () => spawnTimed(["--eval", `require(${JSON.stringify(CLI)})`])));
  // Each build into an empty cache of its own: what the first plan after a change pays.
  const scratch = mkdtempSync(path.join(tmpdir(), "paimon-plan-bench-"));
  const builds: number[] = [];
  try {
    for (let run = 0; run < RUNS; run += 1) {
      const cacheDir = path.join(scratch, String(run));
      builds.push((await stackBundle({ programModule: PROGRAM_MODULE, cacheDir })).elapsedMs);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  console.log(`\nwhere a stack's time goes: median of ${RUNS} cold stack processes, in ms`);
  const width = Math.max(...columns.map((column) => column.label.length)) + 2;
  console.log(`${"".padEnd(26)}${columns.map((column) => column.label.padStart(width)).join("")}`);
  for (const [label, value] of PHASES) {
    const cells = columns.map((column) => {
      const figures = column.plans.flatMap((plan) => value(plan, column.runner) ?? []);
      return (figures.length === 0 ? "-" : median(figures).toFixed(0)).padStart(width);
    });
    console.log(`${label.padEnd(26)}${cells.join("")}`);
  }
  console.log(
    `${"pnpm plan's own start-up".padEnd(26)}${startup.toFixed(0).padStart(width)}  (tsx, cli.ts and its modules)`,
  );
  console.log(
    `${"bundle build".padEnd(26)}${median(builds).toFixed(0).padStart(width)}  (once after a change to any input, then cached)`,
  );
}

async function main(): Promise<void> {
  const parsed = parseCommandLine(
    {
      name: "pnpm bench:plan",
      description:
        "Cold-process wall time of `pnpm plan --check` (both stacks, each alone) beside its targets, and where a stack's time goes",
      options: {},
    },
    process.argv.slice(2),
  );
  if ("exit" in parsed) {
    process.exitCode = parsed.exit;
    return;
  }
  const stacks = listStacks();
  // The figures are wall-clock time: a busy machine shows in them, so say how busy it was.
  const [load] = loadavg();
  console.log(
    `pnpm plan --check, cold process, ${process.version}, ${cpus().length} cores, load average ${(load ?? 0).toFixed(1)}`,
  );
  cold("both stacks (in parallel)", [], TARGET_BOTH_MS);
  for (const stack of stacks) cold(`${stack} only`, ["--stack", stack], TARGET_EACH_MS);
  await breakdown(stacks);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
