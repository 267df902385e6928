import { fork } from "node:child_process";
import path from "node:path";
import { stackBundle } from "./bundle";
import { PlanError } from "./errors";
import type { PolicyViolation } from "./policy";
import type { RunStackRequest, RunStackResult, StackPhases } from "./run-stack";
import type { PlanSnapshot } from "./snapshot";
import { REPO_ROOT, readProjectName, readStackFile } from "./stacks";

/** A program that has not finished by then is hung, not slow: planning a stack takes seconds. */
const STACK_TIMEOUT_MS = 180_000;

/** Where planning one stack spent its time, in milliseconds. */
export interface StackTimings {
  /** Checking the bundle against its inputs, or building it after a change; 0 under tsx. */
  readonly bundle: number;
  /** Whether this plan had to build the bundle. */
  readonly bundleBuilt: boolean;
  /** From fork to the result: the child's phases, plus starting the process and sending the result back. */
  readonly process: number;
  /** The child's own account of its time. */
  readonly phases: StackPhases;
}

export interface StackPlan {
  readonly stack: string;
  readonly snapshot: PlanSnapshot;
  /** What the policy pack found, mandatory first. */
  readonly violations: readonly PolicyViolation[];
  /** From the request to the snapshot, in the stack's process. */
  readonly elapsedMs: number;
  readonly timings: StackTimings;
}

/** The platform's composition root. */
export const PROGRAM_MODULE = path.join(__dirname, "..", "program.ts");

/**
 * How a stack's process runs the program: `bundle` loads the prebuilt JavaScript of exactly the
 * program's modules (bundle.ts), `tsx` transpiles the TypeScript as it loads it. The same
 * modules run either way; the bundle only skips the transpiler.
 */
export type PlanRunner = "bundle" | "tsx";

/** Where to find the stacks and which program to run for them. */
export interface PlanSource {
  /** Directory holding Pulumi.yaml and the Pulumi.<stack>.yaml files. @default the repository root */
  readonly root?: string;
  /** Module exporting `program()`. @default infra/program.ts */
  readonly programModule?: string;
  /** @default "bundle" */
  readonly runner?: PlanRunner;
  /** Where bundles are cached. @default node_modules/.cache/paimon-plan at the repository root */
  readonly bundleCacheDir?: string;
}

/** What every stack's process is started from, prepared once per plan. */
interface Launcher {
  readonly entry: string;
  readonly execArgv: readonly string[];
  readonly programModule: string;
  readonly bundleMs: number;
  readonly bundleBuilt: boolean;
}

async function prepare(source: PlanSource): Promise<Launcher> {
  const programModule = source.programModule ?? PROGRAM_MODULE;
  if (source.runner === "tsx") {
    return {
      entry: path.join(__dirname, "stack-process.ts"),
      execArgv: ["--import", "tsx"],
      programModule,
      bundleMs: 0,
      bundleBuilt: false,
    };
  }
  const bundle = await stackBundle({
    programModule,
    ...(source.bundleCacheDir === undefined ? {} : { cacheDir: source.bundleCacheDir }),
  });
  return {
    entry: bundle.file,
    execArgv: [],
    programModule: bundle.programModule,
    bundleMs: bundle.elapsedMs,
    bundleBuilt: bundle.built,
  };
}

/** Each stack's project and configuration, read before anything is built so that a bad file fails first. */
function readRequests(stacks: readonly string[], root: string): Omit<RunStackRequest, "programModule">[] {
  const project = readProjectName(root);
  return stacks.map((stack) => ({ project, stackFile: readStackFile(stack, root, project) }));
}

function runInProcess(
  { project, stackFile }: Omit<RunStackRequest, "programModule">,
  launcher: Launcher,
): Promise<StackPlan> {
  const { stack } = stackFile;
  const forked = performance.now();
  return new Promise((resolve, reject) => {
    const child = fork(launcher.entry, [], {
      cwd: REPO_ROOT,
      execArgv: [...launcher.execArgv],
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
      resolve({
        stack,
        snapshot: result.snapshot,
        violations: result.violations,
        elapsedMs: result.elapsedMs,
        timings: {
          bundle: launcher.bundleMs,
          bundleBuilt: launcher.bundleBuilt,
          process: performance.now() - forked,
          phases: result.phases,
        },
      });
    });
    child.once("error", (error) => {
      fail(error.message);
    });
    child.once("exit", (code, signal) => {
      const tail = output.trim().split("\n").slice(-5).join(" | ");
      fail(`the planner process exited (${signal ?? `code ${code}`}) before reporting${tail ? `: ${tail}` : ""}`);
    });
    const request: RunStackRequest = { project, stackFile, programModule: launcher.programModule };
    child.send(request);
  });
}

/** Runs one stack's program in a fresh process (the Pulumi runtime's state is global). */
export async function planStack(stack: string, source: PlanSource = {}): Promise<StackPlan> {
  const [plan] = await planStacks([stack], source);
  if (!plan) throw new PlanError(`stack ${stack}: not planned`);
  return plan;
}

/** Plans the stacks side by side, one process each, and reports them in the order asked. */
export async function planStacks(stacks: readonly string[], source: PlanSource = {}): Promise<StackPlan[]> {
  const requests = readRequests(stacks, source.root ?? REPO_ROOT);
  const launcher = await prepare(source);
  const settled = await Promise.allSettled(requests.map((request) => runInProcess(request, launcher)));
  const failures = settled.flatMap((result) => (result.status === "rejected" ? [result.reason as Error] : []));
  if (failures.length > 0) {
    throw new PlanError(failures.map((failure) => failure.message).join("\n"));
  }
  return settled.map((result) => (result as PromiseFulfilledResult<StackPlan>).value);
}
