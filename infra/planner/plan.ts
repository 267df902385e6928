import { fork } from "node:child_process";
import path from "node:path";
import { PlanError } from "./errors";
import type { PolicyViolation } from "./policy";
import type { RunStackRequest, RunStackResult } from "./run-stack";
import type { PlanSnapshot } from "./snapshot";
import { REPO_ROOT, readProjectName, readStackFile } from "./stacks";

/** A program that has not finished by then is hung, not slow: planning a stack takes seconds. */
const STACK_TIMEOUT_MS = 180_000;

export interface StackPlan {
  readonly stack: string;
  readonly snapshot: PlanSnapshot;
  /** What the policy pack found, mandatory first. */
  readonly violations: readonly PolicyViolation[];
  readonly elapsedMs: number;
}

/** The platform's composition root. */
export const PROGRAM_MODULE = path.join(__dirname, "..", "program.ts");

/** Where to find the stacks and which program to run for them. */
export interface PlanSource {
  /** Directory holding Pulumi.yaml and the Pulumi.<stack>.yaml files. @default the repository root */
  readonly root?: string;
  /** Module exporting `program()`. @default infra/program.ts */
  readonly programModule?: string;
}

/** Runs one stack's program in a fresh process (the Pulumi runtime's state is global). */
export function planStack(stack: string, source: PlanSource = {}): Promise<StackPlan> {
  const root = source.root ?? REPO_ROOT;
  const project = readProjectName(root);
  const stackFile = readStackFile(stack, root, project);
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, "run-stack.ts"), [], {
      cwd: REPO_ROOT,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    let settled = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(`the program did not finish within ${STACK_TIMEOUT_MS / 1000} s`);
    }, STACK_TIMEOUT_MS);
    function fail(message: string) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new PlanError(`stack ${stack}: ${message}`));
    }
    child.once("message", (result: RunStackResult) => {
      if (settled) return;
      if (!result.ok) {
        fail(result.error);
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve({ stack, snapshot: result.snapshot, violations: result.violations, elapsedMs: result.elapsedMs });
    });
    child.once("error", (error) => {
      fail(error.message);
    });
    child.once("exit", (code, signal) => {
      const tail = output.trim().split("\n").slice(-5).join(" | ");
      fail(`the planner process exited (${signal ?? `code ${code}`}) before reporting${tail ? `: ${tail}` : ""}`);
    });
    const request: RunStackRequest = { project, stackFile, programModule: source.programModule ?? PROGRAM_MODULE };
    child.send(request);
  });
}

/** Plans the stacks side by side, one process each, and reports them in the order asked. */
export async function planStacks(stacks: readonly string[], source: PlanSource = {}): Promise<StackPlan[]> {
  const settled = await Promise.allSettled(stacks.map((stack) => planStack(stack, source)));
  const failures = settled.flatMap((result) => (result.status === "rejected" ? [result.reason as Error] : []));
  if (failures.length > 0) {
    throw new PlanError(failures.map((failure) => failure.message).join("\n"));
  }
  return settled.map((result) => (result as PromiseFulfilledResult<StackPlan>).value);
}
