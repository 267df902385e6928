import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { sql } from "kysely";
import pg from "pg";
import { describe, expect, it, vi } from "vitest";
import { SERVER_TIMEOUTS } from "./server";
import { TEST_JWT_SECRET, apiProcesses } from "./testing";

const processes = apiProcesses();
const OWNER = `0x${"ab".repeat(20)}`;
const start = (env: Record<string, string>) => processes.start(env);

/** A raw connection to the API, with everything it receives and when it closed. */
async function rawConnection(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
  // A reset shows as a missing answer, not as an error outside the test.
  socket.on("error", () => undefined);
  const opened = performance.now();
  const closed = once(socket, "close").then(() => performance.now() - opened);
  return { socket, received: () => received, closed };
}

/** An environment the API runs with, on this test file's database and a free port. */
const runnable = () => ({
  ENVIRONMENT: "test",
  PORT: "0",
  DATABASE_URL: processes.database.url,
  METRICS_DATABASE_URL: processes.database.url,
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

  it("when a client sends its headers or its body too slowly, then the server answers 408 and closes the connection within its bounds", async () => {
    const api = start(runnable());
    const port = await api.port;
    // The body trickles in a byte at a time, never complete; so do the headers of another request.
    const body = await rawConnection(port);
    body.socket.write(
      "POST /v1/rebalances HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 16000\r\n\r\n{",
    );
    const headers = await rawConnection(port);
    headers.socket.write("GET /v1/fund HTTP/1.1\r\nHost: api\r\n");
    const trickle = setInterval(() => {
      if (!body.socket.destroyed) body.socket.write(" ");
      if (!headers.socket.destroyed) headers.socket.write("X-Slow: 1\r\n");
    }, 500);
    try {
      const [bodyClosedAfter, headersClosedAfter] = await Promise.all([body.closed, headers.closed]);
      expect(headers.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(body.received()).toMatch(/^HTTP\/1\.1 408 /);
      // Node checks the bounds every checkIntervalMs; the rest is this machine's slack.
      expect(headersClosedAfter).toBeGreaterThanOrEqual(SERVER_TIMEOUTS.headersMs - 1_000);
      expect(headersClosedAfter).toBeLessThan(SERVER_TIMEOUTS.headersMs + SERVER_TIMEOUTS.checkIntervalMs + 5_000);
      expect(bodyClosedAfter).toBeGreaterThanOrEqual(SERVER_TIMEOUTS.requestMs - 1_000);
      expect(bodyClosedAfter).toBeLessThan(SERVER_TIMEOUTS.requestMs + SERVER_TIMEOUTS.checkIntervalMs + 5_000);
    } finally {
      clearInterval(trickle);
    }
    // A cut slow request is the client's doing: no error is logged for it.
    expect(api.lines().filter((line) => line["level"] === "error")).toEqual([]);
    api.child.kill("SIGTERM");
    expect((await api.exited).code).toBe(0);
  }, 90_000);

  it("when SIGTERM comes while many keep-alive requests are in flight, then every one of them gets its whole answer, none is reset", async () => {
    const application = `paimon-api-sigterm-${String(process.pid)}`;
    const url = `${processes.database.url}?application_name=${application}`;
    const connections = 16;
    const api = start({
      ...runnable(),
      DATABASE_URL: url,
      METRICS_DATABASE_URL: url,
      DATABASE_POOL_SIZE: String(connections),
      // The requests wait on a lock for as long as the test takes to shut the process down.
      DATABASE_STATEMENT_TIMEOUT_MS: "50000",
      DATABASE_QUERY_TIMEOUT_MS: "55000",
    });
    const port = await api.port;
    // More connections than requests: at SIGTERM some are busy, the others idle.
    const agent = new http.Agent({ keepAlive: true, maxSockets: connections + 8 });
    type Outcome = { status: number; body: string } | { error: string };
    const get = (route: string) =>
      new Promise<Outcome>((resolve) => {
        const outgoing = http.get({ host: "127.0.0.1", port, path: route, agent }, (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (text += chunk));
          response.on("end", () => {
            resolve({ status: response.statusCode ?? 0, body: text });
          });
          response.on("error", (error) => {
            resolve({ error: String(error) });
          });
        });
        outgoing.on("error", (error) => {
          resolve({ error: String(error) });
        });
      });
    try {
      // Keep-alive connections, opened and idle, as a client's pool holds them.
      expect(
        (await Promise.all(Array.from({ length: connections + 8 }, () => get("/health")))).map(
          (o) => "status" in o && o.status,
        ),
      ).toEqual(Array<number>(connections + 8).fill(200));
      const locker = new pg.Client({ connectionString: processes.database.url });
      await locker.connect();
      let inFlight: Promise<Outcome[]>;
      try {
        await locker.query("begin");
        await locker.query("lock table redemptions in access exclusive mode");
        // A list by owner is read per request (the fund is served from the response cache): each
        // request holds a pooled connection of its own on the lock.
        inFlight = Promise.all(Array.from({ length: connections }, () => get(`/v1/redemptions?owner=${OWNER}`)));
        // The server has every request: each waits on the lock in a query of its own.
        await vi.waitFor(
          async () => {
            const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
              where application_name = ${application} and wait_event_type = 'Lock'`.execute(processes.database.db);
            expect(waiting.rows[0]?.n).toBe(connections);
          },
          { timeout: 30_000, interval: 50 },
        );
        api.child.kill("SIGTERM");
        // The server has stopped listening (and closed its idle connections) before the answers go.
        await vi.waitFor(
          async () => {
            const outcome = await new Promise<string | undefined>((resolve) => {
              const probe = net.connect(port, "127.0.0.1");
              probe.once("connect", () => {
                probe.destroy();
                resolve("connected");
              });
              probe.once("error", (error: NodeJS.ErrnoException) => {
                resolve(error.code);
              });
            });
            expect(outcome).toBe("ECONNREFUSED");
          },
          { timeout: 30_000, interval: 50 },
        );
        await locker.query("commit");
      } finally {
        await locker.end();
      }
      const outcomes = await inFlight;
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({ status: 200 });
        if ("body" in outcome) expect(JSON.parse(outcome.body)).toEqual({ data: [], next_cursor: null });
      }
      expect((await api.exited).code).toBe(0);
    } finally {
      agent.destroy();
    }
  });
});
