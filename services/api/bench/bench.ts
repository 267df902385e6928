/**
 * `pnpm bench:api [--duration s] [--warmup s] [--connections n] [--pool-size n] [--redis-url url]`:
 * the API's two hottest reads on three servers side by side, on a demo fund in a database of its
 * own — the API as it runs in production; the anchor, a bare `node:http` + `pg` server running per
 * request the queries the API would run without its cache; and the ceiling, a bare `node:http`
 * server answering a body serialised once. Each server runs in its own process, autocannon in this
 * one. Prints figures beside the targets; asserts nothing but that no request failed (exit
 * 1 otherwise).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import autocannon from "autocannon";
import { sql } from "kysely";
import { loadDemoFund } from "@paimon/core/demo";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { parseCommandLine } from "../../../tools/command-line";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const SERVER = path.join(__dirname, "server.ts");
const ENDPOINTS = ["/v1/fund", "/v1/redemptions"] as const;
const KINDS = ["api", "baseline", "ceiling"] as const;
type Kind = (typeof KINDS)[number];
/** What each server is, as the table names it. */
const LABELS: Readonly<Record<Kind, string>> = {
  api: "api",
  baseline: "anchor (node:http + pg)",
  ceiling: "ceiling (node:http, one body)",
};
/** The targets at 64 connections: the API's throughput over the anchor's, and its p99. */
const TARGETS: Readonly<Record<(typeof ENDPOINTS)[number], { readonly ratio: number; readonly p99Ms: number }>> = {
  "/v1/fund": { ratio: 1.5, p99Ms: 25 },
  "/v1/redemptions": { ratio: 1.0, p99Ms: 40 },
};
const SERVER_START_TIMEOUT_MS = 30_000;
const SERVER_STOP_TIMEOUT_MS = 5_000;

interface Options {
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly poolSize: number;
  readonly redisUrl: string;
}

interface Measurement {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The server process's CPU time per request answered (user + system); undefined where /proc cannot tell. */
  readonly cpuMicrosPerRequest: number | undefined;
  readonly non2xx: number;
  readonly errors: number;
}

function positive(text: string): number {
  const number = Number(text);
  if (!Number.isFinite(number) || number <= 0) throw new Error("must be a positive number");
  return number;
}

function count(text: string): number {
  const number = Number(text);
  if (!Number.isInteger(number) || number <= 0) throw new Error("must be a whole number above 0");
  return number;
}

/** The options, or the exit code to end with when there is nothing to run (`--help`, a usage error). */
function parseOptions(argv: readonly string[]): Options | number {
  const parsed = parseCommandLine(
    {
      name: "pnpm bench:api",
      description:
        "The API's two hottest reads on the API, the anchor (node:http + pg) and the ceiling (one body), side by side",
      options: {
        duration: {
          description: "seconds measured per endpoint and server",
          value: "seconds",
          default: "10",
          parse: positive,
        },
        warmup: {
          description: "seconds of load before each measurement (default: the --duration)",
          value: "seconds",
          parse: positive,
        },
        connections: { description: "autocannon's concurrent connections", value: "n", default: "64", parse: count },
        "pool-size": { description: "PostgreSQL connections per server", value: "n", default: "10", parse: count },
        "redis-url": { description: "the Redis the API caches in", value: "url", default: "redis://127.0.0.1:6379" },
      },
    },
    argv,
  );
  if ("exit" in parsed) return parsed.exit;
  const { values } = parsed;
  return {
    durationSeconds: values.duration,
    warmupSeconds: values.warmup ?? values.duration,
    connections: values.connections,
    poolSize: values["pool-size"],
    redisUrl: values["redis-url"],
  };
}

/** Starts a bench server process and resolves its port; the child is tracked at once for cleanup. */
/** Linux's clock ticks per second in /proc (USER_HZ, 100 on every architecture Node runs on there). */
const PROC_TICKS_PER_SECOND = 100;

/**
 * A process's CPU time so far (user + system, in µs) from /proc/<pid>/stat; undefined elsewhere.
 * Less at the mercy of what else the machine runs than throughput is.
 */
function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // The fields after the command's closing parenthesis; utime and stime are the 12th and 13th of them.
    const fields =
      readFileSync(`/proc/${String(pid)}/stat`, "utf8")
        .split(") ")[1]
        ?.split(" ") ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1_000_000) / PROC_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

async function startServer(
  kind: Kind,
  args: readonly string[],
  children: ChildProcess[],
): Promise<{ readonly port: number; readonly pid: number | undefined }> {
  const child = spawn(process.execPath, ["--import", "tsx", SERVER, "--kind", kind, ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const lines = createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the ${kind} server did not listen within ${SERVER_START_TIMEOUT_MS} ms`));
    }, SERVER_START_TIMEOUT_MS);
    lines.on("line", (line) => {
      // The bare servers print `{"port":N}`; the API its "listening" log line.
      const port = /^\{"port":(\d+)\}$/.exec(line)?.[1] ?? /"message":"listening","port":(\d+)/.exec(line)?.[1];
      if (port === undefined) return;
      clearTimeout(timer);
      resolve({ port: Number(port), pid: child.pid });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the ${kind} server exited (${code ?? "signal"}) before listening`));
    });
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const stopped = await Promise.race([exited.then(() => true), sleep(SERVER_STOP_TIMEOUT_MS, false, { ref: false })]);
  if (!stopped) child.kill("SIGKILL");
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

/** A ratio means nothing unless the servers answer the same: compared before any load. */
async function checkEquivalent(ports: Readonly<Record<Kind, number>>): Promise<void> {
  const ready = await getJson(`http://127.0.0.1:${ports.api}/health/ready`);
  if (ready.status !== 200) throw new Error(`the API is not ready: ${JSON.stringify(ready.body)}`);
  for (const endpoint of ENDPOINTS) {
    const api = await getJson(`http://127.0.0.1:${ports.api}${endpoint}`);
    for (const kind of ["baseline", "ceiling"] as const) {
      const other = await getJson(`http://127.0.0.1:${ports[kind]}${endpoint}`);
      if (api.status !== 200 || !isDeepStrictEqual(api, other)) {
        throw new Error(
          `GET ${endpoint}: the ${kind} answers differently from the API\n` +
            `api: ${JSON.stringify(api).slice(0, 600)}\n${kind}: ${JSON.stringify(other).slice(0, 600)}`,
        );
      }
    }
  }
}

async function load(url: string, seconds: number, connections: number, pid?: number): Promise<Measurement> {
  const cpuBefore = cpuMicros(pid);
  const result = await autocannon({ url, connections, duration: seconds });
  const cpuAfter = cpuMicros(pid);
  return {
    cpuMicrosPerRequest:
      cpuBefore === undefined || cpuAfter === undefined || result.requests.total === 0
        ? undefined
        : (cpuAfter - cpuBefore) / result.requests.total,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column < 2 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
        .join("  "),
    )
    .join("\n");
}

async function bench(options: Options, database: TestDatabase, children: ChildProcess[]): Promise<number> {
  const demo = await loadDemoFund(database.db, database.metricsDb);
  // Plans as a long-lived database would choose them, not from a freshly loaded table's guesses.
  await sql`analyze`.execute(database.db);
  console.log(
    `demo fund: ${demo.snapshots} snapshots, ${demo.riskAssessments} risk assessments, ${demo.redemptions} redemptions, ` +
      `${demo.rebalances} rebalances, latest block ${demo.latestBlock}`,
  );
  const args = [
    "--database-url",
    database.url,
    "--redis-url",
    options.redisUrl,
    "--pool-size",
    String(options.poolSize),
  ];
  const [api, baseline, ceiling] = await Promise.all(KINDS.map((kind) => startServer(kind, args, children)));
  if (!api || !baseline || !ceiling) throw new Error("a server did not start");
  const ports = { api: api.port, baseline: baseline.port, ceiling: ceiling.port };
  const pids = { api: api.pid, baseline: baseline.pid, ceiling: ceiling.pid };
  await checkEquivalent(ports);
  console.log("the three servers answer identical JSON; the API is ready\n");

  let warmupFailures = 0;
  const results: { endpoint: string; kind: Kind; measured: Measurement }[] = [];
  for (const endpoint of ENDPOINTS) {
    for (const kind of KINDS) {
      const url = `http://127.0.0.1:${ports[kind]}${endpoint}`;
      process.stdout.write(`GET ${endpoint} on ${kind}: warm-up ${options.warmupSeconds} s, `);
      const warm = await load(url, options.warmupSeconds, options.connections);
      warmupFailures += warm.non2xx + warm.errors;
      process.stdout.write(`measured ${options.durationSeconds} s\n`);
      results.push({
        endpoint,
        kind,
        measured: await load(url, options.durationSeconds, options.connections, pids[kind]),
      });
    }
  }

  const rows = [
    ["endpoint", "server", "requests/s", "p50 ms", "p99 ms", "CPU µs/request", "non-2xx/errors", "× anchor"],
  ];
  const verdicts: string[] = [];
  for (const endpoint of ENDPOINTS) {
    const of = (kind: Kind) => results.find((r) => r.endpoint === endpoint && r.kind === kind)?.measured;
    const anchor = of("baseline");
    for (const kind of KINDS) {
      const run = of(kind);
      if (!run || !anchor) continue;
      rows.push([
        `GET ${endpoint}`,
        LABELS[kind],
        run.requestsPerSecond.toFixed(0),
        run.p50Ms.toFixed(2),
        run.p99Ms.toFixed(2),
        run.cpuMicrosPerRequest === undefined ? "n/a" : run.cpuMicrosPerRequest.toFixed(0),
        `${run.non2xx}/${run.errors}`,
        (run.requestsPerSecond / anchor.requestsPerSecond).toFixed(2),
      ]);
    }
    const apiRun = of("api");
    const ceilingRun = of("ceiling");
    if (!apiRun || !anchor || !ceilingRun) continue;
    const target = TARGETS[endpoint];
    const ratio = apiRun.requestsPerSecond / anchor.requestsPerSecond;
    const ratioHolds = ratio >= target.ratio;
    const p99Holds = apiRun.p99Ms < target.p99Ms;
    verdicts.push(
      `GET ${endpoint}: ${ratioHolds && p99Holds ? "HOLDS" : "MISSED"} — ${ratio.toFixed(2)}× the anchor ` +
        `(target ≥ ${target.ratio.toFixed(1)}×: ${ratioHolds ? "yes" : "no"}), API p99 ${apiRun.p99Ms.toFixed(2)} ms ` +
        `(target < ${target.p99Ms} ms: ${p99Holds ? "yes" : "no"}); ` +
        `${((apiRun.requestsPerSecond / ceilingRun.requestsPerSecond) * 100).toFixed(0)} % of the ceiling`,
    );
  }
  console.log(
    `\n${options.connections} connections, pool ${options.poolSize} per server (the ceiling queries once, at start), ${options.durationSeconds} s measured ` +
      `after ${options.warmupSeconds} s warm-up, ${process.version}, ${cpus().length} cores\n`,
  );
  console.log(table(rows));
  console.log(`\ntargets at ${options.connections} connections (printed, not asserted):`);
  for (const verdict of verdicts) console.log(`  ${verdict}`);
  const measuredFailures = results.reduce((sum, r) => sum + r.measured.non2xx + r.measured.errors, 0);
  if (warmupFailures > 0) console.log(`\n${warmupFailures} requests failed during warm-up`);
  return measuredFailures + warmupFailures;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (typeof options === "number") {
    process.exitCode = options;
    return;
  }
  const database = await createTestDatabase();
  const children: ChildProcess[] = [];
  let cleanup: Promise<void> | undefined;
  // Once, whichever comes first: the end, a failure, or Ctrl-C.
  const cleanUp = () =>
    (cleanup ??= (async () => {
      await Promise.all(children.map(stopServer));
      await database.drop();
    })());
  process.once("SIGINT", () => {
    void cleanUp().finally(() => process.exit(130));
  });
  try {
    const failures = await bench(options, database, children);
    if (failures > 0) {
      console.error(`\n${failures} requests failed`);
      process.exitCode = 1;
    }
  } finally {
    await cleanUp();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:api: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
