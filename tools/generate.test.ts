import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generate } from "./generate";
import { generatedFiles } from "./outputs";

const root = path.resolve(__dirname, "..");

describe("generated files", () => {
  it.each(generatedFiles().map((file) => [file.path, file.content]))(
    "then %s is committed and fresh",
    (file, content) => {
      let committed: string | undefined;
      try {
        committed = readFileSync(path.join(root, file), "utf8");
      } catch {
        committed = undefined;
      }
      expect(committed, "run `pnpm generate` and commit the result").toBe(content);
    },
  );
});

describe("pnpm generate's command line", () => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(path.join(tmpdir(), "paimon-generate-"));
  });
  afterEach(() => {
    rmSync(scratch, { recursive: true, force: true });
  });
  const run = (argv: readonly string[]) => {
    let out = "";
    let err = "";
    const code = generate(argv, { root: scratch, out: (text) => (out += text), err: (text) => (err += text) });
    return { code, out, err };
  };

  it.each([
    [["--chek"], "unknown option '--chek'"],
    [["check"], "unexpected argument 'check'"],
    [["--check", "dashboards"], "unexpected argument 'dashboards'"],
  ])("when given %j, then it exits 64 naming it, prints the usage, and writes nothing", (argv, problem) => {
    const { code, err } = run(argv);
    expect(code).toBe(64);
    expect(err).toContain(problem);
    expect(err).toContain("usage: pnpm generate [--check]");
    expect(readdirSync(scratch)).toEqual([]);
  });

  it("when asked for --help, then it lists --check and exits 0 having written nothing", () => {
    const { code, out } = run(["--help"]);
    expect(code).toBe(0);
    expect(out).toMatch(/^Usage: pnpm generate \[--check\]/);
    expect(out).toMatch(/--check\s+write nothing; fail naming each stale file/);
    expect(readdirSync(scratch)).toEqual([]);
  });

  it("when pnpm passes `-- --check`, then it checks: it fails naming the stale files and writes nothing", () => {
    const { code, err } = run(["--", "--check"]);
    expect(code).toBe(1);
    expect(err).toMatch(/^generate: stale .*services\/api\/openapi\.json/);
    expect(readdirSync(scratch)).toEqual([]);
  });
});
