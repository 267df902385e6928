/**
 * The deploy's orchestration against a model of a stack: `pulumi` and `kubectl` answered by a fake
 * runner that keeps the stack's config and outputs (an `up` makes the configured image the one the
 * stack runs), and a smoke test that passes or fails on demand. The real process runner is checked
 * on its own with a real command.
 */
import { describe, expect, it } from "vitest";
import { deploy, imageProblem, main, processRunner, type Runner } from "./deploy";
import type { CheckResult } from "./smoke";

const digest = (hex: string) => `ghcr.io/paimon-fund/paimon@sha256:${hex}`;
const OLD = digest("0f3c9e2a7b4d1e6f8a5c3b2d9e7f1a4c6b8d0e2f4a6c8e0b2d4f6a8c0e2b4d6f");
const NEW = digest("9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9");

interface Stack {
  config?: string | undefined;
  running?: string | undefined;
  calls: string[];
  /** kubectl rollout fails for this deployment. */
  failRollout?: string;
  /** `pulumi up` fails on the n-th call (1-based). */
  failUpAt?: number;
  ups: number;
}

function fakeRunner(stack: Stack): Runner {
  return (command, args, options = {}) => {
    const line = `${command} ${args.join(" ")}`;
    stack.calls.push(options.env?.["KUBECONFIG"] === undefined ? line : `${line} [KUBECONFIG]`);
    const ok = (stdout = "") => Promise.resolve({ code: 0, stdout });
    if (command === "pulumi" && args[0] === "stack" && args[1] === "output") {
      if (stack.running === undefined) return Promise.resolve({ code: 255, stdout: "" });
      const outputs: Record<string, unknown> = {
        workloads: { image: stack.running, namespace: "fund", deployments: ["paimon-api", "paimon-event-listener"] },
        edge: { apiDomain: "api.staging.paimon.fund" },
        kubeconfig: { apiVersion: "v1", kind: "Config" },
      };
      return ok(JSON.stringify(outputs[args[2] ?? ""]));
    }
    if (command === "pulumi" && args[0] === "config" && args[1] === "set") {
      stack.config = args.at(-1);
      return ok();
    }
    if (command === "pulumi" && args[0] === "up") {
      stack.ups += 1;
      if (stack.ups === stack.failUpAt) return Promise.resolve({ code: 1, stdout: "" });
      stack.running = stack.config;
      return ok();
    }
    if (command === "kubectl") {
      return Promise.resolve({ code: args[2] === `deployment/${stack.failRollout ?? ""}` ? 1 : 0, stdout: "" });
    }
    return Promise.resolve({ code: 127, stdout: "" });
  };
}

const smokeThat =
  (ok: boolean) =>
  (baseUrl: string): Promise<CheckResult[]> =>
    Promise.resolve([
      { name: "readiness", url: `${baseUrl}/health/ready`, ok, attempts: 3, ...(ok ? {} : { problem: "got 503" }) },
    ]);

const run = (stack: Stack, smokeOk: boolean) =>
  deploy({ stack: "staging", image: NEW, run: fakeRunner(stack), log: () => undefined, smokeTest: smokeThat(smokeOk) });

describe("a deploy", () => {
  it("when the rollout and the smoke test pass, then the stack runs the new digest, set as config, with the policy pack", async () => {
    const stack: Stack = { running: OLD, config: OLD, calls: [], ups: 0 };
    expect(await run(stack, true)).toEqual({ status: "deployed", image: NEW });
    expect(stack.running).toBe(NEW);
    expect(stack.calls).toEqual([
      "pulumi stack output workloads --stack staging --json",
      `pulumi config set --stack staging --path paimon:workloads.image ${NEW}`,
      "pulumi up --stack staging --yes --non-interactive --diff --policy-pack infra/policy",
      "pulumi stack output workloads --stack staging --json",
      "pulumi stack output edge --stack staging --json",
      "pulumi stack output kubeconfig --stack staging --json --show-secrets",
      "kubectl rollout status deployment/paimon-api --namespace fund --timeout=10m [KUBECONFIG]",
      "kubectl rollout status deployment/paimon-event-listener --namespace fund --timeout=10m [KUBECONFIG]",
    ]);
  });

  it("when the smoke test fails, then the previous digest is set back and deployed, and the run fails", async () => {
    const stack: Stack = { running: OLD, config: OLD, calls: [], ups: 0 };
    expect(await run(stack, false)).toEqual({
      status: "rolled-back",
      image: OLD,
      reason: "smoke test readiness failed: got 503",
    });
    expect(stack.running).toBe(OLD);
    expect(stack.calls.slice(-2)).toEqual([
      `pulumi config set --stack staging --path paimon:workloads.image ${OLD}`,
      "pulumi up --stack staging --yes --non-interactive --diff --policy-pack infra/policy",
    ]);
  });

  it("when a Deployment does not roll out, then the stack is rolled back without waiting for a smoke test", async () => {
    const stack: Stack = { running: OLD, config: OLD, calls: [], ups: 0, failRollout: "paimon-api" };
    let smoked = false;
    const outcome = await deploy({
      stack: "staging",
      image: NEW,
      run: fakeRunner(stack),
      log: () => undefined,
      smokeTest: (url) => {
        smoked = true;
        return smokeThat(true)(url);
      },
    });
    expect(outcome).toEqual({ status: "rolled-back", image: OLD, reason: "deployment/paimon-api did not roll out" });
    expect(smoked).toBe(false);
  });

  it("when the stack ran nothing before, then a failure has nothing to roll back to", async () => {
    const stack: Stack = { calls: [], ups: 0 };
    expect(await run(stack, false)).toEqual({
      status: "failed",
      reason: "smoke test readiness failed: got 503",
      rollback: "nothing to roll back to",
    });
    expect(stack.ups).toBe(1);
  });

  it("when `pulumi up` itself fails, then the run fails at once, leaving Pulumi's own report", async () => {
    const stack: Stack = { running: OLD, config: OLD, calls: [], ups: 0, failUpAt: 1 };
    expect(await run(stack, true)).toEqual({
      status: "failed",
      reason: "pulumi up --stack staging --yes --non-interactive --diff --policy-pack infra/policy exited 1",
    });
    expect(stack.ups).toBe(1);
  });

  it("when the rollback fails too, then the CLI exits 2; a rolled-back deploy exits 1", async () => {
    const stack: Stack = { running: OLD, config: OLD, calls: [], ups: 0, failUpAt: 2 };
    expect(await run(stack, false)).toEqual({
      status: "failed",
      reason: "smoke test readiness failed: got 503",
      rollback: expect.stringContaining("the rollback failed too") as string,
    });
  });

  it("when the image is a tag or a placeholder digest, then nothing runs and the CLI exits 64", async () => {
    expect(imageProblem("ghcr.io/paimon-fund/paimon:0.1.0")).toMatch(/not pinned to a digest/);
    expect(imageProblem(digest("1".repeat(64)))).toMatch(/placeholder/);
    expect(imageProblem(NEW)).toBeUndefined();
    const stack: Stack = { calls: [], ups: 0 };
    const outcome = await deploy({
      stack: "production",
      image: digest("1".repeat(64)),
      run: fakeRunner(stack),
      log: () => undefined,
    });
    expect(outcome.status).toBe("failed");
    expect(stack.calls).toEqual([]);
    const lines: string[] = [];
    expect(
      await main(["--stack", "production", "--image", "ghcr.io/x:latest"], { PATH: "/nonexistent" }, (text) =>
        lines.push(text),
      ),
    ).toBe(64);
    expect(lines.join("")).toContain("is not pinned to a digest");
    expect(await main(["--stack", "production"], {}, () => undefined)).toBe(64);
  });
});

describe("the process runner", () => {
  it("then a command's stdout is returned, its exit code kept, and the extra environment passed", async () => {
    const logged: string[] = [];
    // eslint-disable-next-line no-restricted-properties -- the child needs this machine's PATH
    const runner = processRunner({ PATH: process.env["PATH"] }, (text) => logged.push(text));
    expect(await runner("sh", ["-c", 'printf "%s" "$KUBECONFIG"; exit 3'], { env: { KUBECONFIG: "/k" } })).toEqual({
      code: 3,
      stdout: "/k",
    });
    expect(logged.join("")).toBe("/k");
    expect((await runner("sh", ["-c", "echo quiet"], { quiet: true })).stdout).toBe("quiet\n");
    expect(logged).toHaveLength(1);
  });
});
