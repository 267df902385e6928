import { once } from "node:events";
import net from "node:net";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { spawnService } from "@paimon/core/testing/service-process";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TEST_JWT_SECRET } from "./testing";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

const MAIN = path.join(__dirname, "bin.ts");

const start = (env: Record<string, string>) =>
  spawnService(["--import", "tsx", MAIN], { cwd: path.resolve(__dirname, "..", "..", ".."), env });

/** An environment the API runs with, on this test file's database and a free port. */
const runnable = () => ({
  ENVIRONMENT: "test",
  PORT: "0",
  DATABASE_URL: database.url,
  METRICS_DATABASE_URL: database.url,
  REDIS_URL: "redis://127.0.0.1:6379",
  JWT_SECRET: TEST_JWT_SECRET,
  MAX_CHAIN_SYNC_AGE_SECONDS: "0",
});

describe("the API process", () => {
  it("when configuration is invalid, then it exits 1 naming every bad variable", async () => {
    const api = start({ ENVIRONMENT: "test", DATABASE_URL: "mysql://x", REDIS_URL: "redis://127.0.0.1:6379" });
    expect((await api.exited).code).toBe(1);
    expect(api.output().stderr).toContain("DATABASE_URL: must be a postgres:// or postgresql:// URL");
    expect(api.output().stderr).toContain("JWT_SECRET: missing");
  });

  it("when started and sent SIGTERM, then it serves, then shuts down in order and exits 0", async () => {
    const api = start(runnable());
    const port = await api.port;
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(ready.status).toBe(200);
    api.child.kill("SIGTERM");
    expect((await api.exited).code).toBe(0);
    const messages = api
      .output()
      .stdout.split("\n")
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { message: string }).message);
    expect(messages).toEqual(expect.arrayContaining(["listening", "shutting down", "shut down"]));
  });

  it("when a request is in flight on a keep-alive connection at SIGTERM, then it is answered and the process still exits 0", async () => {
    const api = start(runnable());
    const port = await api.port;
    // A keep-alive request whose body is still arriving when SIGTERM comes: the connection is busy.
    const socket = net.connect(port, "127.0.0.1");
    await once(socket, "connect");
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    // A reset shows as a missing answer below, not as an error outside the test.
    socket.on("error", () => undefined);
    const body = JSON.stringify({ reason: "in flight" });
    socket.write(
      `POST /v1/rebalances HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${String(body.length)}\r\n\r\n${body.slice(0, 5)}`,
    );
    // Bounds for a loaded machine: each wait is for a log line, and says which when it fails.
    await vi.waitFor(
      () => {
        expect(api.output().stdout).toContain('"message":"listening"');
      },
      { timeout: 30_000, interval: 20 },
    );
    api.child.kill("SIGTERM");
    await vi.waitFor(
      () => {
        expect(api.output().stdout).toContain('"message":"shutting down"');
      },
      { timeout: 30_000, interval: 20 },
    );
    socket.write(body.slice(5));
    // Answered (no token: 401), then the server closes the idle connection and exits in time.
    await once(socket, "close");
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
    expect((await api.exited).code).toBe(0);
  });
});
