/**
 * The services a DR drill starts on the restored data: the API and the event listener, as the
 * real programs (the services' entrypoint, the same as the image runs), each with exactly the
 * environment the drill gives it. Each is known ready by its own "listening" log line, and then by
 * what it serves; stopping is SIGTERM, and SIGKILL if it outstays its grace.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";

/** How the services' entrypoint is run: `node dist/main.js` in the image, through tsx from source. */
export interface ServicesEntry {
  readonly command: string;
  /** Arguments before the program's name (`api`, `event-listener`). */
  readonly args: readonly string[];
  readonly cwd: string;
}

/** The services from the repository's source, as `pnpm dev` runs them: the image's entrypoint through tsx. */
export const servicesFromSource = (root: string): ServicesEntry => ({
  command: process.execPath,
  args: ["--import", "tsx", path.join(root, "services", "runtime", "src", "entry.ts")],
  cwd: root,
});

/** How long a service may take to stop after SIGTERM. */
const STOP_GRACE_MS = 30_000;
/** The output kept for a failure's message. */
const TAIL_LINES = 20;

export interface RunningService {
  readonly program: string;
  /** The port from the program's "listening" line; rejects if it exits first. */
  readonly port: Promise<number>;
  /** Rejects when the program exits before `stop()` asked it to. */
  readonly failed: Promise<never>;
  /** Its last lines of output. */
  tail(): string;
  stop(): Promise<void>;
}

export function startService(
  entry: ServicesEntry,
  program: "api" | "event-listener",
  env: Readonly<Record<string, string>>,
): RunningService {
  const child: ChildProcess = spawn(entry.command, [...entry.args, program], {
    cwd: entry.cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let stopping = false;
  let listening: ((port: number) => void) | undefined;
  const port = new Promise<number>((resolve) => (listening = resolve));
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > TAIL_LINES) lines.shift();
  };
  if (child.stdout)
    createInterface({ input: child.stdout }).on("line", (line) => {
      keep(line);
      if (!line.startsWith("{")) return;
      try {
        const parsed = JSON.parse(line) as { message?: unknown; port?: unknown };
        if (parsed.message === "listening" && typeof parsed.port === "number") listening?.(parsed.port);
      } catch {
        // Not a log line of the program's: kept for the tail only.
      }
    });
  if (child.stderr) createInterface({ input: child.stderr }).on("line", keep);
  const tail = () => lines.join("\n");
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      resolve({ code, signal });
    });
  });
  const spawnFailed = new Promise<never>((_, reject) => child.once("error", reject));
  const failed = Promise.race([
    spawnFailed,
    exited.then(({ code, signal }) => {
      if (stopping) return new Promise<never>(() => undefined);
      throw new Error(`the ${program} exited (${signal ?? String(code)}) on the restored data:\n${tail()}`);
    }),
  ]);
  failed.catch(() => undefined);
  return {
    program,
    port: Promise.race([port, failed]),
    failed,
    tail,
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const forced = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(forced);
    },
  };
}

/** A deadline's remaining time, or a failure naming what did not happen in time. */
export function remaining(deadline: number, what: string): number {
  const left = deadline - Date.now();
  if (left <= 0) throw new Error(`${what}: not within the drill's time`);
  return left;
}

/** Waits `ms`, or rejects with the service's failure first. */
export async function pause(ms: number, service: RunningService): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), service.failed]).finally(
    () => {
      clearTimeout(timer);
    },
  );
}
