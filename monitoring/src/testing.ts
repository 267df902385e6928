import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** Runs a Prometheus tool (promtool, amtool) on files written to a scratch directory. */
export function runTool(
  tool: "promtool" | "amtool",
  files: Readonly<Record<string, string>>,
  args: (directory: string) => readonly string[],
): { ok: boolean; output: string } {
  const directory = mkdtempSync(path.join(tmpdir(), `paimon-${tool}-`));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(directory, name), content);
    try {
      const output = execFileSync(tool, args(directory), {
        cwd: directory,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      return { ok: true, output };
    } catch (error) {
      const failure = error as { stdout?: string; stderr?: string };
      return { ok: false, output: `${failure.stdout ?? ""}${failure.stderr ?? ""}` };
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
