import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureIo, createTempRoot, type TempRoot } from "../testing/temp-root";
import { runPlan } from "./cli";
import { LITERAL_PASSWORD, LITERAL_TOKEN } from "./fixtures/literal-secret-program";
import { detect } from "./secrets";

let temp: TempRoot;
beforeEach(() => {
  temp = createTempRoot();
});
afterEach(() => {
  temp.remove();
});

describe("secret literals", () => {
  it("when a value is a key, a token or a connection string with a password, then secretlint recognises it; placeholders are not secrets", async () => {
    const found = await detect([
      `postgres://app:${LITERAL_PASSWORD}@db.internal:5432/paimon`,
      LITERAL_TOKEN,
      "postgresql://paimon:%3CrandomPassword%3Atimescaledb-password.result%3E@timescaledb:5432/metrics",
      "redis://:[secret:0123456789ab]@cache:6379",
      "an ordinary description",
    ]);
    expect([...found.keys()]).toEqual([0, 1]);
    expect(found.get(0)).toMatch(/database-connection-string/);
    expect(found.get(1)).toMatch(/github/);
  });

  it("PR: a secret literal is typed into code → never written or printed, and a mandatory violation naming resource and property", async () => {
    const io = captureIo(temp.root, path.join(__dirname, "fixtures", "literal-secret-program.ts"));
    expect(await runPlan({ format: "markdown", stack: "staging" }, io)).toBe(1);
    const printed = io.stdout() + io.stderr();
    expect(printed).not.toContain(LITERAL_PASSWORD);
    expect(printed).not.toContain(LITERAL_TOKEN);
    expect(io.stderr()).toContain(
      "staging: paimon-no-secret-literals (database-url: inputs.description holds a secret literal (database-connection-string",
    );
    expect(io.stderr()).toContain("github-token: inputs.secretString holds a secret literal (github");
    expect(io.stderr()).toMatch(/\(stack\)|paimon-staging: outputs\.url holds a secret literal/);
    expect(() => temp.read("infra/plans/staging.json")).toThrow();
  });
});
