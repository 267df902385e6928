/**
 * The GitHub workflows, checked offline: actionlint (a glob that matches nothing fails), shellcheck
 * on every `run:` block, and their shape — triggers, the job graph, permissions, pinned commits,
 * the deploys' environments and concurrency, the reusable workflow's inputs, the scripts they run.
 * Every check is fed a planted counterexample too.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  callProblems,
  graphProblems,
  permissionProblems,
  pinProblems,
  readActions,
  readWorkflows,
  runScripts,
  scriptProblems,
  type Workflow,
} from "./workflows";

const ROOT = path.resolve(__dirname, "..", "..");
const ACTIONLINT = path.join(ROOT, "node_modules", "@tktco", "node-actionlint", "bin", "node-actionlint.js");

/**
 * The actions' release commits, each read from the action's own repository (the commit its release
 * tag points to, annotated tags peeled). Moving to another release means verifying its commit the
 * same way and changing it here.
 */
const VERIFIED: Readonly<Record<string, { sha: string; tag: string }>> = {
  "actions/checkout": { sha: "3d3c42e5aac5ba805825da76410c181273ba90b1", tag: "v7.0.1" },
  "actions/setup-node": { sha: "820762786026740c76f36085b0efc47a31fe5020", tag: "v7.0.0" },
  "actions/cache": { sha: "27d5ce7f107fe9357f9df03efb73ab90386fccae", tag: "v5.0.5" },
  "actions/upload-artifact": { sha: "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", tag: "v7.0.0" },
  "docker/setup-buildx-action": { sha: "37fe631027851001ddb9b187196cc803df7f5f0e", tag: "v4.3.0" },
  "docker/setup-qemu-action": { sha: "96fe6ef7f33517b61c61be40b68a1882f3264fb8", tag: "v4.2.0" },
  "docker/login-action": { sha: "4907a6ddec9925e35a0a9e82d7399ccc52663121", tag: "v4.1.0" },
  "docker/metadata-action": { sha: "dc802804100637a589fabce1cb79ff13a1411302", tag: "v6.2.0" },
  "docker/build-push-action": { sha: "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", tag: "v7.3.0" },
  "aws-actions/configure-aws-credentials": { sha: "e6de054238d6b7531b4efff3b6587d9aade6a06c", tag: "v6.2.3" },
  "pulumi/actions": { sha: "8e5e406f4007fca908480587cb9893c07090f58d", tag: "v7.0.0" },
  "actions/attest-build-provenance": { sha: "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32", tag: "v4.1.0" },
  // Its old tags were force-pushed to malicious commits (March 2026): only ever this commit.
  "aquasecurity/trivy-action": { sha: "ed142fd0673e97e23eac54620cfb913e5ce36c25", tag: "v0.36.0" },
  "Azure/setup-kubectl": { sha: "829323503d1be3d00ca8346e5391ca0b07a9ab0d", tag: "v5.1.0" },
  "step-security/harden-runner": { sha: "b09bb98e06d4d774595224525879c09bc6e98c40", tag: "v2.20.1" },
};

/** What each job may write (beyond reading the repository). */
const ALLOWED_WRITES = {
  ".github/workflows/pipeline.yml": {
    plan: ["pull-requests"],
    preview: ["id-token"],
    build: ["attestations", "id-token", "packages"],
    "deploy-staging": ["id-token"],
    "deploy-production": ["id-token"],
  },
  ".github/workflows/deploy.yml": { deploy: ["id-token"] },
};

const workflows = readWorkflows(ROOT);
const actions = readActions(ROOT);
const pipeline = () => {
  const found = workflows.find((workflow) => workflow.file === ".github/workflows/pipeline.yml");
  if (!found) throw new Error("no pipeline.yml");
  return found;
};
const deployWorkflow = () => {
  const found = workflows.find((workflow) => workflow.file === ".github/workflows/deploy.yml");
  if (!found) throw new Error("no deploy.yml");
  return found;
};
const texts = () =>
  Object.fromEntries(
    [...workflows.map((workflow) => workflow.file), ...actions.map((action) => action.file)].map((file) => [
      file,
      readFileSync(path.join(ROOT, file), "utf8"),
    ]),
  );
/** A copy of a workflow with `change` applied. */
const changed = (workflow: Workflow, change: (copy: { -readonly [K in keyof Workflow]: Workflow[K] }) => void) => {
  const copy = structuredClone(workflow) as { -readonly [K in keyof Workflow]: Workflow[K] };
  change(copy);
  return copy;
};

function actionlint(cwd: string) {
  return spawnSync(process.execPath, [ACTIONLINT, ".github/workflows/*.yml"], { cwd, encoding: "utf8" });
}

describe("actionlint and shellcheck", () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), "paimon-workflows-"));
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it("then actionlint passes every workflow, and it lints something", () => {
    expect(workflows.map((workflow) => workflow.file)).toEqual([
      ".github/workflows/deploy.yml",
      ".github/workflows/pipeline.yml",
    ]);
    const result = actionlint(ROOT);
    expect(result.stdout).toContain(`Checking ${workflows.length} workflow file(s)`);
    expect(result.stdout + result.stderr).toContain("All workflow files passed");
    expect(result.status).toBe(0);
  });

  it("when a workflow has an unknown key or context, then actionlint fails; when the glob matches nothing, then this check does", () => {
    cpSync(path.join(ROOT, ".github"), path.join(scratch, ".github"), { recursive: true });
    const file = path.join(scratch, ".github", "workflows", "pipeline.yml");
    writeFileSync(
      file,
      readFileSync(file, "utf8")
        .replace("timeout-minutes: 15", "timeout-minutes: 15\n    continue-on-errorr: true")
        .replace("${{ github.base_ref }}", "${{ githubb.base_ref }}"),
    );
    const result = actionlint(scratch);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('unexpected key "continue-on-errorr"');
    expect(result.stdout).toContain('undefined variable "githubb"');
    // node-actionlint passes an empty glob: the check above insists on the files and their count.
    const none = actionlint(mkdtempSync(path.join(scratch, "empty-")));
    expect([none.status, none.stdout.trim()]).toEqual([0, "No workflow files found to lint"]);
  });

  it("then every run block passes shellcheck, and shellcheck does catch a bad one", () => {
    const scripts = runScripts(workflows, actions);
    expect(scripts.length).toBeGreaterThan(5);
    const check = (script: string) =>
      spawnSync("shellcheck", ["--shell=bash", "--severity=style", "-"], { input: script, encoding: "utf8" });
    for (const { where, script } of scripts) {
      const result = check(script);
      expect(result.stdout, where).toBe("");
      expect(result.status, where).toBe(0);
    }
    expect(check("#!/usr/bin/env bash\necho $UNQUOTED\n").status).toBe(1);
  });
});

describe("the pipeline's shape", () => {
  it("then it runs on pull requests and on pushes to main, and the test job runs the README's test command with PostgreSQL 15 and Redis 7", () => {
    expect(Object.keys(pipeline().on).sort()).toEqual(["pull_request", "push"]);
    expect(pipeline().on["push"]).toEqual({ branches: ["main"] });
    const test = pipeline().jobs["test"];
    expect(Object.values(test?.services ?? {}).map((service) => service.image)).toEqual(["postgres:15", "redis:7"]);
    expect(test?.steps?.map((step) => step.run).filter((run) => run?.startsWith("pnpm test"))).toEqual(["pnpm test"]);
    expect(test?.steps?.some((step) => step.uses === "./.github/actions/setup")).toBe(true);
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    expect(readme).toContain("```sh\npnpm test\n```");
  });

  it("then test → build → deploy-staging → deploy-production, build and deploys only on main, the plan only on pull requests", () => {
    expect(graphProblems(pipeline(), ["test", "build", "deploy-staging", "deploy-production"])).toEqual([]);
    expect(pipeline().jobs["build"]?.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(pipeline().jobs["plan"]?.if).toBe("github.event_name == 'pull_request'");
    expect(pipeline().jobs["preview"]?.if).toContain("vars.AWS_PREVIEW_ROLE_ARN != ''");
  });

  it("when production does not wait for staging, or a job needs one that is not there, then the graph check says so", () => {
    const skipping = changed(pipeline(), (copy) => {
      copy.jobs = { ...copy.jobs, "deploy-production": { ...copy.jobs["deploy-production"], needs: ["build"] } };
    });
    expect(graphProblems(skipping, ["test", "build", "deploy-staging", "deploy-production"])).toEqual([
      ".github/workflows/pipeline.yml deploy-production: does not wait for deploy-staging",
    ]);
    const dangling = changed(pipeline(), (copy) => {
      copy.jobs = { ...copy.jobs, build: { ...copy.jobs["build"], needs: "lint" } };
    });
    expect(graphProblems(dangling, ["test", "build"])).toEqual([
      ".github/workflows/pipeline.yml build: does not wait for test",
      ".github/workflows/pipeline.yml build: needs lint, which is no job",
    ]);
  });

  it("then both deploys go through the one deploy workflow with the build's digest, in the environment named after the stack, never overlapping", () => {
    for (const [id, stack] of [
      ["deploy-staging", "staging"],
      ["deploy-production", "production"],
    ] as const) {
      const job = pipeline().jobs[id];
      expect(job?.uses).toBe("./.github/workflows/deploy.yml");
      expect(job?.with).toMatchObject({ stack, image: "${{ needs.build.outputs.image }}" });
    }
    const deploy = deployWorkflow().jobs["deploy"];
    expect(deploy?.environment).toEqual({ name: "${{ inputs.stack }}", url: "${{ inputs.url }}" });
    expect(deploy?.concurrency).toEqual({ group: "deploy-${{ inputs.stack }}", "cancel-in-progress": false });
    expect(deploy?.steps?.at(-1)?.run).toBe('pnpm exec tsx tools/ci/deploy.ts --stack "$STACK" --image "$IMAGE"');
    // The image deploys use is the pushed digest, never a tag.
    expect(
      pipeline().jobs["build"]?.steps?.find((step) => step.name?.startsWith("The image by digest"))?.run,
    ).toContain("@${DIGEST}");
  });

  it("then the build is multi-arch with provenance and an SBOM, scanned for critical vulnerabilities, and attested", () => {
    const steps = pipeline().jobs["build"]?.steps ?? [];
    const uses = (name: string) => steps.find((step) => step.uses?.startsWith(`${name}@`) === true);
    expect(uses("docker/build-push-action")?.with).toMatchObject({
      platforms: "linux/amd64,linux/arm64",
      push: true,
      provenance: "mode=max",
      sbom: true,
    });
    expect(uses("aquasecurity/trivy-action")?.with).toMatchObject({ severity: "CRITICAL", "exit-code": "1" });
    expect(uses("actions/attest-build-provenance")?.with).toMatchObject({ "push-to-registry": true });
  });

  it("then a call passes exactly the inputs the deploy workflow takes, and every local action exists; a misspelt input is caught", () => {
    expect(callProblems(ROOT, workflows, actions)).toEqual([]);
    const misspelt = changed(pipeline(), (copy) => {
      copy.jobs = {
        ...copy.jobs,
        "deploy-staging": { ...copy.jobs["deploy-staging"], with: { stak: "staging", image: "x", url: "u" } },
      };
    });
    expect(callProblems(ROOT, [misspelt, deployWorkflow()], actions)).toEqual([
      ".github/workflows/pipeline.yml deploy-staging: passes stak, which ./.github/workflows/deploy.yml does not take",
      ".github/workflows/pipeline.yml deploy-staging: does not pass stack, which ./.github/workflows/deploy.yml requires",
    ]);
  });

  it("then every script a step runs is in tools/ci with its own test", () => {
    expect(scriptProblems(ROOT, workflows, actions)).toEqual([]);
    const planted = changed(pipeline(), (copy) => {
      copy.jobs = { ...copy.jobs, extra: { steps: [{ run: "pnpm exec tsx tools/ci/notify.ts" }] } };
    });
    expect(scriptProblems(ROOT, [planted], [])).toEqual(["a step runs tools/ci/notify.ts, which does not exist"]);
  });
});

describe("hygiene", () => {
  it("then nothing is granted by default, and each job writes only what it must", () => {
    expect(permissionProblems(workflows, ALLOWED_WRITES)).toEqual([]);
  });

  it("when a job may write more, or the workflow grants write-all, then it is reported", () => {
    const greedy = changed(pipeline(), (copy) => {
      copy.permissions = "write-all";
      copy.jobs = { ...copy.jobs, test: { ...copy.jobs["test"], permissions: { contents: "write" } } };
    });
    expect(permissionProblems([greedy], ALLOWED_WRITES)).toEqual([
      ".github/workflows/pipeline.yml: the workflow's default permissions must be {} (each job asks for its own)",
      ".github/workflows/pipeline.yml test: may write contents, which it need not",
    ]);
  });

  it("then every action is pinned to its verified commit with its version beside it", () => {
    expect(pinProblems(texts(), VERIFIED)).toEqual([]);
    const planted = {
      "a.yml": [
        "      - uses: actions/checkout@v7",
        "      - uses: actions/checkout@0000000000000000000000000000000000000000 # v7.0.1",
        "      - uses: some/action@3d3c42e5aac5ba805825da76410c181273ba90b1 # v1",
        "      - uses: actions/setup-node@820762786026740c76f36085b0efc47a31fe5020",
        "      - uses: ./.github/actions/setup",
      ].join("\n"),
    };
    expect(pinProblems(planted, VERIFIED)).toEqual([
      "a.yml: actions/checkout@v7 is not pinned to a commit SHA",
      "a.yml: actions/checkout@0000000000000000000000000000000000000000 is not the verified commit 3d3c42e5aac5ba805825da76410c181273ba90b1 (v7.0.1)",
      "a.yml: some/action is not an action whose commits have been verified",
      'a.yml: actions/setup-node@820762786026740c76f36085b0efc47a31fe5020 lacks its version comment "# v7.0.0"',
    ]);
  });

  it("then the setup action's Node is the image's, and the store is cached by the lockfile", () => {
    const setup = actions.find((action) => action.file === ".github/actions/setup/action.yml");
    const node = setup?.runs.steps.find((step) => step.uses?.startsWith("actions/setup-node@") === true);
    const dockerfile = readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
    expect(`node:${String(node?.with?.["node-version"])}-bookworm-slim`).toBe(
      /ARG NODE_IMAGE=(\S+)/.exec(dockerfile)?.[1],
    );
    const cache = setup?.runs.steps.find((step) => step.uses?.startsWith("actions/cache@") === true);
    expect(String(cache?.with?.["key"])).toContain("hashFiles('pnpm-lock.yaml')");
    expect(setup?.runs.steps.at(-1)?.run).toBe("pnpm install --frozen-lockfile");
  });

  it("then Dependabot keeps the actions and the npm packages current", () => {
    const config = parse(readFileSync(path.join(ROOT, ".github", "dependabot.yml"), "utf8")) as {
      updates: { "package-ecosystem": string }[];
    };
    expect(config.updates.map((update) => update["package-ecosystem"]).sort()).toEqual(["github-actions", "npm"]);
  });
});
