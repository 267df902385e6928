/**
 * The smoke test against a local server standing in for the public host: it passes on a healthy
 * answer, waits out a rollout that becomes ready, and fails by its deadline — naming what it saw —
 * on a wrong answer or on a host that accepts and never answers.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { main, smoke } from "./smoke";

const FUND = { nav: "1000.000000", layers: [{ layer: "L1" }, { layer: "L2" }, { layer: "L3" }], risk: null };

let server: Server | undefined;
afterEach(async () => {
  const open = server;
  server = undefined;
  if (!open) return;
  open.closeAllConnections();
  await new Promise((resolve) => {
    open.close(resolve);
  });
});

/** A host answering each path with `answer(path, hitNumber)`; `undefined` never answers. */
async function host(answer: (path: string, hit: number) => [number, unknown] | undefined): Promise<string> {
  const hits = new Map<string, number>();
  server = createServer((request, response) => {
    const path = request.url ?? "/";
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    const result = answer(path, hit);
    if (result === undefined) return; // held open, never answered
    response.writeHead(result[0], { "content-type": "application/json" });
    response.end(JSON.stringify(result[1]));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// Retries follow one another at once; a request's timeout is longer than a pause of this process
// on a loaded machine (some 15 s), so that an answer that comes is never taken for one that does
// not (and counted as an attempt more).
const fast = { deadlineMs: 20_000, startingDelayMs: 10, requestTimeoutMs: 20_000 };

describe("the smoke test", () => {
  it("when the stack is ready and serves the fund, then every check passes at once", async () => {
    const baseUrl = await host((path) => (path === "/health/ready" ? [200, { status: "ready" }] : [200, FUND]));
    const lines: string[] = [];
    expect(await main(["--base-url", baseUrl, "--deadline-seconds", "20"], (text) => lines.push(text))).toBe(0);
    expect(lines.join("")).toContain("smoke: readiness ok");
    expect(lines.join("")).toContain("smoke: fund ok");
  });

  it("when the rollout becomes ready after a few tries, then the checks wait for it", async () => {
    const baseUrl = await host((path, hit) =>
      path === "/health/ready"
        ? hit < 4
          ? [503, { status: "unavailable" }]
          : [200, { status: "ready" }]
        : [200, FUND],
    );
    const results = await smoke({ baseUrl, ...fast });
    expect(results.map((result) => [result.name, result.ok, result.attempts])).toEqual([
      ["readiness", true, 4],
      ["fund", true, 1],
    ]);
  });

  it("when the fund answer lacks its layers, or the host never answers, then the check fails by the deadline naming what it saw", async () => {
    const baseUrl = await host((path) =>
      path === "/health/ready" ? undefined : [200, { nav: "1", layers: [{ layer: "L1" }] }],
    );
    const results = await smoke({ ...fast, baseUrl, deadlineMs: 1_500 });
    expect(results).toEqual([
      expect.objectContaining({
        name: "readiness",
        ok: false,
        problem: `no answer within ${String(fast.requestTimeoutMs)} ms`,
      }),
      expect.objectContaining({ name: "fund", ok: false, problem: "the answer does not list layers L1, L2 and L3" }),
    ]);
    const lines: string[] = [];
    expect(await main(["--base-url", baseUrl, "--deadline-seconds", "0", "--json"], (text) => lines.push(text))).toBe(
      1,
    );
    expect(JSON.parse(lines.join("")) as unknown).toEqual([
      expect.objectContaining({ ok: false }),
      expect.objectContaining({ ok: false }),
    ]);
    // It waits out two requests that are never answered: one of 20 s, then one of the default 10 s.
  }, 120_000);

  it("when it is called wrongly, then it exits 64", async () => {
    expect(await main([], () => undefined)).toBe(64);
    expect(await main(["--base-url", "not a url"], () => undefined)).toBe(64);
    expect(await main(["--base-url", "http://x", "--deadline-seconds", "soon"], () => undefined)).toBe(64);
  });
});
