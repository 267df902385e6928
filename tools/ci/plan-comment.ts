/**
 * Posts the plan diff (`pnpm plan --diff`) to a pull request as ONE comment, found again by its
 * marker and updated in place on every push — never a second one. A report longer than GitHub
 * allows in a comment is cut at a line, with a note of how much was left out and a link to the
 * full report (the workflow uploads it as an artifact). The report comes from the planner's
 * snapshots, where every secret is already a `[secret]` placeholder; this script adds nothing to it
 * but the marker, the head commit and the trimming note.
 *
 *   tsx tools/ci/plan-comment.ts --report plan-report.md --repository owner/name --pull-request 12 \
 *     --commit <sha> --full-report-url <url>
 *
 * The token is `GITHUB_TOKEN`; the API is `GITHUB_API_URL` (github.com's unless set, as on GitHub
 * Enterprise). Exit codes: 0 the comment is current (created, updated or already so), 1 GitHub
 * refused or failed, 64 bad usage.
 */
import { readFileSync } from "node:fs";
import { retry } from "@octokit/plugin-retry";
import { Octokit } from "@octokit/rest";
import { parseArguments } from "./command";
import { Command, InvalidArgumentError } from "commander";

/** The first line of the one comment this script owns on a pull request. */
export const MARKER = "<!-- paimon-plan-diff -->";

/** GitHub refuses a comment body longer than this many characters. */
export const GITHUB_COMMENT_LIMIT = 65_536;

export interface CommentInput {
  readonly report: string;
  readonly commit: string;
  readonly fullReportUrl: string;
  /** @default GITHUB_COMMENT_LIMIT */
  readonly limit?: number;
}

/**
 * The comment's body: the marker, the report, the commit it describes; cut at the last whole line
 * that fits, with a note saying how much is shown and where the rest is, when it does not fit.
 */
export function commentBody(input: CommentInput): string {
  const limit = input.limit ?? GITHUB_COMMENT_LIMIT;
  const head = `${MARKER}\n`;
  const foot = `\n\n<sub>Plan of ${input.commit}. [Full report](${input.fullReportUrl}).</sub>\n`;
  const report = input.report.trimEnd();
  const whole = `${head}${report}${foot}`;
  if (whole.length <= limit) return whole;
  const note = (shown: number) =>
    `\n\n> **Trimmed:** ${shown.toLocaleString("en")} of ${report.length.toLocaleString("en")} characters shown. ` +
    `The [full report](${input.fullReportUrl}) is this run's \`plan-report\` artifact.`;
  // The note's own length depends on the number it prints: budget for the widest it can be.
  const budget = limit - head.length - foot.length - note(report.length).length;
  if (budget <= 0) throw new Error(`a comment limit of ${limit} leaves no room for the report`);
  const cut = report.lastIndexOf("\n", budget);
  const shown = report.slice(0, cut > 0 ? cut : budget);
  return `${head}${shown}${note(shown.length)}${foot}`;
}

export interface UpsertOptions {
  readonly octokit: Octokit;
  readonly owner: string;
  readonly repo: string;
  readonly pullRequest: number;
  readonly body: string;
}

export type UpsertOutcome = { readonly action: "created" | "updated" | "unchanged"; readonly id: number };

/** Creates the pull request's plan comment, or updates the one that carries the marker. */
export async function upsertComment(options: UpsertOptions): Promise<UpsertOutcome> {
  const { octokit, owner, repo, pullRequest, body } = options;
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner,
    repo,
    issue_number: pullRequest,
    per_page: 100,
  });
  const ours = comments.filter((comment) => comment.body?.startsWith(MARKER) === true);
  const existing = ours[0];
  if (existing === undefined) {
    const created = await octokit.rest.issues.createComment({ owner, repo, issue_number: pullRequest, body });
    return { action: "created", id: created.data.id };
  }
  if (existing.body === body) return { action: "unchanged", id: existing.id };
  await octokit.rest.issues.updateComment({ owner, repo, comment_id: existing.id, body });
  return { action: "updated", id: existing.id };
}

/** Octokit with GitHub's retry advice honoured (secondary rate limits, 5xx). */
export function createOctokit(options: {
  readonly token: string;
  readonly baseUrl: string;
  readonly retries?: number;
}) {
  const WithRetry = Octokit.plugin(retry);
  return new WithRetry({
    auth: options.token,
    baseUrl: options.baseUrl,
    userAgent: "paimon-plan-comment",
    request: { retries: options.retries ?? 3 },
  });
}

const positive = (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError("must be a pull request number");
  return Number(value);
};

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>) {
  const command = new Command("plan-comment")
    .description("Post or update the pull request's one plan-diff comment")
    .requiredOption("--report <file>", "the markdown of `pnpm plan --diff`")
    .requiredOption("--repository <owner/name>", "the repository")
    .requiredOption("--pull-request <number>", "the pull request", positive)
    .requiredOption("--commit <sha>", "the commit the plan describes")
    .requiredOption("--full-report-url <url>", "where the untrimmed report is")
    .option("--json", "print the outcome as JSON");
  const usage = parseArguments(command, argv);
  if (usage !== undefined) return usage;
  const options = command.opts<{
    report: string;
    repository: string;
    pullRequest: number;
    commit: string;
    fullReportUrl: string;
    json?: boolean;
  }>();
  const [owner, repo, ...rest] = options.repository.split("/");
  const token = env["GITHUB_TOKEN"];
  if (!owner || !repo || rest.length > 0) {
    process.stderr.write(`plan-comment: --repository must be owner/name, not "${options.repository}"\n`);
    return 64;
  }
  if (!token) {
    process.stderr.write("plan-comment: GITHUB_TOKEN is not set\n");
    return 64;
  }
  const body = commentBody({
    report: readFileSync(options.report, "utf8"),
    commit: options.commit,
    fullReportUrl: options.fullReportUrl,
  });
  try {
    const outcome = await upsertComment({
      octokit: createOctokit({ token, baseUrl: env["GITHUB_API_URL"] ?? "https://api.github.com" }),
      owner,
      repo,
      pullRequest: options.pullRequest,
      body,
    });
    process.stdout.write(
      options.json ? `${JSON.stringify(outcome)}\n` : `plan-comment: comment ${outcome.id} ${outcome.action}\n`,
    );
    return 0;
  } catch (error) {
    const status = (error as { status?: number }).status;
    process.stderr.write(
      `plan-comment: GitHub ${status === undefined ? "failed" : `answered ${status}`}: ${(error as Error).message}\n`,
    );
    return 1;
  }
}

if (require.main === module) {
  // eslint-disable-next-line no-restricted-properties -- the composition root reads the environment
  void main(process.argv.slice(2), process.env).then((code) => {
    process.exitCode = code;
  });
}
