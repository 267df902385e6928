/**
 * The planner's child process: runs the Pulumi program for one stack under the mock runtime and
 * sends the snapshot (or a one-line error) back over IPC. One stack per process, because the
 * Pulumi runtime keeps its state in globals. Started either as the prebuilt bundle (bundle.ts)
 * or as TypeScript under tsx (stack-process.ts); both serve through `serveStack`.
 */
import { stackTarget } from "../config";
import { policies } from "../policy/policies";
import { evaluatePolicies, type PolicyViolation } from "./policy";
import { recordStack } from "./record";
import { findSecretLiterals, literalViolation } from "./secrets";
import { toSnapshot, type PlanSnapshot } from "./snapshot";
import type { StackFile } from "./stacks";

export interface RunStackRequest {
  readonly project: string;
  readonly stackFile: StackFile;
  /** Module whose `program` export is run; the platform's composition root unless a test says otherwise. */
  readonly programModule: string;
}

/** Where a stack's process spent its time, in milliseconds, in the order it spent it. */
export interface StackPhases {
  /** Process start until the request is read: Node itself and the planner's modules (Pulumi, the policy pack). */
  readonly startup: number;
  /** Importing the program: its components, the provider SDKs, cdk8s. */
  readonly programImport: number;
  /** Running the program under the mocks, cdk8s synthesis included. */
  readonly programRun: number;
  /** secretlint over every recorded input. */
  readonly secrets: number;
  /** The policy pack over every resource. */
  readonly policy: number;
  /** Normalising and fingerprinting into the snapshot. */
  readonly snapshot: number;
}

export type RunStackResult =
  | {
      readonly ok: true;
      readonly snapshot: PlanSnapshot;
      readonly violations: readonly PolicyViolation[];
      /** From the request to the snapshot: what planning the stack took, process start aside. */
      readonly elapsedMs: number;
      readonly phases: StackPhases;
    }
  | { readonly ok: false; readonly error: string };

/** Loads the module that exports `program()`. */
export type ProgramLoader = (programModule: string) => Promise<{ readonly program: () => Promise<unknown> }>;

export async function runStack(request: RunStackRequest, loadProgram: ProgramLoader): Promise<RunStackResult> {
  // Milliseconds since this process started: what Node and the planner's own modules took.
  const started = performance.now();
  let mark = started;
  const lap = () => {
    const now = performance.now();
    const spent = now - mark;
    mark = now;
    return spent;
  };
  const { config, secretKeys, stack } = request.stackFile;
  try {
    const target = stackTarget(config);
    const { program } = await loadProgram(request.programModule);
    const programImport = lap();
    const recorded = await recordStack({
      project: request.project,
      stack,
      config,
      secretKeys,
      // The mocks answer for the configured account and region, as AWS would for them.
      environment: { region: target.region ?? "us-east-1", accountId: target.awsAccountId ?? "000000000000" },
      program,
    });
    const programRun = lap();
    // Held to production's bar unless the stack says it is staging.
    const environment = target.environment === "staging" ? "staging" : "production";
    // A secret typed into the program is masked before anything is written, and refused.
    const literals = await findSecretLiterals(recorded);
    const secrets = lap();
    const violations = [
      ...literals.map(literalViolation),
      ...evaluatePolicies(policies, recorded.resources, { environment }),
    ];
    const policy = lap();
    const snapshot = toSnapshot(request.project, stack, recorded, { redact: literals, violations });
    return {
      ok: true,
      snapshot,
      violations,
      elapsedMs: performance.now() - started,
      phases: { startup: started, programImport, programRun, secrets, policy, snapshot: lap() },
    };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** Answers the one request the parent sends, then exits. */
export function serveStack(loadProgram: ProgramLoader): void {
  process.once("message", (request: RunStackRequest) => {
    void runStack(request, loadProgram).then((result) => {
      process.send?.(result, () => process.exit(0));
    });
  });
}
