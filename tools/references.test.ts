/**
 * Nothing in the repository points outside it: no path into a folder beside the checkout, and
 * every section of the operations spec a file cites (`§7.1`) is a heading of the repository's own
 * docs/operations-requirements.md.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
const REQUIREMENTS = "docs/operations-requirements.md";

const tracked = () =>
  execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter((file) => /\.(ts|mts|mjs|cjs|md|ya?ml|json|sh|sol)$|(^|\/)(Dockerfile|run)$/.test(file))
    .filter((file) => !file.startsWith("infra/plans/") && file !== "pnpm-lock.yaml");

/** The `§` sections a text cites. */
export const citedSections = (text: string): string[] =>
  [...text.matchAll(/§\s?(\d+(?:\.\d+)?)/g)].map((match) => match[1] ?? "");

/** The sections a requirements page defines, by its `§N` headings. */
export const definedSections = (page: string): Set<string> =>
  new Set([...page.matchAll(/^#{2,3} §(\d+(?:\.\d+)?)\s/gm)].map((match) => match[1] ?? ""));

describe("references", () => {
  const files = tracked();
  const read = (file: string) => {
    try {
      return readFileSync(path.join(ROOT, file), "utf8");
    } catch {
      return "";
    }
  };

  it("then no file points into a folder beside the repository", () => {
    expect(files.length).toBeGreaterThan(100);
    const outside = files.filter((file) => file !== "tools/references.test.ts" && /\.\.\/shared\b/.test(read(file)));
    expect(outside).toEqual([]);
  });

  it("then every cited section of the operations spec is a heading of the repository's requirements page", () => {
    const defined = definedSections(read(REQUIREMENTS));
    expect(defined.size).toBeGreaterThan(20);
    const missing = files.flatMap((file) =>
      citedSections(read(file))
        .filter((section) => !defined.has(section))
        .map((section) => `${file}: §${section}`),
    );
    expect(missing).toEqual([]);
  });

  it("when a file cites a section the page does not have, then the check finds it", () => {
    const defined = definedSections("## §1 A\n\n### §1.1 B\n");
    expect(citedSections("see §1.1 and §7.3").filter((section) => !defined.has(section))).toEqual(["7.3"]);
  });
});
