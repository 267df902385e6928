import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

/**
 * A service started as a real process for a test (so it can be SIGTERMed or SIGKILLed), with its
 * output collected and its port read from its own "listening" log line. It gets exactly the
 * environment the test gives, plus Node's directory on PATH: nothing of the developer's leaks in.
 */
export interface ServiceProcess {
  readonly child: ChildProcess;
  /** The port from the "listening" line; rejects if the process exits first. */
  readonly port: Promise<number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): { stdout: string; stderr: string };
  /** The JSON log lines written to stdout so far. */
  lines(): Record<string, unknown>[];
}

/** Runs `node <args>` in `cwd` with `env`. */
export function spawnService(
  args: readonly string[],
  options: { readonly cwd: string; readonly env: Readonly<Record<string, string>> },
): ServiceProcess {
  const child = spawn(process.execPath, [...args], {
    cwd: options.cwd,
    env: { PATH: path.dirname(process.execPath), ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      resolve({ code, signal });
    }),
  );
  const lines = () =>
    stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const port = new Promise<number>((resolve, reject) => {
    child.stdout.on("data", () => {
      const listening = lines().find((line) => line["message"] === "listening");
      if (listening) resolve(listening["port"] as number);
    });
    void exited.then(() => {
      reject(new Error(`exited before listening: ${stderr}`));
    });
  });
  // A process that never listens rejects `port`; tests that expect that await `exited` instead.
  port.catch(() => undefined);
  return { child, port, exited, output: () => ({ stdout, stderr }), lines };
}
