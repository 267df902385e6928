/**
 * The process-level handlers as a real process meets them: a child installs them and then
 * rejects a promise nobody handles, or receives SIGTERM, and the test reads its exit and its log.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { describe, expect, it } from "vitest";

const HERE = __dirname;

/** Runs a child that installs the handlers, then does `act` (JavaScript, with `stopping` in scope). */
async function run(act: string, options: { readonly stopping?: boolean } = {}) {
  const script = `
    const { createLogger } = require(${JSON.stringify(path.join(HERE, "logger.ts"))});
    const { createShutdown } = require(${JSON.stringify(path.join(HERE, "shutdown.ts"))});
    const { handleProcessSignals } = require(${JSON.stringify(path.join(HERE, "process.ts"))});
    const logger = createLogger({ service: "process-test", environment: "test" });
    const shutdown = createShutdown({ logger });
    let stopping = ${String(options.stopping ?? false)};
    shutdown.add("work", () => { stopping = true; });
    handleProcessSignals({ logger, shutdown, stopping: () => stopping });
    setTimeout(() => {}, 60_000).unref();
    const keep = setInterval(() => {}, 1_000);
    shutdown.add("timers", () => clearInterval(keep));
    ${act}
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  const messages = stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => (JSON.parse(line) as { message: string; level: string }).message);
  return { code, signal, messages };
}

describe("the process-level handlers", () => {
  it("when a promise is rejected and nobody handles it, then the process stops in order and exits 1", async () => {
    const { code, messages } = await run(`Promise.reject(new Error("boom"));`);
    expect(code).toBe(1);
    expect(messages).toEqual(["unhandled rejection", "shutting down", "shut down"]);
  }, 30_000);

  it("when SIGTERM arrives, then the process stops in order and exits 0", async () => {
    const { code, messages } = await run(`process.kill(process.pid, "SIGTERM");`);
    expect(code).toBe(0);
    expect(messages).toEqual(["shutting down", "shut down"]);
  }, 30_000);

  it("when a closed Redis connection's command rejects during shutdown, then it is a warning and the exit stays 0", async () => {
    const { code, messages } = await run(
      `Promise.reject(new Error("Connection is closed.")); process.kill(process.pid, "SIGTERM");`,
      {
        stopping: true,
      },
    );
    expect(code).toBe(0);
    expect(messages).toContain("unhandled rejection while shutting down");
    expect(messages).not.toContain("unhandled rejection");
  }, 30_000);
});
