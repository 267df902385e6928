/**
 * Checks of the GitHub workflows' shape that actionlint does not make: what each job may write,
 * which actions run and at which commit, the job graph from test to production, the deploys'
 * environments and concurrency, the reusable workflow's inputs and the local actions — each check
 * returning one readable problem per mismatch, so a test can feed it a planted counterexample.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

export interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly shell?: string;
  readonly with?: Record<string, unknown>;
}
export interface Job {
  readonly name?: string;
  readonly if?: string;
  readonly needs?: string | readonly string[];
  readonly uses?: string;
  readonly with?: Record<string, unknown>;
  readonly permissions?: Record<string, string> | string;
  readonly environment?: string | { readonly name: string; readonly url?: string };
  readonly concurrency?: string | { readonly group: string; readonly "cancel-in-progress"?: boolean | string };
  readonly services?: Record<string, { readonly image: string }>;
  readonly steps?: readonly Step[];
}
export interface Workflow {
  readonly file: string;
  readonly on: Record<string, unknown>;
  readonly permissions?: Record<string, string> | string;
  readonly jobs: Record<string, Job>;
}
export interface CompositeAction {
  readonly file: string;
  readonly runs: { readonly using: string; readonly steps: readonly Step[] };
}

export function readWorkflows(root: string): Workflow[] {
  const directory = path.join(root, ".github", "workflows");
  return readdirSync(directory)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .map((file) => {
      const text = readFileSync(path.join(directory, file), "utf8");
      return { file: `.github/workflows/${file}`, ...(parse(text) as Omit<Workflow, "file">) };
    });
}

export function readActions(root: string): CompositeAction[] {
  const directory = path.join(root, ".github", "actions");
  if (!existsSync(directory)) return [];
  return readdirSync(directory).map((name) => {
    const file = `.github/actions/${name}/action.yml`;
    return { file, ...(parse(readFileSync(path.join(root, file), "utf8")) as Omit<CompositeAction, "file">) };
  });
}

/** Every step of every job and composite action, with where it is. */
export function allSteps(workflows: readonly Workflow[], actions: readonly CompositeAction[]) {
  return [
    ...workflows.flatMap((workflow) =>
      Object.entries(workflow.jobs).flatMap(([id, job]) =>
        (job.steps ?? []).map((step) => ({ where: `${workflow.file} ${id}`, step })),
      ),
    ),
    ...actions.flatMap((action) => action.runs.steps.map((step) => ({ where: action.file, step }))),
  ];
}

/**
 * Every remote action is pinned to a full commit SHA that is in the verified table, with its
 * version in a comment as the table lists it. `texts` are the files' raw text (comments are lost
 * when parsing).
 */
export function pinProblems(
  texts: Readonly<Record<string, string>>,
  verified: Readonly<Record<string, { readonly sha: string; readonly tag: string }>>,
): string[] {
  return Object.entries(texts).flatMap(([file, text]) =>
    [...text.matchAll(/^\s*-?\s*uses:\s*(\S+)(.*)$/gm)].flatMap(([, reference = "", rest = ""]) => {
      if (reference.startsWith("./")) return [];
      const [action = "", ref = ""] = reference.split("@");
      const pin = verified[action];
      if (!/^[0-9a-f]{40}$/.test(ref)) return [`${file}: ${reference} is not pinned to a commit SHA`];
      if (!pin) return [`${file}: ${action} is not an action whose commits have been verified`];
      if (pin.sha !== ref) return [`${file}: ${action}@${ref} is not the verified commit ${pin.sha} (${pin.tag})`];
      if (!rest.includes(`# ${pin.tag}`)) return [`${file}: ${reference} lacks its version comment "# ${pin.tag}"`];
      return [];
    }),
  );
}

/** What each job may write, beyond `contents: read`; the workflow grants nothing by default. */
export function permissionProblems(
  workflows: readonly Workflow[],
  allowed: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>,
): string[] {
  return workflows.flatMap((workflow) => {
    const problems: string[] = [];
    if (JSON.stringify(workflow.permissions) !== "{}")
      problems.push(`${workflow.file}: the workflow's default permissions must be {} (each job asks for its own)`);
    for (const [id, job] of Object.entries(workflow.jobs)) {
      const permissions = job.permissions;
      if (permissions === undefined || typeof permissions === "string") {
        problems.push(`${workflow.file} ${id}: declares no permissions of its own (${String(permissions)})`);
        continue;
      }
      const writes = Object.entries(permissions)
        .filter(([scope, level]) => level !== "read" && !(scope === "contents" && level === "none"))
        .map(([scope]) => scope)
        .sort();
      const may = [...(allowed[workflow.file]?.[id] ?? [])].sort();
      const extra = writes.filter((scope) => !may.includes(scope));
      if (extra.length > 0) problems.push(`${workflow.file} ${id}: may write ${extra.join(", ")}, which it need not`);
    }
    return problems;
  });
}

const needsOf = (job: Job) => (job.needs === undefined ? [] : typeof job.needs === "string" ? [job.needs] : job.needs);

/** Every job another depends on, transitively. */
export function ancestors(jobs: Readonly<Record<string, Job>>, id: string): Set<string> {
  const seen = new Set<string>();
  const visit = (current: string) => {
    for (const parent of needsOf(jobs[current] ?? {})) {
      if (!seen.has(parent)) {
        seen.add(parent);
        visit(parent);
      }
    }
  };
  visit(id);
  return seen;
}

/** The spec's order: test → build → deploy-staging → deploy-production, each needing the one before. */
export function graphProblems(workflow: Workflow, order: readonly string[]): string[] {
  const problems: string[] = [];
  order.forEach((id, index) => {
    if (!(id in workflow.jobs)) {
      problems.push(`${workflow.file}: no job ${id}`);
      return;
    }
    const before = order.slice(0, index);
    const missing = before.filter((earlier) => !ancestors(workflow.jobs, id).has(earlier));
    if (missing.length > 0) problems.push(`${workflow.file} ${id}: does not wait for ${missing.join(", ")}`);
  });
  for (const [id, job] of Object.entries(workflow.jobs))
    for (const parent of needsOf(job))
      if (!(parent in workflow.jobs)) problems.push(`${workflow.file} ${id}: needs ${parent}, which is no job`);
  return problems;
}

/**
 * Every call of a local reusable workflow passes each input it requires and no other, and every
 * local action or workflow it names exists.
 */
export function callProblems(root: string, workflows: readonly Workflow[], actions: readonly CompositeAction[]) {
  const problems: string[] = [];
  for (const workflow of workflows) {
    for (const [id, job] of Object.entries(workflow.jobs)) {
      if (job.uses === undefined) continue;
      if (!job.uses.startsWith("./")) {
        problems.push(`${workflow.file} ${id}: calls ${job.uses}, a workflow outside the repository`);
        continue;
      }
      const called = workflows.find((candidate) => `./${candidate.file}` === job.uses);
      if (!called) {
        problems.push(`${workflow.file} ${id}: calls ${job.uses}, which does not exist`);
        continue;
      }
      const declared = ((called.on["workflow_call"] as { inputs?: Record<string, { required?: boolean }> } | null)
        ?.inputs ?? {}) as Record<string, { required?: boolean }>;
      const given = Object.keys(job.with ?? {});
      for (const name of given)
        if (!(name in declared))
          problems.push(`${workflow.file} ${id}: passes ${name}, which ${job.uses} does not take`);
      for (const [name, input] of Object.entries(declared))
        if (input.required === true && !given.includes(name))
          problems.push(`${workflow.file} ${id}: does not pass ${name}, which ${job.uses} requires`);
    }
  }
  for (const { where, step } of allSteps(workflows, actions)) {
    if (step.uses?.startsWith("./") === true && !existsSync(path.join(root, step.uses, "action.yml")))
      problems.push(`${where}: uses ${step.uses}, which has no action.yml`);
  }
  return problems;
}

/** The tools/ci scripts the steps run; each must exist and have its own test beside it. */
export function scriptProblems(root: string, workflows: readonly Workflow[], actions: readonly CompositeAction[]) {
  const scripts = new Set(
    allSteps(workflows, actions).flatMap(({ step }) =>
      [...(step.run ?? "").matchAll(/tools\/ci\/[\w-]+\.ts/g)].map(([file]) => file),
    ),
  );
  return [...scripts].flatMap((script) => {
    if (!existsSync(path.join(root, script))) return [`a step runs ${script}, which does not exist`];
    if (!existsSync(path.join(root, script.replace(/\.ts$/, ".test.ts")))) return [`${script} has no test of its own`];
    return [];
  });
}

/** Each `run:` block as the shell script a runner would execute, its expressions replaced by a variable. */
export function runScripts(workflows: readonly Workflow[], actions: readonly CompositeAction[]) {
  return allSteps(workflows, actions)
    .filter(({ step }) => step.run !== undefined)
    .map(({ where, step }) => ({
      where: `${where} "${step.name ?? step.run?.split("\n")[0] ?? ""}"`,
      script: `#!/usr/bin/env bash\n${(step.run ?? "").replace(/\$\{\{[^}]*\}\}/g, "$EXPRESSION")}\n`,
    }));
}
