/**
 * Where a backfill's time goes, stage by stage, with nothing overlapped: the ranges' logs (already
 * fetched by the raw pass) decoded, the headers and timestamps a commit needs fetched, the
 * statements' rows built (`prepare`), and each range committed by the listener's own
 * `commitBatch` into a database of its own, every statement timed through Kysely's query log. Then, from that database, how many index entries the rows
 * written per event cost (each index counted over the rows its predicate covers).
 */
import type { Database } from "@paimon/core/db";
import { createTestDatabase } from "@paimon/core/testing";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { createEventDecoder, type ChainEvent } from "../src/events";
import type { BlockHeader, RawLog, RpcClient } from "../src/rpc";
import { commitBatch, prepare, type Prepared } from "../src/store";

export interface FetchedRange {
  readonly from: bigint;
  readonly to: bigint;
  readonly logs: readonly RawLog[];
}

export interface StageBreakdown {
  readonly ranges: number;
  readonly events: number;
  readonly decodeSeconds: number;
  /** Headers of the range ends and the block timestamps the events carry. */
  readonly headersSeconds: number;
  readonly headerCalls: number;
  /** Building the statements' rows and work (what a range read ahead does before its commit). */
  readonly prepareSeconds: number;
  readonly commitSeconds: number;
  readonly statements: number;
  /** Database time by statement ("insert chain_events", "update redemptions", …), longest first. */
  readonly byStatement: readonly { readonly label: string; readonly count: number; readonly seconds: number }[];
  /** Index entries the written rows hold, per table, and in all, per event. */
  readonly indexEntries: readonly { readonly table: string; readonly indexes: number; readonly entries: number }[];
}

/** The tables a commit writes. */
const WRITTEN = ["chain_events", "redemptions", "fund_snapshots", "outbox", "chain_blocks", "sync_checkpoints"];

/** "insert chain_events", "select pg_notify", "begin": what a statement does to what. */
export function statementLabel(text: string): string {
  const flat = text.trim().replace(/\s+/g, " ").toLowerCase();
  const match =
    /^(insert into|update|delete from|select pg_notify|select|with|begin|commit|rollback)\b\s*"?([a-z_]*)"?/.exec(flat);
  if (!match) return flat.slice(0, 24);
  const verb = (match[1] ?? "").replace(/ (into|from)$/, "");
  return verb === "select pg_notify" || verb === "begin" || verb === "commit" || verb === "rollback"
    ? verb
    : `${verb} ${match[2] ?? ""}`.trim();
}

export async function measureStages(options: {
  readonly rpc: RpcClient;
  readonly chainId: number;
  readonly ranges: readonly FetchedRange[];
}): Promise<StageBreakdown> {
  const { rpc, chainId, ranges } = options;
  const decoder = createEventDecoder();

  let started = performance.now();
  const decoded = ranges.map((range) =>
    range.logs.flatMap((log) => {
      const event = decoder.decode(log);
      return event ? [event] : [];
    }),
  );
  const decodeSeconds = (performance.now() - started) / 1000;

  // What the listener asks the node for besides the logs: each range's end, and the time of every
  // block whose events are stamped with it.
  started = performance.now();
  let headerCalls = 0;
  const header = async (number: bigint): Promise<BlockHeader> => {
    headerCalls += 1;
    const block = await rpc.block(number);
    if (!block) throw new Error(`the node has no block ${number.toString()}`);
    return block;
  };
  const ends: BlockHeader[] = [];
  const timestamps: Map<bigint, number>[] = [];
  for (const [index, range] of ranges.entries()) {
    const end = await header(range.to);
    ends.push(end);
    const times = new Map<bigint, number>([[end.number, end.timestamp]]);
    for (const e of decoded[index] ?? []) {
      if (!times.has(e.blockNumber)) times.set(e.blockNumber, (await header(e.blockNumber)).timestamp);
    }
    timestamps.push(times);
  }
  const headersSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  const prepared: Prepared[] = ranges.map((_, index) =>
    prepare(chainId, decoded[index] ?? [], timestamps[index] ?? new Map()),
  );
  const prepareSeconds = (performance.now() - started) / 1000;

  const database = await createTestDatabase();
  const byLabel = new Map<string, { count: number; seconds: number }>();
  let timing = true;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 1 }) }),
    log: (event) => {
      if (!timing) return;
      const label = statementLabel(event.query.sql);
      const entry = byLabel.get(label) ?? { count: 0, seconds: 0 };
      entry.count += 1;
      entry.seconds += event.queryDurationMillis / 1000;
      byLabel.set(label, entry);
    },
  });
  try {
    const final = ranges.at(-1)?.to ?? 0n;
    started = performance.now();
    for (const [index, range] of ranges.entries()) {
      const end = ends[index];
      if (!end) throw new Error("no header for a range");
      const events: ChainEvent[] = decoded[index] ?? [];
      await commitBatch(db, {
        chainId,
        events,
        timestamps: timestamps[index] ?? new Map(),
        blocks: [end],
        cursor: { number: range.to, hash: end.hash },
        finalized: final,
        ...(prepared[index] ? { prepared: prepared[index] } : {}),
      });
    }
    const commitSeconds = (performance.now() - started) / 1000;
    timing = false;
    const indexEntries = await countIndexEntries(db);
    const byStatement = [...byLabel]
      .map(([label, entry]) => ({ label, ...entry }))
      .sort((a, b) => b.seconds - a.seconds);
    return {
      ranges: ranges.length,
      events: decoded.reduce((sum, events) => sum + events.length, 0),
      decodeSeconds,
      headersSeconds,
      headerCalls,
      prepareSeconds,
      commitSeconds,
      statements: byStatement.reduce((sum, entry) => sum + entry.count, 0),
      byStatement,
      indexEntries,
    };
  } finally {
    await db.destroy();
    await database.drop();
  }
}

/** For each written table: its indexes, and the entries they hold (rows within each one's predicate). */
async function countIndexEntries(db: Kysely<Database>): Promise<StageBreakdown["indexEntries"]> {
  const indexes = await sql<{ table: string; predicate: string | null }>`
    select t.relname as table, pg_get_expr(i.indpred, i.indrelid) as predicate
    from pg_index i join pg_class t on t.oid = i.indrelid
    where t.relname in (${sql.join(WRITTEN)}) and t.relnamespace = 'public'::regnamespace`.execute(db);
  const result = new Map<string, { indexes: number; entries: number }>();
  for (const { table, predicate } of indexes.rows) {
    const counted = await sql<{ count: string }>`
      select count(*)::text as count from ${sql.table(table)} where ${sql.raw(predicate ?? "true")}`.execute(db);
    const entry = result.get(table) ?? { indexes: 0, entries: 0 };
    entry.indexes += 1;
    entry.entries += Number(counted.rows[0]?.count ?? 0);
    result.set(table, entry);
  }
  return WRITTEN.flatMap((table) => {
    const entry = result.get(table);
    return entry ? [{ table, ...entry }] : [];
  });
}
