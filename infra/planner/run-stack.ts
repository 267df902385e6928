/**
 * Child-process entry of the planner: runs the Pulumi program for one stack under the mock
 * runtime and sends the snapshot (or a one-line error) back over IPC. One stack per process,
 * because the Pulumi runtime keeps its state in globals.
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

export type RunStackResult =
  | {
      readonly ok: true;
      readonly snapshot: PlanSnapshot;
      readonly violations: readonly PolicyViolation[];
      readonly elapsedMs: number;
    }
  | { readonly ok: false; readonly error: string };

async function run(request: RunStackRequest): Promise<RunStackResult> {
  const started = performance.now();
  const { config, secretKeys, stack } = request.stackFile;
  const target = stackTarget(config);
  try {
    const { program } = (await import(request.programModule)) as { program: () => Promise<unknown> };
    const recorded = await recordStack({
      project: request.project,
      stack,
      config,
      secretKeys,
      // The mocks answer for the configured account and region, as AWS would for them.
      environment: { region: target.region ?? "us-east-1", accountId: target.awsAccountId ?? "000000000000" },
      program,
    });
    // Held to production's bar unless the stack says it is staging.
    const environment = target.environment === "staging" ? "staging" : "production";
    // A secret typed into the program is masked before anything is written, and refused.
    const literals = await findSecretLiterals(recorded);
    const violations = [
      ...literals.map(literalViolation),
      ...evaluatePolicies(policies, recorded.resources, { environment }),
    ];
    return {
      ok: true,
      snapshot: toSnapshot(request.project, stack, recorded, { redact: literals, violations }),
      violations,
      elapsedMs: performance.now() - started,
    };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

process.once("message", (request: RunStackRequest) => {
  void run(request).then((result) => {
    process.send?.(result, () => process.exit(0));
  });
});
