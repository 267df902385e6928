/**
 * One stack's deploy, as the pipeline runs it after the image is built:
 *
 * 1. refuse an image that is not pinned to a real digest (a tag moves; a placeholder cannot be
 *    pulled);
 * 2. read the image the stack runs now (`pulumi stack output workloads`), the rollback target;
 * 3. set the new digest as the stack's config (`paimon:workloads.image`) and `pulumi up` with the
 *    policy pack — the migration Job runs before the Deployments roll (their init containers wait
 *    for it), and Pulumi waits for both;
 * 4. wait for every Deployment's rollout (`kubectl rollout status`) with the stack's own kubeconfig;
 * 5. smoke-test the public host (tools/ci/smoke.ts);
 * 6. when 4 or 5 fails and the stack ran an image before, set that image back and `pulumi up`
 *    again, then fail — the run is red and says it rolled back. Migrations are not reversed: they
 *    are additive until the release after (infra/k8s/migrations-chart.ts), so the previous image
 *    runs on the new schema.
 *
 *   tsx tools/ci/deploy.ts --stack staging --image ghcr.io/paimon-fund/paimon@sha256:<digest>
 *
 * `pulumi` and `kubectl` are taken from PATH. Exit codes: 0 deployed and healthy, 1 failed (rolled
 * back where it could), 2 failed and the rollback failed too, 64 bad usage.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArguments } from "./command";
import { Command } from "commander";
import { placeholderDigestOf } from "../../infra/policy/rules/workloads";
import { smoke, type CheckResult } from "./smoke";

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
}

/** Runs a command; its stderr goes to ours, its stdout is returned (and echoed unless `quiet`). */
export type Runner = (
  command: string,
  args: readonly string[],
  options?: { readonly env?: Readonly<Record<string, string>>; readonly quiet?: boolean },
) => Promise<CommandResult>;

export function processRunner(
  baseEnv: Readonly<Record<string, string | undefined>>,
  log: (text: string) => void,
): Runner {
  return (command, args, options = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        env: { ...baseEnv, ...options.env },
        stdio: ["ignore", "pipe", "inherit"],
      });
      const chunks: Buffer[] = [];
      child.stdout.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        if (options.quiet !== true) log(chunk.toString("utf8"));
      });
      child.once("error", reject);
      child.once("close", (code) => {
        resolve({ code: code ?? 1, stdout: Buffer.concat(chunks).toString("utf8") });
      });
    });
}

const DIGEST = /@sha256:[0-9a-f]{64}$/;

/** Why an image cannot be deployed, or undefined when it can. */
export function imageProblem(image: string): string | undefined {
  if (!DIGEST.test(image)) return `${image} is not pinned to a digest (<name>@sha256:<64 hex>)`;
  if (placeholderDigestOf(image) !== undefined) return `${image} has a placeholder digest`;
  return undefined;
}

export interface DeployOptions {
  readonly stack: string;
  readonly image: string;
  readonly run: Runner;
  readonly log: (text: string) => void;
  /** @default the real smoke test of tools/ci/smoke.ts */
  readonly smokeTest?: (baseUrl: string) => Promise<CheckResult[]>;
  /** @default "10m" */
  readonly rolloutTimeout?: string;
}

export type DeployOutcome =
  | { readonly status: "deployed"; readonly image: string }
  | { readonly status: "rolled-back"; readonly image: string; readonly reason: string }
  | { readonly status: "failed"; readonly reason: string; readonly rollback?: string };

interface WorkloadsOutput {
  readonly image: string;
  readonly namespace: string;
  readonly deployments: readonly string[];
}

class StepError extends Error {}

export async function deploy(options: DeployOptions): Promise<DeployOutcome> {
  const { stack, image, run, log } = options;
  const problem = imageProblem(image);
  if (problem !== undefined) return { status: "failed", reason: problem };

  const must = async (command: string, args: readonly string[], extra: Parameters<Runner>[2] = {}) => {
    const result = await run(command, args, extra);
    if (result.code !== 0) throw new StepError(`${command} ${args.join(" ")} exited ${result.code}`);
    return result.stdout;
  };
  const output = async <T>(name: string, secret = false): Promise<T | undefined> => {
    const result = await run(
      "pulumi",
      ["stack", "output", name, "--stack", stack, "--json", ...(secret ? ["--show-secrets"] : [])],
      { quiet: true },
    );
    return result.code === 0 && result.stdout.trim() !== "" ? (JSON.parse(result.stdout) as T) : undefined;
  };
  const up = (target: string) =>
    must("pulumi", ["config", "set", "--stack", stack, "--path", "paimon:workloads.image", target]).then(() =>
      must("pulumi", ["up", "--stack", stack, "--yes", "--non-interactive", "--diff", "--policy-pack", "infra/policy"]),
    );

  const previous = (await output<WorkloadsOutput>("workloads"))?.image;
  log(`deploy: ${stack} runs ${previous ?? "nothing yet"}; deploying ${image}\n`);
  try {
    await up(image);
  } catch (error) {
    // Pulumi stops where it failed and leaves the stack as far as it got; its own output says what.
    return { status: "failed", reason: (error as Error).message };
  }

  const verify = async (): Promise<string | undefined> => {
    const workloads = await output<WorkloadsOutput>("workloads");
    const edge = await output<{ apiDomain: string }>("edge");
    const kubeconfig = await output<unknown>("kubeconfig", true);
    if (!workloads || !edge || kubeconfig === undefined)
      return "the stack's outputs lack workloads, edge or kubeconfig";
    const scratch = mkdtempSync(path.join(tmpdir(), "paimon-deploy-"));
    try {
      const file = path.join(scratch, "kubeconfig");
      writeFileSync(file, typeof kubeconfig === "string" ? kubeconfig : JSON.stringify(kubeconfig), { mode: 0o600 });
      for (const deployment of workloads.deployments) {
        const result = await run(
          "kubectl",
          [
            "rollout",
            "status",
            `deployment/${deployment}`,
            "--namespace",
            workloads.namespace,
            `--timeout=${options.rolloutTimeout ?? "10m"}`,
          ],
          { env: { KUBECONFIG: file } },
        );
        if (result.code !== 0) return `deployment/${deployment} did not roll out`;
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const results = await (options.smokeTest ?? ((baseUrl) => smoke({ baseUrl, deadlineMs: 300_000 })))(
      `https://${edge.apiDomain}`,
    );
    for (const result of results)
      log(`smoke: ${result.name} ${result.ok ? "ok" : `FAILED: ${result.problem ?? "?"}`} (${result.url})\n`);
    const failed = results.find((result) => !result.ok);
    return failed ? `smoke test ${failed.name} failed: ${failed.problem ?? "?"}` : undefined;
  };

  const reason = await verify();
  if (reason === undefined) return { status: "deployed", image };
  log(`deploy: ${reason}\n`);
  if (previous === undefined || previous === image) {
    return { status: "failed", reason, rollback: "nothing to roll back to" };
  }
  log(`deploy: rolling ${stack} back to ${previous}\n`);
  try {
    await up(previous);
  } catch (error) {
    return { status: "failed", reason, rollback: `the rollback failed too: ${(error as Error).message}` };
  }
  return { status: "rolled-back", image: previous, reason };
}

export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  log: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const command = new Command("deploy")
    .description("Deploy an image digest to a stack, verify its rollout and public host, roll back on failure")
    .requiredOption("--stack <name>", "the Pulumi stack (staging, production)")
    .requiredOption("--image <ref>", "the image, by digest: <name>@sha256:<64 hex>")
    .option("--rollout-timeout <duration>", "how long each Deployment may take to roll out", "10m");
  const usage = parseArguments(command, argv);
  if (usage !== undefined) return usage;
  const options = command.opts<{ stack: string; image: string; rolloutTimeout: string }>();
  const outcome = await deploy({
    stack: options.stack,
    image: options.image,
    run: processRunner(env, log),
    log,
    rolloutTimeout: options.rolloutTimeout,
  });
  log(`deploy: ${JSON.stringify(outcome)}\n`);
  if (outcome.status === "deployed") return 0;
  if (outcome.status === "failed" && outcome.rollback?.startsWith("the rollback failed") === true) return 2;
  if (outcome.status === "failed" && imageProblem(options.image) !== undefined) return 64;
  return 1;
}

if (require.main === module) {
  // eslint-disable-next-line no-restricted-properties -- the composition root reads the environment
  void main(process.argv.slice(2), process.env).then((code) => {
    process.exitCode = code;
  });
}
