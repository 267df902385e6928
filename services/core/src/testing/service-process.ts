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
  /** The JSON log lines written to stdout so far (each complete line that starts with `{`). */
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
  // Each complete line is parsed once, as it arrives: a long-running service's output is read
  // by every wait on it, and re-parsing all of it per chunk grew with the square of its length.
  const parsed: Record<string, unknown>[] = [];
  let parsedUpTo = 0;
  let listening: ((port: number) => void) | undefined;
  // Decoded as a stream, so a character split between two chunks arrives whole.
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    stdout += chunk;
    // Line by line, each marked read before it is parsed: a line that is not JSON throws once
    // and is not met again with the next chunk.
    for (let end = stdout.indexOf("\n", parsedUpTo); end >= 0; end = stdout.indexOf("\n", parsedUpTo)) {
      const line = stdout.slice(parsedUpTo, end);
      parsedUpTo = end + 1;
      if (!line.startsWith("{")) continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      parsed.push(entry);
      if (entry["message"] === "listening") listening?.(entry["port"] as number);
    }
  });
  child.stderr.on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      resolve({ code, signal });
    }),
  );
  // A line counts once its newline has arrived (the services' logger ends every entry with one).
  const lines = () => [...parsed];
  const port = new Promise<number>((resolve, reject) => {
    listening = resolve;
    void exited.then(() => {
      reject(new Error(`exited before listening: ${stderr}`));
    });
  });
  // A process that never listens rejects `port`; tests that expect that await `exited` instead.
  port.catch(() => undefined);
  return { child, port, exited, output: () => ({ stdout, stderr }), lines };
}
