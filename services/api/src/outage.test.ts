/**
 * What the API does when PostgreSQL fails under it: connections terminated while queries wait on
 * them (a failover, `pg_terminate_backend`), and a database that stops answering (a stalled
 * network path, which only timeouts detect).
 */
import { randomBytes } from "node:crypto";
import { createDatabase } from "@paimon/core/db";
import { createRedis } from "@paimon/core/redis";
import { createTcpProxy } from "@paimon/core/testing/tcp-proxy";
import { SignJWT } from "jose";
import { sql } from "kysely";
import pg from "pg";
import request from "supertest";
import { describe, expect, it, vi } from "vitest";
import { databaseTimeouts, loadApiConfig } from "./config";
import { READINESS_DATABASE_BOUND_MS } from "./health";
import { apiProcesses, createTestApp, openApiChecker, TEST_JWT_SECRET } from "./testing";

const processes = apiProcesses();

/** What a loaded machine may add to a bounded wait: this process can be held up for 15 s at a time. */
const SLACK_MS = 30_000;
/**
 * The query timeout of the tests that make one happen: longer than such a hold-up, so that a
 * healthy query is never cut, and one timeout is told from two.
 */
const QUERY_TIMEOUT_MS = 20_000;

interface Answer {
  readonly status: number;
  readonly code?: string;
  readonly retryAfter?: string | null;
  readonly error?: string;
}

/** A request's outcome: its status and error code, or the socket error that stood for an answer. */
const answer = (url: string): Promise<Answer> =>
  fetch(url).then(
    async (response) => {
      const body = (await response.json()) as { error?: { code: string } };
      return {
        status: response.status,
        ...(body.error ? { code: body.error.code } : {}),
        retryAfter: response.headers.get("retry-after"),
      };
    },
    (error: unknown) => ({ status: 0, error: String(error) }),
  );

describe("PostgreSQL terminates the API's connections while requests are in flight", () => {
  it("when every backend of the API is terminated while requests wait on them, then the process stays up, every request is answered 200 or 503, and it serves again", async () => {
    const application = `paimon-api-outage-${String(process.pid)}`;
    const url = `${processes.database.url}?application_name=${application}`;
    const api = processes.start({
      ENVIRONMENT: "test",
      PORT: "0",
      DATABASE_URL: url,
      METRICS_DATABASE_URL: url,
      DATABASE_POOL_SIZE: "6",
      // The requests below wait on a lock for as long as this test takes to see them waiting:
      // the server must not cancel them first, or no connection would be in use when terminated.
      DATABASE_STATEMENT_TIMEOUT_MS: "50000",
      DATABASE_QUERY_TIMEOUT_MS: "55000",
      REDIS_URL: "redis://127.0.0.1:6379",
      JWT_SECRET: TEST_JWT_SECRET,
      MAX_CHAIN_SYNC_AGE_SECONDS: "0",
      RATE_LIMIT_PER_MINUTE: "1000000",
    });
    const base = `http://127.0.0.1:${String(await api.port)}`;
    expect((await answer(`${base}/v1/fund`)).status).toBe(200);

    // A lock on the redemptions holds every read of a list by owner in flight, on a checked-out
    // connection (such a list is read per request; the fund would come from the response cache).
    const locker = new pg.Client({ connectionString: processes.database.url });
    await locker.connect();
    let answers: Promise<Answer[]>;
    try {
      await locker.query("begin");
      await locker.query("lock table redemptions in access exclusive mode");
      answers = Promise.all(
        Array.from({ length: 20 }, () => answer(`${base}/v1/redemptions?owner=0x${"ab".repeat(20)}`)),
      );
      // Every connection of the API's pool waits on the lock: all are checked out, mid-query. (Read
      // from another session: within the locker's transaction, pg_stat_activity is one snapshot.)
      await vi.waitFor(
        async () => {
          const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
            where application_name = ${application} and wait_event_type = 'Lock'`.execute(processes.database.db);
          expect(waiting.rows[0]?.n).toBe(6);
        },
        { timeout: 30_000, interval: 50 },
      );
      // Every connection of the API, busy or idle (the pids first: a filter beside
      // pg_terminate_backend in one WHERE may be evaluated after it).
      const backends = await sql<{ pid: number }>`select pid from pg_stat_activity
        where application_name = ${application}`.execute(processes.database.db);
      const terminated = await sql<{ ok: boolean }>`select pg_terminate_backend(pid) as ok
        from unnest(${backends.rows.map((row) => row.pid)}::int[]) as pid`.execute(processes.database.db);
      expect(terminated.rows.filter((row) => row.ok).length).toBeGreaterThanOrEqual(6);
      await locker.query("commit");
    } finally {
      await locker.end();
    }

    const results = await answers;
    expect(results.filter((result) => result.status !== 200 && result.status !== 503)).toEqual([]);
    const unavailable = results.filter((result) => result.status === 503);
    expect(unavailable.length).toBeGreaterThanOrEqual(6);
    for (const result of unavailable) {
      expect(result.code).toBe("database_unavailable");
      expect(Number(result.retryAfter)).toBeGreaterThan(0);
    }
    // The pool replaces the terminated connections: the API serves again, and it never crashed.
    await vi.waitFor(
      async () => {
        expect((await answer(`${base}/v1/redemptions?owner=0x${"ab".repeat(20)}`)).status).toBe(200);
        expect((await answer(`${base}/v1/fund`)).status).toBe(200);
      },
      { timeout: 30_000, interval: 50 },
    );
    expect(api.child.exitCode).toBeNull();
    expect(api.lines().filter((line) => line["level"] === "error")).toEqual([]);
    api.child.kill("SIGTERM");
    expect((await api.exited).code).toBe(0);
  });
});

describe("PostgreSQL stops answering (a stalled network path: only timeouts can tell)", () => {
  it("when the API's database is silent, then every request is answered 503 database_unavailable within its timeouts, readiness fails naming postgres, and it serves again once PostgreSQL answers", async () => {
    const proxy = await createTcpProxy({ host: "127.0.0.1", port: 5432 });
    // The API's own timeouts, as its composition root takes them from the configuration's defaults.
    const timeouts = databaseTimeouts(
      loadApiConfig({
        ENVIRONMENT: "test",
        DATABASE_URL: processes.database.url,
        METRICS_DATABASE_URL: processes.database.url,
        REDIS_URL: "redis://127.0.0.1:6379",
        JWT_SECRET: TEST_JWT_SECRET,
      }),
    );
    expect(timeouts).toEqual({ statementTimeoutMs: 5_000, queryTimeoutMs: 6_000, connectTimeoutMs: 5_000 });
    const db = createDatabase(proxy.through(processes.database.url), { ...timeouts, maxConnections: 2 });
    const redis = createRedis("redis://127.0.0.1:6379", {
      keyPrefix: `paimon-test:${randomBytes(6).toString("hex")}:`,
    });
    await redis.connect();
    const { app } = createTestApp({
      db,
      metricsDb: processes.database.metricsDb,
      redis,
      rateLimitPerMinute: 1_000_000,
    });
    const auth = `Bearer ${await new SignJWT({ role: "operator" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("ops@paimon.fund")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(TEST_JWT_SECRET))}`;
    let n = 0;
    const trigger = () =>
      request(app)
        .post("/v1/rebalances")
        .set("content-type", "application/json")
        .set("authorization", auth)
        .set("idempotency-key", `outage-${String((n += 1))}-${randomBytes(4).toString("hex")}`)
        .send(JSON.stringify({ reason: "outage test" }));
    const check = openApiChecker();
    try {
      // Both pooled connections open and idle: the silence catches them as a failover would.
      await Promise.all([request(app).get("/v1/fund").expect(200), trigger().expect(202)]);
      await proxy.set("blackhole");
      const timed = async (name: string, send: () => request.Test) => {
        const started = performance.now();
        const response = await send();
        return { name, response, ms: performance.now() - started };
      };
      const answers = await Promise.all([
        ...Array.from({ length: 8 }, () => timed("/v1/fund", () => request(app).get("/v1/fund"))),
        ...Array.from({ length: 4 }, () => timed("/v1/redemptions", () => request(app).get("/v1/redemptions"))),
        // A transaction: its BEGIN times out, and its ROLLBACK must not wait a second time.
        ...Array.from({ length: 3 }, () => timed("/v1/rebalances", trigger)),
      ]);
      for (const { name, response, ms } of answers) {
        expect(response.status, `${name}: ${response.text}`).toBe(503);
        expect((response.body as { error: { code: string } }).error.code).toBe("database_unavailable");
        expect(response.headers["retry-after"]).toBe("5");
        // Bounded by the connect timeout (waiting for a connection) or the query timeout (waiting on
        // one), where a silent connection would otherwise hold it until the test's own timeout. That
        // a transaction waits one timeout, not two, is told below, where the timeout is long enough
        // to tell them apart on a loaded machine.
        expect(ms, name).toBeLessThan(Math.max(timeouts.connectTimeoutMs, timeouts.queryTimeoutMs) + SLACK_MS);
        check({ method: name === "/v1/rebalances" ? "post" : "get", path: name }, response);
      }
      const ready = await request(app).get("/health/ready").expect(503);
      expect(ready.body).toMatchObject({ status: "unavailable", failed: { postgres: expect.any(String) as string } });
      expect(Object.keys((ready.body as { failed: object }).failed)).toEqual(["postgres"]);
      expect(READINESS_DATABASE_BOUND_MS).toBeLessThan(3_000); // the probe's own timeout
    } finally {
      await proxy.set("forward");
    }
    try {
      await vi.waitFor(
        async () => {
          await request(app).get("/v1/fund").expect(200);
        },
        { timeout: 30_000, interval: 50 },
      );
      await trigger().expect(202);
      await request(app).get("/health/ready").expect(200);
    } finally {
      redis.disconnect();
      await db.destroy();
      await proxy.close();
    }
  }, 120_000);

  it("when a query times out on a silent connection, then that connection is closed, not reused: the next query opens a new one", async () => {
    const proxy = await createTcpProxy({ host: "127.0.0.1", port: 5432 });
    const db = createDatabase(proxy.through(processes.database.url), {
      maxConnections: 1,
      queryTimeoutMs: QUERY_TIMEOUT_MS,
    });
    try {
      await sql`select 1`.execute(db);
      expect(proxy.accepted()).toBe(1);
      await proxy.set("blackhole");
      await expect(sql`select 2`.execute(db)).rejects.toThrow("Query read timeout");
      // Back in forward, the old connection would get its held bytes and answer again: reusing it
      // would pass here, but where the peer is really gone (a failover without a reset) every
      // query on it would time out until TCP gave up, minutes later.
      await proxy.set("forward");
      await sql`select 3`.execute(db);
      expect(proxy.accepted()).toBe(2);
    } finally {
      await db.destroy();
      await proxy.close();
    }
  }, 120_000);

  it("when a transaction's query times out on a silent connection, then its ROLLBACK fails at once instead of timing out a second time", async () => {
    const proxy = await createTcpProxy({ host: "127.0.0.1", port: 5432 });
    const queryTimeoutMs = QUERY_TIMEOUT_MS;
    const db = createDatabase(proxy.through(processes.database.url), { maxConnections: 1, queryTimeoutMs });
    try {
      let started = 0;
      await expect(
        db.transaction().execute(async (trx) => {
          // BEGIN went through; the database goes silent in the middle of the transaction.
          await proxy.set("blackhole");
          started = performance.now();
          await sql`select 2`.execute(trx);
        }),
      ).rejects.toThrow("Query read timeout");
      const elapsed = performance.now() - started;
      // One timeout (the query's), not two (the query's, then ROLLBACK's behind it on the same connection).
      expect(elapsed).toBeGreaterThanOrEqual(queryTimeoutMs - 50);
      expect(elapsed).toBeLessThan(2 * queryTimeoutMs);
      await proxy.set("forward");
      await sql`select 3`.execute(db);
    } finally {
      await db.destroy();
      await proxy.close();
    }
  }, 120_000);

  it("when a statement runs longer than the statement timeout, then PostgreSQL cancels it and the connection serves the next query", async () => {
    const db = createDatabase(processes.database.url, { maxConnections: 1, statementTimeoutMs: 200 });
    try {
      const slow = sql`select pg_sleep(30)`.execute(db);
      await expect(slow).rejects.toMatchObject({ code: "57014" });
      const { rows } = await sql<{ timeout: string }>`select current_setting('statement_timeout') as timeout`.execute(
        db,
      );
      expect(rows).toEqual([{ timeout: "200ms" }]);
    } finally {
      await db.destroy();
    }
  });
});
