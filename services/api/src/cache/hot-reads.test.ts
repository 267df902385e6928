/**
 * The response cache against the real PostgreSQL and the listener's and the risk monitor's own
 * commit paths: each commit's signal makes the next response reflect it; a missed signal costs at
 * most the re-check interval; a failed rebuild is never cached; concurrent requests share one
 * rebuild. Every wait is for an event (a signal applied, a connection lost or back), never a time.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { recordAssessment } from "@paimon/core/assessments";
import { createDatabase, createMetricsDatabase } from "@paimon/core/db";
import { assessRisk } from "@paimon/core/fund";
import { createRedis } from "@paimon/core/redis";
import { ADMIN_DATABASE_URL, createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { createTcpProxy } from "@paimon/core/testing/tcp-proxy";
import { sql } from "kysely";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { touchCursor } from "@paimon/event-listener/checkpoint";
import { openApiChecker } from "../testing";
import { CACHE_CONTROL } from "./cached-body";
import { LISTENER_CHECKPOINT } from "@paimon/core/db";
import { DATA_AGE_HEADER } from "../http/data-age";
import { REBUILD_REASONS } from "./cache-metrics";
import {
  blockHash,
  cachedApp,
  commitBlock,
  manualClock,
  RECHECK_MS,
  rollBackTo,
  scrape,
  TEST_CHAIN_ID,
} from "./testing";

let database: TestDatabase;
const checkAgainstDocument = openApiChecker();
const redis = createRedis("redis://127.0.0.1:6379", { keyPrefix: `paimon-test:${randomBytes(6).toString("hex")}:` });

beforeAll(async () => {
  database = await createTestDatabase();
  await redis.connect();
});
afterAll(async () => {
  await redis.quit();
  await database.drop();
});

/** Block numbers no two tests share (they run in one database, one after another). */
let nextBlock = 100;
const layers = (l1: number) => ({ l1: String(l1), l2: "300000", l3: "600000" });

interface FundBody {
  as_of_block: string;
  nav: string;
  risk: { block_number: string } | null;
  chain_sync: { block_number: string; updated_at: string } | null;
}
interface PageBody {
  data: { id: string; status: string; channel: string }[];
  next_cursor: string | null;
}

const FUND = { route: "/v1/fund" } as const;
const REDEMPTIONS = { route: "/v1/redemptions" } as const;
const LOOKUPS = "paimon_response_cache_lookups_total";
const REBUILDS = "paimon_response_cache_rebuilds_total";
const AGE = "paimon_response_cache_data_age_seconds";

/** The fund's rebuilds by every reason, as its `/metrics` counts them. */
const fundRebuilds = async (app: Parameters<typeof scrape>[0]) => {
  const value = await scrape(app);
  return Object.fromEntries(REBUILD_REASONS.map((reason) => [reason, value(REBUILDS, { ...FUND, reason })]));
};

describe("GET /v1/fund and the redemption lists' first pages, per committed block", () => {
  it("when the listener commits a block, then the next response reflects it, with a new ETag, and a client holding the old one gets the new body", async () => {
    const clock = manualClock();
    const cached = await cachedApp({ ...database, signalsUrl: database.url, now: clock.now, redis });
    try {
      const first = nextBlock++;
      await commitBlock(database.db, { number: first, layers: layers(100_000) });
      const before = await request(cached.app).get("/v1/fund").expect(200);
      checkAgainstDocument({ method: "get", path: "/v1/fund" }, before);
      expect((before.body as FundBody).as_of_block).toBe(String(first));
      expect(before.headers["cache-control"]).toBe(CACHE_CONTROL);
      const etag = before.headers["etag"] as string;
      expect(etag).toMatch(/^"[\w-]{27}"$/);
      // A client that holds the current body revalidates for nothing: 304, no body.
      const unchanged = await request(cached.app).get("/v1/fund").set("if-none-match", etag).expect(304);
      expect(unchanged.text).toBe("");
      // The first request built the body (a miss, the cold build); the second was served it.
      let value = await scrape(cached.app);
      expect(value(LOOKUPS, { ...FUND, result: "miss" })).toBe(1);
      expect(value(LOOKUPS, { ...FUND, result: "hit" })).toBe(1);
      expect(await fundRebuilds(cached.app)).toEqual({ cold: 1, signal: 0, recheck: 0, reconnect: 0, retry: 0 });

      const applied = once(cached.hotReads, "applied");
      const second = nextBlock++;
      await commitBlock(database.db, { number: second, layers: layers(110_000) });
      await applied;
      const after = await request(cached.app).get("/v1/fund").set("if-none-match", etag).expect(200);
      expect(after.body).toMatchObject({
        as_of_block: String(second),
        layers: [{ layer: "L1", value: "110000.000000000000000000" }, {}, {}],
        chain_sync: { block_number: String(second) },
      });
      expect(after.headers["etag"]).not.toBe(etag);
      expect(Number(after.headers["paimon-data-age"])).toBeGreaterThanOrEqual(0);
      // The commit's signal rebuilt it; nothing else did. Every response served counts its data's age.
      expect(await fundRebuilds(cached.app)).toEqual({ cold: 1, signal: 1, recheck: 0, reconnect: 0, retry: 0 });
      value = await scrape(cached.app);
      expect(value(LOOKUPS, FUND)).toBe(3);
      expect(value(`${AGE}_count`, FUND)).toBe(3);
    } finally {
      await cached.close();
    }
  });

  it("when a block requests redemptions, then every list's first page shows them at the next response, while pages past the first and lists by owner are read per request", async () => {
    const clock = manualClock();
    const cached = await cachedApp({ ...database, signalsUrl: database.url, now: clock.now, redis });
    const refreshes = cached.refreshes();
    try {
      // Both lists in use before the block: cached, and rebuilt when it commits.
      await request(cached.app).get("/v1/redemptions?status=requested&limit=2").expect(200);
      await request(cached.app).get("/v1/redemptions?channel=instant").expect(200);
      const applied = once(cached.hotReads, "applied");
      const number = nextBlock++;
      const ids = [`${number}01`, `${number}02`, `${number}03`];
      await commitBlock(database.db, {
        number,
        requests: [
          { id: ids[0] ?? "", assets: "10", channel: "instant" },
          { id: ids[1] ?? "", assets: "20", channel: "standard" },
          { id: ids[2] ?? "", assets: "30", channel: "instant" },
        ],
      });
      await applied;
      const page = await request(cached.app).get("/v1/redemptions?status=requested&limit=2").expect(200);
      checkAgainstDocument({ method: "get", path: "/v1/redemptions" }, page);
      const requested = page.body as PageBody;
      // Newest first: the block's last two, and a next page since there are more.
      expect(requested.data.map((r) => r.id)).toEqual([ids[2], ids[1]]);
      expect(requested.next_cursor).not.toBeNull();
      const instant = (await request(cached.app).get("/v1/redemptions?channel=instant").expect(200)).body as PageBody;
      expect(instant.data.slice(0, 2).map((r) => r.id)).toEqual([ids[2], ids[0]]);
      // The default list and another page size of a cached list come from the same rows.
      const all = (await request(cached.app).get("/v1/redemptions").expect(200)).body as PageBody;
      expect(all.data.slice(0, 3).map((r) => r.id)).toEqual([ids[2], ids[1], ids[0]]);
      const listsBuilt = refreshes("redemptions:requested/any") + refreshes("redemptions:any/instant");

      // Past the first page, and by owner: straight from the database, no signal needed, nothing rebuilt.
      const owner = `0x${"cd".repeat(20)}`;
      await database.db
        .insertInto("redemptions")
        .values({
          id: `${number}99`,
          chain_id: TEST_CHAIN_ID,
          owner,
          shares: "1",
          assets: "1",
          channel: "standard",
          status: "requested",
          requested_block: String(number),
          requested_tx: blockHash(number),
          created_at: new Date("2020-01-01T00:00:00Z"),
        })
        .execute();
      const mine = (await request(cached.app).get(`/v1/redemptions?owner=${owner}`).expect(200)).body as PageBody;
      expect(mine.data.map((r) => r.id)).toEqual([`${number}99`]);
      const next = (
        await request(cached.app).get(`/v1/redemptions?status=requested&limit=2&cursor=${requested.next_cursor ?? ""}`)
      ).body as PageBody;
      expect(next.data[0]?.id).toBe(ids[0]);
      expect(refreshes("redemptions:requested/any") + refreshes("redemptions:any/instant")).toBe(listsBuilt);
      // Counted under the route's template, whatever the query: five first pages served, two queried past the cache.
      const value = await scrape(cached.app);
      expect(value(LOOKUPS, { ...REDEMPTIONS, result: "bypass" })).toBe(2);
      expect(
        value(LOOKUPS, { ...REDEMPTIONS, result: "hit" }) + value(LOOKUPS, { ...REDEMPTIONS, result: "miss" }),
      ).toBe(5);
      expect(value(`${AGE}_count`, REDEMPTIONS)).toBe(5);
      expect(value(REBUILDS, { ...REDEMPTIONS, reason: "cold" })).toBe(3);
      expect(value(REBUILDS, { ...REDEMPTIONS, reason: "signal" })).toBe(2);
      expect(value(LOOKUPS, { ...FUND, result: "bypass" })).toBe(0);
    } finally {
      await cached.close();
    }
  });

  it("when a reorganisation is undone, then the fund and the lists go back to the common ancestor at the next response", async () => {
    const clock = manualClock();
    const cached = await cachedApp({ ...database, signalsUrl: database.url, now: clock.now, redis });
    try {
      const ancestor = nextBlock++;
      await commitBlock(database.db, { number: ancestor, layers: layers(200_000) });
      const orphan = nextBlock++;
      const orphanId = `${orphan}01`;
      let applied = once(cached.hotReads, "applied");
      await commitBlock(database.db, {
        number: orphan,
        layers: layers(210_000),
        requests: [{ id: orphanId, assets: "5", channel: "instant" }],
      });
      await applied;
      expect(((await request(cached.app).get("/v1/fund")).body as FundBody).as_of_block).toBe(String(orphan));
      expect(((await request(cached.app).get("/v1/redemptions")).body as PageBody).data[0]?.id).toBe(orphanId);

      applied = once(cached.hotReads, "applied");
      expect(await rollBackTo(database.db, ancestor)).toBeGreaterThan(0);
      await applied;
      const fund = (await request(cached.app).get("/v1/fund").expect(200)).body as FundBody;
      expect(fund.as_of_block).toBe(String(ancestor));
      expect(fund.chain_sync?.block_number).toBe(String(ancestor));
      const page = (await request(cached.app).get("/v1/redemptions").expect(200)).body as PageBody;
      expect(page.data.map((r) => r.id)).not.toContain(orphanId);
    } finally {
      await cached.close();
    }
  });

  it("when the listener touches its cursor at the head, then the fund's chain_sync moves on, and the lists keep their rows without a rebuild", async () => {
    const clock = manualClock();
    const cached = await cachedApp({ ...database, signalsUrl: database.url, now: clock.now, redis });
    const refreshes = cached.refreshes();
    try {
      const before = (await request(cached.app).get("/v1/fund").expect(200)).body as FundBody;
      const page = await request(cached.app).get("/v1/redemptions").expect(200);
      const fundBuilt = refreshes("fund");
      const listBuilt = refreshes("redemptions:any/any");
      const applied = once(cached.hotReads, "applied");
      await touchCursor(database.db);
      await applied;
      const after = (await request(cached.app).get("/v1/fund").expect(200)).body as FundBody;
      expect(after.chain_sync?.block_number).toBe(before.chain_sync?.block_number);
      expect(Date.parse(after.chain_sync?.updated_at ?? "")).toBeGreaterThan(
        Date.parse(before.chain_sync?.updated_at ?? ""),
      );
      expect(refreshes("fund")).toBe(fundBuilt + 1);
      const again = await request(cached.app).get("/v1/redemptions").expect(200);
      expect(again.headers["etag"]).toBe(page.headers["etag"]);
      expect(refreshes("redemptions:any/any")).toBe(listBuilt);
    } finally {
      await cached.close();
    }
  });

  it("when the risk monitor records an assessment, then the fund carries it at the next response", async () => {
    const clock = manualClock();
    const cached = await cachedApp({ ...database, signalsUrl: database.url, now: clock.now, redis });
    try {
      const number = nextBlock++;
      let applied = once(cached.hotReads, "applied");
      await commitBlock(database.db, { number, layers: layers(100_000) });
      await applied;
      expect(((await request(cached.app).get("/v1/fund")).body as FundBody).risk?.block_number).not.toBe(
        String(number),
      );
      const state = { l1: "100000", l2: "300000", l3: "600000", pendingAssets: "0", pendingCount: 0 };
      applied = once(cached.hotReads, "applied");
      await recordAssessment(database.metricsDb, {
        chainId: TEST_CHAIN_ID,
        blockNumber: String(number),
        blockHash: blockHash(number),
        trigger: "block",
        assessedAt: new Date(),
        state,
        assessment: assessRisk(state),
      });
      await applied;
      expect(((await request(cached.app).get("/v1/fund")).body as FundBody).risk?.block_number).toBe(String(number));
    } finally {
      await cached.close();
    }
  });

  it("when many requests come at once, then they share one rebuild: on a cold cache, and after a commit", async () => {
    const clock = manualClock();
    const cached = await cachedApp({ ...database, signalsUrl: database.url, now: clock.now, redis });
    const refreshes = cached.refreshes();
    const many = () => Promise.all(Array.from({ length: 40 }, () => request(cached.app).get("/v1/fund").expect(200)));
    try {
      const cold = await many();
      expect(refreshes("fund")).toBe(1);
      expect((await fundRebuilds(cached.app)).cold).toBe(1);
      expect((await scrape(cached.app))(LOOKUPS, FUND)).toBe(40);
      expect(new Set(cold.map((response) => (response.body as FundBody).as_of_block)).size).toBe(1);
      const applied = once(cached.hotReads, "applied");
      const number = nextBlock++;
      await commitBlock(database.db, { number, layers: layers(120_000) });
      await applied;
      const warm = await many();
      expect(refreshes("fund")).toBe(2);
      expect(warm.map((response) => (response.body as FundBody).as_of_block)).toEqual(Array(40).fill(String(number)));
    } finally {
      await cached.close();
    }
  });

  it("when the listener last wrote its checkpoint a while ago, then each cached response counts that age, as its Paimon-Data-Age says, and a bypassed one counts none", async () => {
    const clock = manualClock();
    await commitBlock(database.db, { number: nextBlock++, layers: layers(100_000) });
    await database.db
      .updateTable("sync_checkpoints")
      .set({ updated_at: sql<Date>`now() - interval '100 seconds'` })
      .where("name", "=", LISTENER_CHECKPOINT)
      .execute();
    const cached = await cachedApp({ ...database, signalsUrl: database.url, now: clock.now, redis });
    try {
      const fund = await request(cached.app).get("/v1/fund").expect(200);
      const header = Number(fund.headers[DATA_AGE_HEADER.toLowerCase()]);
      expect(header).toBeGreaterThanOrEqual(100);
      await request(cached.app).get("/v1/redemptions?status=requested").expect(200);
      await request(cached.app)
        .get(`/v1/redemptions?owner=0x${"ef".repeat(20)}`)
        .expect(200);
      const value = await scrape(cached.app);
      expect(value(`${AGE}_count`, FUND)).toBe(1);
      expect(value(`${AGE}_sum`, FUND)).toBeGreaterThanOrEqual(header);
      expect(value(`${AGE}_sum`, FUND)).toBeLessThan(header + 5);
      for (const route of [FUND, REDEMPTIONS]) {
        expect(value(`${AGE}_bucket`, { ...route, le: "60" })).toBe(0);
        expect(value(`${AGE}_bucket`, { ...route, le: "120" })).toBe(1);
      }
      expect(value(`${AGE}_count`, REDEMPTIONS)).toBe(1);
      expect(value(LOOKUPS, { ...REDEMPTIONS, result: "bypass" })).toBe(1);
    } finally {
      await cached.close();
    }
  });
});

describe("when signals are missed or a rebuild fails", () => {
  it("when the LISTEN connection is terminated and cannot come back, then a commit shows once the re-check interval has passed, rebuilt by the re-check; once it listens again, what committed meanwhile shows at once, and commits show at the next response", async () => {
    const role = `paimon_listen_${randomBytes(4).toString("hex")}`;
    const admin = createDatabase(ADMIN_DATABASE_URL, { maxConnections: 1 });
    await sql`create role ${sql.id(role)} login`.execute(admin);
    const clock = manualClock();
    const signalsUrl = database.url.replace("postgres@", `${role}@`);
    const cached = await cachedApp({ ...database, signalsUrl, now: clock.now, redis });
    const rechecks: boolean[] = [];
    cached.hotReads.on("recheck", ({ behind }) => rechecks.push(behind));
    try {
      const first = nextBlock++;
      let applied = once(cached.hotReads, "applied");
      await commitBlock(database.db, { number: first, layers: layers(100_000) });
      await applied;
      expect(((await request(cached.app).get("/v1/fund")).body as FundBody).as_of_block).toBe(String(first));

      // The connection goes, and no new one may log in: the next commit's signal reaches nobody.
      await sql`alter role ${sql.id(role)} nologin`.execute(admin);
      const lost = once(cached.signals, "lost");
      const killed = await sql<{ ok: boolean }>`select pg_terminate_backend(pid) as ok from pg_stat_activity
        where usename = ${role}`.execute(admin);
      expect(killed.rows).toEqual([{ ok: true }]);
      await lost;
      const missed = nextBlock++;
      await commitBlock(database.db, { number: missed, layers: layers(130_000) });
      const ready = await request(cached.app).get("/health/ready").expect(200);
      expect(ready.body).toMatchObject({
        status: "ready",
        degraded: { commit_signals: expect.stringMatching(/connection lost|cannot listen/) as string },
      });
      // Within the interval the cache has not been told: the previous block, as the bound allows.
      expect(((await request(cached.app).get("/v1/fund")).body as FundBody).as_of_block).toBe(String(first));
      // Past it, the request re-checks the checkpoint first and finds the commit.
      clock.advance(RECHECK_MS);
      expect(((await request(cached.app).get("/v1/fund")).body as FundBody).as_of_block).toBe(String(missed));
      expect(rechecks.at(-1)).toBe(true);
      // What tells an operator that signals are missed: a rebuild by the re-check, none by a signal.
      expect(await fundRebuilds(cached.app)).toEqual({ cold: 1, signal: 0, recheck: 1, reconnect: 0, retry: 0 });

      // Another commit nobody hears; then the connection comes back: it re-checks at once and finds
      // it, before any request and without the interval passing, and signals flow again.
      const offline = nextBlock++;
      await commitBlock(database.db, { number: offline, layers: layers(135_000) });
      const resynced = once(cached.hotReads, "recheck");
      const listening = once(cached.signals, "listening");
      await sql`alter role ${sql.id(role)} login`.execute(admin);
      await listening;
      expect(await resynced).toEqual([{ behind: true }]);
      expect(((await request(cached.app).get("/v1/fund")).body as FundBody).as_of_block).toBe(String(offline));
      expect(await fundRebuilds(cached.app)).toEqual({ cold: 1, signal: 0, recheck: 1, reconnect: 1, retry: 0 });
      const rechecksBefore = rechecks.length;
      applied = once(cached.hotReads, "applied");
      const third = nextBlock++;
      await commitBlock(database.db, { number: third, layers: layers(140_000) });
      await applied;
      expect(((await request(cached.app).get("/v1/fund")).body as FundBody).as_of_block).toBe(String(third));
      expect(rechecks.length).toBe(rechecksBefore);
      expect(await fundRebuilds(cached.app)).toEqual({ cold: 1, signal: 1, recheck: 1, reconnect: 1, retry: 0 });
      expect((await request(cached.app).get("/health/ready").expect(200)).body).toEqual({ status: "ready" });
    } finally {
      await cached.close();
      await sql`drop role if exists ${sql.id(role)}`.execute(admin);
      await admin.destroy();
    }
  });

  it("when rebuilding after a commit fails, then requests get 503, never the previous block's body, and the next rebuild serves the new block", async () => {
    const proxy = await createTcpProxy({ host: "127.0.0.1", port: 5432 });
    const through = proxy.through(database.url);
    const db = createDatabase(through, { maxConnections: 2, connectTimeoutMs: 2_000 });
    const clock = manualClock();
    const cached = await cachedApp({ ...database, db, signalsUrl: database.url, now: clock.now, redis });
    try {
      const first = nextBlock++;
      let applied = once(cached.hotReads, "applied");
      await commitBlock(database.db, { number: first, layers: layers(100_000) });
      await applied;
      expect(((await request(cached.app).get("/v1/fund").expect(200)).body as FundBody).as_of_block).toBe(
        String(first),
      );

      await proxy.cut();
      applied = once(cached.hotReads, "applied");
      const second = nextBlock++;
      await commitBlock(database.db, { number: second, layers: layers(150_000) });
      await applied;
      const failed = await request(cached.app).get("/v1/fund").expect(503);
      expect((failed.body as { error: { code: string } }).error.code).toBe("database_unavailable");
      await request(cached.app).get("/v1/fund").expect(503);

      await proxy.restore();
      expect(((await request(cached.app).get("/v1/fund").expect(200)).body as FundBody).as_of_block).toBe(
        String(second),
      );
      // The signal's rebuild failed; each request after it that found no build in flight tried again.
      const rebuilds = await fundRebuilds(cached.app);
      expect(rebuilds).toMatchObject({ cold: 1, signal: 1, recheck: 0, reconnect: 0 });
      expect(rebuilds["retry"]).toBeGreaterThanOrEqual(2);
      // Every request waited for a build, and two of them failed: four misses, two ages served.
      const value = await scrape(cached.app);
      expect(value(LOOKUPS, { ...FUND, result: "miss" })).toBe(4);
      expect(value(`${AGE}_count`, FUND)).toBe(2);
    } finally {
      await cached.close();
      await db.destroy();
      await proxy.close();
    }
  });

  it("when the metrics database cannot answer, then the fund is served without its risk but not cached so: the next request, once it answers, carries it", async () => {
    const proxy = await createTcpProxy({ host: "127.0.0.1", port: 5432 });
    const through = proxy.through(database.url);
    const metricsDb = createMetricsDatabase(through, { maxConnections: 2, connectTimeoutMs: 2_000 });
    const clock = manualClock();
    const cached = await cachedApp({ ...database, metricsDb, signalsUrl: database.url, now: clock.now, redis });
    try {
      const number = nextBlock++;
      await commitBlock(database.db, { number, layers: layers(100_000) });
      const state = { l1: "100000", l2: "300000", l3: "600000", pendingAssets: "0", pendingCount: 0 };
      await recordAssessment(database.metricsDb, {
        chainId: TEST_CHAIN_ID,
        blockNumber: String(number),
        blockHash: blockHash(number),
        trigger: "block",
        assessedAt: new Date(),
        state,
        assessment: assessRisk(state),
      });
      const withRisk = (await request(cached.app).get("/v1/fund").expect(200)).body as FundBody;
      expect(withRisk.risk?.block_number).toBe(String(number));
      await proxy.cut();
      const applied = once(cached.hotReads, "applied");
      await commitBlock(database.db, { number: nextBlock++, layers: layers(100_000) });
      await applied;
      expect(((await request(cached.app).get("/v1/fund").expect(200)).body as FundBody).risk).toBeNull();
      await proxy.restore();
      expect(((await request(cached.app).get("/v1/fund").expect(200)).body as FundBody).risk).toEqual(withRisk.risk);
    } finally {
      await cached.close();
      await metricsDb.destroy();
      await proxy.close();
    }
  });
});
