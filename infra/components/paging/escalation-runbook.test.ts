import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../config";
import { REPO_ROOT, readStackFile } from "../../planner/stacks";
import { ESCALATION_LEVELS } from "./index";

const page = readFileSync(path.join(REPO_ROOT, "runbooks", "escalation.md"), "utf8");

/** The rows of the page's table under `## The path`: level number → minutes. */
function pathTable(): Map<number, number> {
  const section = page.split(/^## /m).find((part) => part.startsWith("The path"));
  if (!section) throw new Error("runbooks/escalation.md has no '## The path' section");
  const rows = [...section.matchAll(/^\|\s*(\d)\s*\|.*\|\s*(\d+) minutes\s*\|$/gm)];
  return new Map(rows.map((row) => [Number(row[1]), Number(row[2])]));
}

describe("runbooks/escalation.md", () => {
  it("then its path has one row per level, with production's escalation delays", () => {
    const production = parseStackConfig(readStackFile("production").config, "production");
    const levels = production.paging?.levels;
    if (!levels) throw new Error("production pages nobody: paimon:paging is missing");
    expect(pathTable()).toEqual(
      new Map(ESCALATION_LEVELS.map((level, index) => [index + 1, levels[level].escalateAfterMinutes])),
    );
  });

  it("then it names the contacts and response times of the on-call table", () => {
    for (const row of [
      "| oncall@paimon.fund | 15 minutes",
      "| dev@paimon.fund    | 30 minutes",
      "| fund@paimon.fund   | 1 hour",
    ])
      expect(page).toContain(row);
  });
});
