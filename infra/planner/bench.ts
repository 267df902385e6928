/**
 * `pnpm bench:plan`: how long planning takes from a cold process, as an engineer or CI runs it.
 * Prints figures; asserts nothing (speed is never a test).
 */
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "./stacks";

const RUNS = 5;
const CLI = path.join(__dirname, "cli.ts");

function time(args: readonly string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ["--import", "tsx", CLI, "--check", "--quiet", ...args], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(`plan ${args.join(" ")} exited ${result.status}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return elapsed;
}

function report(label: string, args: readonly string[]): void {
  time(args); // warms the file-system cache, not the process: every timed run is a new process
  const samples = Array.from({ length: RUNS }, () => time(args)).sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)] ?? 0;
  const format = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(
    `${label.padEnd(28)} median ${format(median)}  min ${format(samples[0] ?? 0)}  max ${format(samples.at(-1) ?? 0)}  (${RUNS} cold runs)`,
  );
}

console.log(`pnpm plan --check, cold process, ${process.version}, ${cpus().length} cores`);
report("both stacks (in parallel)", []);
report("staging only", ["--stack", "staging"]);
report("production only", ["--stack", "production"]);
