/**
 * `pnpm generate` (and `pnpm synth`): writes every generated file — dashboards, rules,
 * Alertmanager configurations, and charts-generated/<stack>/ from the cdk8s charts — from its
 * TypeScript source and the stacks' configuration. `--check` writes nothing and fails
 * naming each file that is stale. (`pnpm plan` keeps infra/plans/ the same way.)
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseCommandLine, type CommandLineOutput } from "./command-line";
import { generatedFiles } from "./outputs";

/** Where `generate` writes; tests pass their own. */
export interface GenerateIo extends CommandLineOutput {
  readonly root: string;
}

/** Runs `pnpm generate` with `argv` (without node and the script); resolves to the exit code. */
export function generate(argv: readonly string[], io: GenerateIo): number {
  const parsed = parseCommandLine(
    {
      name: "pnpm generate",
      description:
        "Write every generated file (dashboards, rules, Alertmanager configurations, charts-generated/<stack>/, the OpenAPI document, the contract's bindings) from its source; `pnpm synth` is the same command",
      options: { check: { description: "write nothing; fail naming each stale file" } },
    },
    argv,
    io,
  );
  // Refused before anything is generated: a mistyped `--check` in CI must not rewrite the tree and pass.
  if ("exit" in parsed) return parsed.exit;
  const { check } = parsed.values;

  const read = (file: string) => {
    try {
      return readFileSync(path.join(io.root, file), "utf8");
    } catch {
      return undefined;
    }
  };
  const stale: string[] = [];
  for (const output of generatedFiles()) {
    if (read(output.path) === output.content) continue;
    stale.push(output.path);
    if (check) continue;
    const target = path.join(io.root, output.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(`${target}.tmp`, output.content);
    renameSync(`${target}.tmp`, target);
    io.out(`written ${output.path}\n`);
  }
  if (check && stale.length > 0) {
    io.err(`generate: stale ${stale.join(", ")}; run \`pnpm generate\` and commit them\n`);
    return 1;
  }
  if (check) io.out("generated files are fresh\n");
  return 0;
}

if (require.main === module) {
  process.exitCode = generate(process.argv.slice(2), {
    root: path.resolve(__dirname, ".."),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
}
