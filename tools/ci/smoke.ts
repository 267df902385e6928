/**
 * The deploy's smoke test, through the public host (CloudFront → the load balancer → the API):
 * `/health/ready` answers 200 `ready`, and `GET /v1/fund` answers 200 with the fund's shape (a NAV
 * and the three layers). A fresh rollout can take a moment to be reachable, so each check is
 * retried with exponential backoff until `--deadline-seconds` — then the smoke test fails, naming
 * what it last saw, and the workflow rolls the stack back.
 *
 *   tsx tools/ci/smoke.ts --base-url https://api.staging.paimon.fund [--deadline-seconds 300] [--json]
 *
 * Exit codes: 0 every check passed, 1 a check failed by the deadline, 64 bad usage.
 */
import { backOff } from "exponential-backoff";
import { parseArguments } from "./command";
import { Command, InvalidArgumentError } from "commander";

export interface Check {
  readonly name: string;
  readonly path: string;
  /** Undefined when the answer is what the check wants; otherwise what is wrong with it. */
  readonly problem: (status: number, body: unknown) => string | undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export const CHECKS: readonly Check[] = [
  {
    name: "readiness",
    path: "/health/ready",
    problem: (status, body) =>
      status === 200 && isRecord(body) && body["status"] === "ready"
        ? undefined
        : `expected 200 {"status":"ready"}, got ${status} ${JSON.stringify(body)}`,
  },
  {
    name: "fund",
    path: "/v1/fund",
    problem: (status, body) => {
      if (status !== 200) return `expected 200, got ${status} ${JSON.stringify(body)}`;
      if (!isRecord(body) || typeof body["nav"] !== "string") return "no NAV in the answer";
      const layers = body["layers"];
      if (
        !Array.isArray(layers) ||
        layers.map((layer) => (isRecord(layer) ? layer["layer"] : undefined)).join() !== "L1,L2,L3"
      )
        return "the answer does not list layers L1, L2 and L3";
      return undefined;
    },
  },
];

export interface SmokeOptions {
  readonly baseUrl: string;
  readonly deadlineMs: number;
  /** Per request. @default 10_000 */
  readonly requestTimeoutMs?: number;
  /** First retry delay. @default 1_000 */
  readonly startingDelayMs?: number;
  readonly checks?: readonly Check[];
}

export interface CheckResult {
  readonly name: string;
  readonly url: string;
  readonly ok: boolean;
  readonly attempts: number;
  readonly problem?: string;
}

async function attempt(url: string, check: Check, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new Error(`no answer within ${timeoutMs} ms`));
  }, timeoutMs);
  try {
    const response = await fetch(url, { signal: controller.signal, headers: { accept: "application/json" } });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      // not JSON: the problem names the text
    }
    const problem = check.problem(response.status, body);
    if (problem !== undefined) throw new Error(problem);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every check, each retried until the deadline; resolves with one result per check. */
export async function smoke(options: SmokeOptions): Promise<CheckResult[]> {
  const deadline = Date.now() + options.deadlineMs;
  const results: CheckResult[] = [];
  for (const check of options.checks ?? CHECKS) {
    const url = new URL(check.path, options.baseUrl).toString();
    let attempts = 0;
    let last: unknown;
    try {
      await backOff(
        async () => {
          attempts += 1;
          await attempt(url, check, options.requestTimeoutMs ?? 10_000);
        },
        {
          numOfAttempts: Number.MAX_SAFE_INTEGER,
          startingDelay: options.startingDelayMs ?? 1_000,
          maxDelay: 15_000,
          jitter: "full",
          retry: (error: unknown) => {
            last = error;
            return Date.now() < deadline;
          },
        },
      );
      results.push({ name: check.name, url, ok: true, attempts });
    } catch (error) {
      const problem = ((last ?? error) as Error).message;
      results.push({ name: check.name, url, ok: false, attempts, problem });
    }
  }
  return results;
}

const seconds = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("must be a whole number of seconds");
  return Number(value);
};

export async function main(
  argv: readonly string[],
  out: (text: string) => void = (text) => process.stdout.write(text),
) {
  const command = new Command("smoke")
    .description("Check a deployed stack through its public host: readiness, then GET /v1/fund")
    .requiredOption("--base-url <url>", "the public API, e.g. https://api.staging.paimon.fund")
    .option("--deadline-seconds <seconds>", "how long the checks may keep retrying", seconds, 300)
    .option("--json", "print the results as JSON");
  const usage = parseArguments(command, argv);
  if (usage !== undefined) return usage;
  const options = command.opts<{ baseUrl: string; deadlineSeconds: number; json?: boolean }>();
  try {
    new URL(options.baseUrl);
  } catch {
    process.stderr.write(`smoke: --base-url is not a URL: ${options.baseUrl}\n`);
    return 64;
  }
  const results = await smoke({ baseUrl: options.baseUrl, deadlineMs: options.deadlineSeconds * 1000 });
  out(
    options.json
      ? `${JSON.stringify(results)}\n`
      : results
          .map((result) =>
            result.ok
              ? `smoke: ${result.name} ok (${result.url}, ${result.attempts} attempt(s))\n`
              : `smoke: ${result.name} FAILED after ${result.attempts} attempt(s): ${result.url}: ${result.problem ?? "?"}\n`,
          )
          .join(""),
  );
  return results.every((result) => result.ok) ? 0 : 1;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
