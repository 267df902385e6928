/**
 * Servers the operations tests run for real: moto's S3 (the real AWS SDK talks to it through
 * `AWS_S3_ENDPOINT`) and a Redis of their own, whose RDB file the backup can read. Each is ready
 * when it says so in its own log, and stops with the test. And the CLI itself, run in-process,
 * and a bound on what a test waits for.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "@paimon/core/testing/ports";
import { runOps, type OpsIo } from "./cli";

export interface LocalServer {
  readonly url: string;
  readonly port: number;
  readonly directory: string;
  stop(): Promise<void>;
}

/** Starts `command`, resolving once a line of its output matches `ready`; fails on an early exit. */
async function start(
  command: string,
  args: (port: number, directory: string) => string[],
  ready: RegExp,
  url: (port: number) => string,
): Promise<LocalServer> {
  const port = await freePort();
  const directory = mkdtempSync(path.join(tmpdir(), `paimon-${command}-`));
  const child: ChildProcess = spawn(command, args(port, directory), {
    cwd: directory,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const look = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (ready.test(output)) resolve();
    };
    child.stdout?.on("data", look);
    child.stderr?.on("data", look);
    child.once("error", reject);
    child.once("exit", (code) => {
      reject(new Error(`${command} exited (${String(code)}) before it was ready:\n${output}`));
    });
  });
  return {
    url: url(port),
    port,
    directory,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** moto's server (S3, Secrets Manager, ElastiCache…) on a free loopback port. */
export const startMoto = () =>
  start(
    "moto_server",
    (port) => ["-H", "127.0.0.1", "-p", String(port)],
    /Running on http/,
    (port) => `http://127.0.0.1:${port}`,
  );

/** A Redis of the test's own, persisting into its own directory. */
export const startRedis = () =>
  start(
    "redis-server",
    (port, directory) => [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      directory,
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    /Ready to accept connections/,
    (port) => `redis://127.0.0.1:${port}`,
  );

/** One run of the CLI in-process: its exit code and what it printed. */
export interface OpsRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `ops <argv>` with exactly `env`, as the tests drive it. */
export async function runOpsForTest(
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  io: Partial<Pick<OpsIo, "services">> = {},
): Promise<OpsRun> {
  let out = "";
  let err = "";
  const code = await runOps(argv, {
    env,
    out: (text) => (out += text),
    err: (text) => (err += text),
    ...io,
  });
  return { code, out, err };
}

/** `promise`, or a failure naming what did not happen within `ms`: a bound, never a synchronisation. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`${what}: not within ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
