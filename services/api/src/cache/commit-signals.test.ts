/**
 * The LISTEN connection on the real PostgreSQL, reached through a TCP proxy where the test needs
 * to refuse or silence it: it listens once the database is up, replaces a silent connection (the
 * heartbeat), reports a payload that breaks the contract, and closes cleanly.
 */
import { once } from "node:events";
import { CHAIN_COMMIT_CHANNEL, RISK_COMMIT_CHANNEL } from "@paimon/core/commit-signal";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { createTcpProxy, type TcpProxy } from "@paimon/core/testing/tcp-proxy";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommitSignals, groupSources, type CommitSignalsOptions } from "./commit-signals";
import { silentLogger } from "./testing";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

const through = (proxy: TcpProxy) => proxy.through(database.url);

/**
 * Timeouts no loaded machine trips: only the heartbeat's test shortens them, to find a silent
 * connection quickly.
 */
const options = (url: string, overrides: Partial<CommitSignalsOptions> = {}): CommitSignalsOptions => ({
  sources: [{ url, channels: [CHAIN_COMMIT_CHANNEL] }],
  logger: silentLogger(),
  timeoutMs: 30_000,
  reconnect: { startingDelayMs: 20, maxDelayMs: 200 },
  heartbeatMs: 60_000,
  ...overrides,
});

describe("the commit signals' connection", () => {
  it("when the fund's and the metrics database are one, then one connection listens on both channels", () => {
    expect(
      groupSources([
        { url: "postgresql://a/fund", channels: [CHAIN_COMMIT_CHANNEL] },
        { url: "postgresql://a/fund", channels: [RISK_COMMIT_CHANNEL] },
        { url: "postgresql://b/metrics", channels: [RISK_COMMIT_CHANNEL] },
      ]),
    ).toEqual([
      { url: "postgresql://a/fund", channels: [CHAIN_COMMIT_CHANNEL, RISK_COMMIT_CHANNEL] },
      { url: "postgresql://b/metrics", channels: [RISK_COMMIT_CHANNEL] },
    ]);
  });

  it("when the database refuses connections at start, then it keeps trying, and listens once the database is back", async () => {
    const proxy = await createTcpProxy({ host: "127.0.0.1", port: 5432 });
    await proxy.cut();
    const signals = createCommitSignals(options(through(proxy)));
    try {
      signals.start();
      expect(signals.status()).toMatchObject({ listening: false });
      const listening = once(signals, "listening");
      await proxy.restore();
      await listening;
      expect(signals.status()).toEqual({ listening: true });
    } finally {
      await signals.close();
      await proxy.close();
    }
  });

  it("when the connection goes silent, then the heartbeat finds it and another connection listens once the network answers", async () => {
    const proxy = await createTcpProxy({ host: "127.0.0.1", port: 5432 });
    const signals = createCommitSignals(options(through(proxy), { heartbeatMs: 100, timeoutMs: 500 }));
    try {
      let listening = once(signals, "listening");
      signals.start();
      await listening;
      const lost = once(signals, "lost");
      await proxy.set("blackhole");
      const [{ reason }] = (await lost) as [{ reason: string }];
      expect(reason).toMatch(/^heartbeat unanswered: /);
      expect(signals.status()).toMatchObject({ listening: false });
      listening = once(signals, "listening");
      await proxy.set("forward");
      await listening;
      // The new connection hears commits. On a loaded machine one slow heartbeat may replace it
      // again before the notification reaches it: every connection that listens from here on is
      // sent one, until one is heard.
      const signal = once(signals, "signal");
      const notify = () =>
        sql`select pg_notify(${CHAIN_COMMIT_CHANNEL}, ${JSON.stringify({
          block_number: "5",
          block_hash: "0x05",
          updated_at: "2026-01-01T00:00:00.000Z",
        })})`.execute(database.db);
      const notified = [notify()];
      const notifyAgain = () => {
        notified.push(notify());
      };
      signals.on("listening", notifyAgain);
      const heard = await signal.finally(() => signals.off("listening", notifyAgain));
      await Promise.all(notified);
      expect(heard).toEqual([
        {
          channel: CHAIN_COMMIT_CHANNEL,
          checkpoint: { blockNumber: "5", blockHash: "0x05", updatedAt: new Date("2026-01-01T00:00:00.000Z") },
        },
      ]);
    } finally {
      await signals.close();
      await proxy.close();
    }
  });

  it("when a notification breaks the contract, then it is reported as malformed, naming the channel", async () => {
    const signals = createCommitSignals(options(database.url));
    try {
      const listening = once(signals, "listening");
      signals.start();
      await listening;
      const malformed = once(signals, "malformed");
      await sql`select pg_notify(${CHAIN_COMMIT_CHANNEL}, 'block 5 is in')`.execute(database.db);
      const [{ channel, error }] = (await malformed) as [{ channel: string; error: Error }];
      expect(channel).toBe(CHAIN_COMMIT_CHANNEL);
      expect(error.message).toBe(`${CHAIN_COMMIT_CHANNEL}: the payload is not JSON`);
    } finally {
      await signals.close();
    }
  });

  it("when closed, then its connection is gone from the database", async () => {
    const applicationName = `paimon-commit-signals-close-${String(process.pid)}`;
    const signals = createCommitSignals(options(database.url, { applicationName }));
    const listening = once(signals, "listening");
    signals.start();
    await listening;
    const count = async () =>
      (
        await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
          where application_name = ${applicationName}`.execute(database.db)
      ).rows[0]?.n;
    expect(await count()).toBe(1);
    await signals.close();
    // The backend may take a moment to go after the client's goodbye; the goodbye itself is synchronous with close().
    await expect.poll(count, { timeout: 10_000, interval: 20 }).toBe(0);
  });
});
