/**
 * The plan comment against a local server that answers the GitHub REST endpoints the script uses
 * — list an issue's comments (paginated with `Link`, as GitHub does), create one, update one — and
 * keeps the comments in memory, so what a pull request would show can be read back.
 */
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GITHUB_COMMENT_LIMIT, MARKER, commentBody, createOctokit, main, upsertComment } from "./plan-comment";

interface Comment {
  id: number;
  body: string;
  user: { login: string; type: string };
}

interface FakeGitHub {
  readonly url: string;
  readonly comments: Comment[];
  readonly requests: string[];
  /** Answers the next `count` requests with this status. */
  fail(status: number, count: number): void;
  close(): Promise<void>;
}

const readBody = async (request: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { body?: string };
};

async function fakeGitHub(): Promise<FakeGitHub> {
  const comments: Comment[] = [];
  const requests: string[] = [];
  let failures: { status: number; count: number } = { status: 0, count: 0 };
  let nextId = 1000;
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? "/", "http://github.test");
      requests.push(`${request.method ?? "?"} ${url.pathname}${url.search}`);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { "content-type": "application/json", ...headers });
        response.end(JSON.stringify(body));
      };
      if (request.headers.authorization !== "token test-token") {
        send(401, { message: "Bad credentials" });
        return;
      }
      if (failures.count > 0) {
        failures = { ...failures, count: failures.count - 1 };
        send(failures.status, { message: "Server Error" });
        return;
      }
      const list = url.pathname.match(/^\/repos\/acme\/fund\/issues\/(\d+)\/comments$/);
      const one = url.pathname.match(/^\/repos\/acme\/fund\/issues\/comments\/(\d+)$/);
      if (list && request.method === "GET") {
        const perPage = Number(url.searchParams.get("per_page") ?? 30);
        const page = Number(url.searchParams.get("page") ?? 1);
        const slice = comments.slice((page - 1) * perPage, page * perPage);
        const last = Math.max(1, Math.ceil(comments.length / perPage));
        const base = `http://${request.headers.host ?? ""}${url.pathname}?per_page=${perPage}`;
        const link =
          page < last ? { link: `<${base}&page=${page + 1}>; rel="next", <${base}&page=${last}>; rel="last"` } : {};
        send(200, slice, link);
        return;
      }
      if (list && request.method === "POST") {
        const { body } = await readBody(request);
        const comment = { id: (nextId += 1), body: body ?? "", user: { login: "github-actions[bot]", type: "Bot" } };
        comments.push(comment);
        send(201, comment);
        return;
      }
      if (one && request.method === "PATCH") {
        const comment = comments.find((candidate) => candidate.id === Number(one[1]));
        if (!comment) {
          send(404, { message: "Not Found" });
          return;
        }
        comment.body = (await readBody(request)).body ?? "";
        send(200, comment);
        return;
      }
      send(404, { message: "Not Found" });
    })();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    comments,
    requests,
    fail: (status, count) => {
      failures = { status, count };
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

let github: FakeGitHub;
let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "paimon-plan-comment-"));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});
afterEach(async () => {
  await github.close();
});

const upsert = (body: string) =>
  upsertComment({
    octokit: createOctokit({ token: "test-token", baseUrl: github.url, retries: 2 }),
    owner: "acme",
    repo: "fund",
    pullRequest: 7,
    body,
  });
const body = (report: string, commit = "abc1234") =>
  commentBody({ report, commit, fullReportUrl: "https://github.test/acme/fund/actions/runs/1" });

describe("the plan comment", () => {
  it("when a pull request has none, then one is created; every later push updates that one in place", async () => {
    github = await fakeGitHub();
    github.comments.push({ id: 1, body: "LGTM", user: { login: "alice", type: "User" } });
    const first = await upsert(body("## Infrastructure plan\n\n2 changed", "aaa"));
    expect(first.action).toBe("created");
    const second = await upsert(body("## Infrastructure plan\n\n3 changed", "bbb"));
    expect(second).toEqual({ action: "updated", id: first.id });
    expect(github.comments.filter((comment) => comment.body.startsWith(MARKER))).toHaveLength(1);
    expect(github.comments.map((comment) => comment.id)).toEqual([1, first.id]);
    expect(github.comments[1]?.body).toContain("3 changed");
    expect(github.comments[1]?.body).toContain("Plan of bbb");
  });

  it("when the report is the same as the comment's, then nothing is written", async () => {
    github = await fakeGitHub();
    const text = body("No infrastructure changes against `origin/main` (production, staging).");
    await upsert(text);
    github.requests.length = 0;
    expect((await upsert(text)).action).toBe("unchanged");
    expect(github.requests.filter((request) => !request.startsWith("GET"))).toEqual([]);
    // Nothing changed reads as one line of the report.
    expect(github.comments[0]?.body.split("\n").filter((line) => line !== "" && !line.startsWith("<"))).toEqual([
      "No infrastructure changes against `origin/main` (production, staging).",
    ]);
  });

  it("when the pull request has many comments, then the marked one is found on a later page", async () => {
    github = await fakeGitHub();
    for (let index = 0; index < 230; index += 1)
      github.comments.push({ id: index + 1, body: `comment ${index}`, user: { login: "bob", type: "User" } });
    github.comments.push({ id: 999, body: `${MARKER}\nold plan`, user: { login: "github-actions[bot]", type: "Bot" } });
    expect(await upsert(body("new plan"))).toEqual({ action: "updated", id: 999 });
    expect(github.requests.filter((request) => request.startsWith("GET"))).toHaveLength(3);
    expect(github.comments).toHaveLength(231);
  });

  it("when GitHub answers 5xx, then the request is retried; when it refuses, then the CLI exits 1 naming the status", async () => {
    github = await fakeGitHub();
    github.fail(502, 1);
    expect((await upsert(body("plan"))).action).toBe("created");
    github.fail(403, 10);
    const report = path.join(scratch, "report.md");
    writeFileSync(report, "plan");
    const args = [
      "--report",
      report,
      "--repository",
      "acme/fund",
      "--pull-request",
      "7",
      "--commit",
      "abc",
      "--full-report-url",
      "https://github.test/run",
    ];
    expect(await main(args, { GITHUB_TOKEN: "test-token", GITHUB_API_URL: github.url })).toBe(1);
    github.fail(0, 0);
    expect(await main(args, { GITHUB_TOKEN: "test-token", GITHUB_API_URL: github.url })).toBe(0);
    expect(await main(args, { GITHUB_API_URL: github.url })).toBe(64);
    expect(await main(["--report", report], { GITHUB_TOKEN: "t" })).toBe(64);
  });
});

describe("the comment's body", () => {
  const line = (index: number) => `| staging | aws:s3/bucket:Bucket | bucket-${index} | changed | versioning |`;
  const huge = Array.from({ length: 4000 }, (_, index) => line(index)).join("\n");

  it("when the report is larger than a comment may be, then it is cut at a line, says how much is shown, and links the full report", () => {
    expect(huge.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT);
    const text = body(huge);
    expect(text.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(text.startsWith(`${MARKER}\n${line(0)}\n`)).toBe(true);
    const shown = text.split("\n").filter((candidate) => candidate.startsWith("| staging"));
    // Whole lines only, in order.
    expect(shown).toEqual(Array.from({ length: shown.length }, (_, index) => line(index)));
    expect(text).toMatch(/\*\*Trimmed:\*\* [\d,]+ of [\d,]+ characters shown/);
    expect(text).toContain("[full report](https://github.test/acme/fund/actions/runs/1)");
  });

  it("when it fits, then it is the report whole, with the marker first and the commit last", () => {
    const text = body("one\ntwo\n\n", "c0ffee");
    expect(text).toBe(
      `${MARKER}\none\ntwo\n\n<sub>Plan of c0ffee. [Full report](https://github.test/acme/fund/actions/runs/1).</sub>\n`,
    );
    expect(body(huge.slice(0, 1000)).includes("Trimmed")).toBe(false);
  });

  it("when the limit is tiny, then every size up to it still fits or is refused", () => {
    for (const limit of [300, 500, 1000, 5000]) {
      expect(commentBody({ report: huge, commit: "a", fullReportUrl: "u", limit }).length).toBeLessThanOrEqual(limit);
    }
    expect(() => commentBody({ report: huge, commit: "a", fullReportUrl: "u", limit: 50 })).toThrow("no room");
  });
});
