import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT, listStacks } from "../planner/stacks";
import type { CliIo } from "../planner/cli";

/** A scratch copy of the project's Pulumi files, for tests that edit or break them. */
export interface TempRoot {
  readonly root: string;
  read(file: string): string;
  write(file: string, text: string): void;
  /** Replaces `from` with `to` in `file`, failing if `from` is absent. */
  edit(file: string, from: string | RegExp, to: string): void;
  /** `git init` and commit everything, so that `--diff HEAD` has a base. */
  commit(message: string): void;
  remove(): void;
}

export function createTempRoot(): TempRoot {
  const root = mkdtempSync(path.join(tmpdir(), "paimon-plan-"));
  for (const file of ["Pulumi.yaml", ...listStacks().map((stack) => `Pulumi.${stack}.yaml`)]) {
    copyFileSync(path.join(REPO_ROOT, file), path.join(root, file));
  }
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", root, "-c", "user.name=test", "-c", "user.email=test@paimon.invalid", ...args], {
      stdio: "ignore",
    });
  let initialised = false;
  return {
    root,
    read: (file) => readFileSync(path.join(root, file), "utf8"),
    write: (file, text) => {
      writeFileSync(path.join(root, file), text);
    },
    edit(file, from, to) {
      const text = readFileSync(path.join(root, file), "utf8");
      const next = text.replace(from, to);
      if (next === text) throw new Error(`${file} does not contain ${String(from)}`);
      writeFileSync(path.join(root, file), next);
    },
    commit(message) {
      if (!initialised) git("init", "--quiet", "--initial-branch=main");
      initialised = true;
      git("add", "-A");
      git("commit", "--quiet", "--allow-empty", "-m", message);
    },
    remove: () => {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A CLI io that collects what the planner prints. */
export function captureIo(
  root: string,
  programModule?: string,
): CliIo & { stdout: () => string; stderr: () => string } {
  let out = "";
  let err = "";
  return {
    root,
    ...(programModule ? { programModule } : {}),
    out: (text) => (out += text),
    err: (text) => (err += text),
    stdout: () => out,
    stderr: () => err,
  };
}
