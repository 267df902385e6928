/**
 * `pnpm plan`: runs the Pulumi program for each stack under the mock runtime — no CLI, no cloud
 * account, no network — prints what each stack would contain, and keeps the reviewed snapshots
 * in infra/plans/ up to date. See README.md, "Reading a plan".
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import type { DiffReport } from "./diff";
import { PlanError } from "./errors";
import { PLANS_DIR, resolveRef, snapshotAt } from "./git";
import { planStacks, type StackPlan } from "./plan";
import { serializeSnapshot } from "./snapshot";
import { REPO_ROOT, listStacks } from "./stacks";
import { summarize } from "./summary";

export interface CliOptions {
  readonly stack?: string;
  readonly check?: boolean;
  readonly diff?: string;
  readonly format: "markdown" | "json" | "sarif";
  readonly quiet?: boolean;
}

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  readonly root: string;
  /** Module exporting `program()`. @default infra/program.ts */
  readonly programModule?: string;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const snapshotPath = (root: string, stack: string) => path.join(root, PLANS_DIR, `${stack}.json`);

function readCommitted(root: string, stack: string): string | undefined {
  try {
    return readFileSync(snapshotPath(root, stack), "utf8");
  } catch {
    return undefined;
  }
}

/** Writes through a temporary file and a rename, so a crash never leaves half a snapshot. */
function writeAtomically(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/** Runs the planner; resolves to the process exit code. */
export async function runPlan(options: CliOptions, io: CliIo): Promise<number> {
  if (options.check && options.diff !== undefined) throw new PlanError("--check and --diff cannot be combined");
  const stacks = options.stack ? [options.stack] : listStacks(io.root);
  if (stacks.length === 0) throw new PlanError("no stacks: add a Pulumi.<stack>.yaml at the repository root");
  // Refuse a bad ref before spending seconds on planning.
  if (options.diff !== undefined) resolveRef(options.diff, io.root);

  const plans: StackPlan[] = await planStacks(stacks, {
    root: io.root,
    ...(io.programModule ? { programModule: io.programModule } : {}),
  });

  const mandatory = plans.flatMap((plan) =>
    plan.violations
      .filter((violation) => violation.enforcement === "mandatory")
      .map((violation) => ({ plan, violation })),
  );
  const refuse = (): number => {
    io.err(
      `plan: ${mandatory.length} mandatory policy violation(s): ${mandatory
        .map(
          ({ plan, violation }) =>
            `${plan.stack}: ${violation.policy} (${violation.name ?? "stack"}: ${violation.message})`,
        )
        .join("; ")}\n`,
    );
    return 1;
  };

  if (options.diff !== undefined) {
    // Loaded only for a diff: a plain or --check run stays lean (the classifier, the price table,
    // the picture and SARIF are most of the planner's own modules).
    const [{ changeGraph }, { diffSnapshots }, { renderJson, renderMarkdown }, { renderSarif, sourceLocator }] =
      await Promise.all([import("./diagram.js"), import("./diff.js"), import("./report.js"), import("./sarif.js")]);
    const base = options.diff;
    const compared = plans.map((plan) => ({ plan, before: snapshotAt(base, plan.stack, io.root) }));
    const report: DiffReport = {
      base,
      stacks: compared.map(({ plan, before }) => {
        const diff = { ...diffSnapshots(before, plan.snapshot), violations: plan.violations };
        return { ...diff, graph: changeGraph(before, plan.snapshot, diff) };
      }),
    };
    // Results point into the program's sources, which live in this repository whatever the stacks' root.
    const locate = () =>
      sourceLocator(
        REPO_ROOT,
        compared.flatMap(({ plan, before }) => [...before.resources, ...plan.snapshot.resources]),
      );
    io.out(
      options.format === "json"
        ? renderJson(report)
        : options.format === "sarif"
          ? renderSarif(report, locate())
          : renderMarkdown(report),
    );
    return mandatory.length > 0 ? refuse() : 0;
  }

  if (options.check) {
    const stale = plans.filter((plan) => readCommitted(io.root, plan.stack) !== serializeSnapshot(plan.snapshot));
    for (const plan of plans) {
      const state = stale.includes(plan)
        ? readCommitted(io.root, plan.stack) === undefined
          ? "missing"
          : "stale"
        : "fresh";
      io.out(`${PLANS_DIR}/${plan.stack}.json: ${state}\n`);
    }
    if (mandatory.length > 0) return refuse();
    if (stale.length > 0) {
      io.err(
        `plan: snapshot of ${stale.map((plan) => plan.stack).join(", ")} is out of date with the program and its config; run \`pnpm plan\` and commit ${PLANS_DIR}/\n`,
      );
      return 1;
    }
    return 0;
  }

  // Every summary is printed, violations included, before a violation stops the run.
  if (!options.quiet)
    for (const plan of plans) io.out(`${summarize(plan.snapshot, plan.elapsedMs, plan.violations)}\n\n`);
  if (mandatory.length > 0) return refuse();
  for (const plan of plans) {
    const text = serializeSnapshot(plan.snapshot);
    const unchanged = readCommitted(io.root, plan.stack) === text;
    if (!unchanged) writeAtomically(snapshotPath(io.root, plan.stack), text);
    io.out(
      `${PLANS_DIR}/${plan.stack}.json: ${unchanged ? "unchanged" : "written"} (${plan.snapshot.resources.length} resources)\n`,
    );
  }
  return 0;
}

export function buildCommand(io: CliIo, done: (code: number) => void): Command {
  return new Command("plan")
    .description("Plan every Pulumi stack offline under the mock runtime, print it, and snapshot it to infra/plans/")
    .option("-s, --stack <name>", "plan only this stack (default: every Pulumi.<stack>.yaml)")
    .option("--check", "write nothing; fail naming each stack whose committed snapshot is stale")
    .option("--diff <git-ref>", "report what changed since the snapshots committed at <git-ref>")
    .addOption(
      new Option("--format <format>", "format of the --diff report (sarif: for GitHub code scanning)")
        .choices(["markdown", "json", "sarif"])
        .default("markdown"),
    )
    .option("-q, --quiet", "print no per-stack summary")
    .argument("[extra...]")
    .showHelpAfterError(false)
    .configureOutput({ writeErr: io.err, writeOut: io.out })
    .action(async (extra: string[], options: CliOptions, command: Command) => {
      if (extra.length > 0) throw new InvalidArgumentError(`unexpected argument "${extra[0]}"`);
      // Only the --diff report has a format: a plain or --check run would ignore it, silently.
      if (options.diff === undefined && command.getOptionValueSource("format") === "cli")
        throw new InvalidArgumentError(
          `--format ${options.format} applies to --diff <git-ref> only: add --diff, or leave --format out`,
        );
      done(await runPlan(options, io));
    });
}

/**
 * The process's own io, rooted at `root`. A reader that stops reading (`pnpm plan | head`) closes
 * stdout, and the next write fails with EPIPE: that ends the printing, not the run. The snapshots
 * are still written, whole and through a rename, as without the pipe — stopping between two stacks
 * would leave one written and the other not — and the exit code is the plan's own (0 when it
 * passed) rather than SIGPIPE's 141, which would fail a `set -o pipefail` script whose plan passed.
 */
export function processIo(root: string): CliIo {
  // stderr too: `pnpm plan 2>&1 | head` closes both, and a write to either must not end the run.
  for (const stream of [process.stdout, process.stderr])
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
    });
  return {
    root,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  };
}

/** `pnpm plan` with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    let code = 0;
    // `pnpm plan -- --stack x` passes a literal `--` through; it means nothing here.
    await buildCommand(io, (exit) => (code = exit)).parseAsync(
      argv.filter((arg) => arg !== "--"),
      { from: "user" },
    );
    return code;
  } catch (error) {
    io.err(`plan: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

if (require.main === module)
  void main(process.argv.slice(2), processIo(REPO_ROOT)).then((code) => {
    process.exitCode = code;
  });
