/**
 * `pnpm generate` (and `pnpm synth`): writes every generated file — dashboards, rules,
 * Alertmanager configurations, and charts-generated/<stack>/ from the cdk8s charts — from its
 * TypeScript source and the stacks' configuration. `--check` writes nothing and fails
 * naming each file that is stale. (`pnpm plan` keeps infra/plans/ the same way.)
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generatedFiles } from "./outputs";

const root = path.resolve(__dirname, "..");
const check = process.argv.includes("--check");

const read = (file: string) => {
  try {
    return readFileSync(path.join(root, file), "utf8");
  } catch {
    return undefined;
  }
};

const stale: string[] = [];
for (const output of generatedFiles()) {
  if (read(output.path) === output.content) continue;
  stale.push(output.path);
  if (check) continue;
  const target = path.join(root, output.path);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(`${target}.tmp`, output.content);
  renameSync(`${target}.tmp`, target);
  console.log(`written ${output.path}`);
}
if (check && stale.length > 0) {
  console.error(`generate: stale ${stale.join(", ")}; run \`pnpm generate\` and commit them`);
  process.exitCode = 1;
} else if (check) {
  console.log("generated files are fresh");
}
