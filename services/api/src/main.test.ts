import { spawn } from "node:child_process";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

const MAIN = path.join(__dirname, "bin.ts");

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    cwd: path.resolve(__dirname, "..", "..", ".."),
    // Only what the test gives: nothing of the developer's environment leaks into the service.
    env: { PATH: path.dirname(process.execPath), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      resolve(code);
    }),
  );
  const port = new Promise<number>((resolve, reject) => {
    child.stdout.on("data", () => {
      const line = stdout.split("\n").find((l) => l.includes('"message":"listening"'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    void exited.then(() => {
      reject(new Error(`exited before listening: ${stderr}`));
    });
  });
  // A process that never listens rejects `port`; tests that expect that await `exited` instead.
  port.catch(() => undefined);
  return { child, port, exited, output: () => ({ stdout, stderr }) };
}

describe("the API process", () => {
  it("when configuration is invalid, then it exits 1 naming every bad variable", async () => {
    const api = start({ ENVIRONMENT: "test", DATABASE_URL: "mysql://x", REDIS_URL: "redis://127.0.0.1:6379" });
    expect(await api.exited).toBe(1);
    expect(api.output().stderr).toContain("DATABASE_URL: must be a postgres:// or postgresql:// URL");
    expect(api.output().stderr).toContain("JWT_SECRET: missing");
  });

  it("when started and sent SIGTERM, then it serves, then shuts down in order and exits 0", async () => {
    const api = start({
      ENVIRONMENT: "test",
      PORT: "0",
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      JWT_SECRET: "a-secret-that-is-at-least-32-characters",
      MAX_CHAIN_SYNC_AGE_SECONDS: "0",
    });
    const port = await api.port;
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(ready.status).toBe(200);
    api.child.kill("SIGTERM");
    expect(await api.exited).toBe(0);
    const messages = api
      .output()
      .stdout.split("\n")
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { message: string }).message);
    expect(messages).toEqual(expect.arrayContaining(["listening", "shutting down", "shut down"]));
  });
});
