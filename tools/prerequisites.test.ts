import { describe, expect, it } from "vitest";
import { ensurePrerequisites } from "./prerequisites";

describe("the test run's prerequisites", () => {
  it("when this machine has everything, then nothing is missing", async () => {
    expect(await ensurePrerequisites({ log: () => undefined, mayInstall: false })).toEqual([]);
  });

  it("when a tool and a server are missing and it may not install, then each is named with the command that provides it", async () => {
    const problems = await ensurePrerequisites({
      log: () => undefined,
      mayInstall: false,
      tools: { "paimon-no-such-tool": "paimon-tools" },
      pipTools: { "paimon-no-such-server": "paimon-server==1.0" },
      services: [{ name: "Nothing", port: 1, start: "start-nothing --port 1", needs: "start-nothing" }],
    });
    expect(problems).toEqual([
      "paimon-no-such-tool is missing (Debian package paimon-tools): apt-get update -qq && apt-get install -y -qq --no-install-recommends paimon-tools",
      "paimon-no-such-server is missing: pip install 'paimon-server==1.0'",
      "Nothing is not reachable on 127.0.0.1:1: start-nothing --port 1",
    ]);
  });
});
