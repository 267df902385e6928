import { execFileSync } from "node:child_process";
import { PlanError } from "./errors";
import { parseSnapshot, type PlanSnapshot } from "./snapshot";
import { REPO_ROOT } from "./stacks";

/** Where the committed snapshots live, relative to the repository root. */
export const PLANS_DIR = "infra/plans";

function git(args: readonly string[], root: string): string {
  return execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Resolves a ref to a commit, or fails with a one-line message naming it. */
export function resolveRef(ref: string, root = REPO_ROOT): string {
  if (ref.startsWith("-")) throw new PlanError(`"${ref}" is not a git ref`);
  try {
    return git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], root).trim();
  } catch {
    throw new PlanError(`unknown git ref "${ref}": give a branch, tag or commit (e.g. origin/main)`);
  }
}

/** A stack's snapshot as committed at `ref`. */
export function snapshotAt(ref: string, stack: string, root = REPO_ROOT): PlanSnapshot {
  const commit = resolveRef(ref, root);
  const file = `${PLANS_DIR}/${stack}.json`;
  let text: string;
  try {
    text = git(["show", `${commit}:./${file}`], root);
  } catch {
    throw new PlanError(`${ref} has no ${file}: that commit predates the stack's snapshot; diff against a later ref`);
  }
  try {
    return parseSnapshot(text, `${ref}:${file}`);
  } catch (error) {
    throw new PlanError((error as Error).message);
  }
}
