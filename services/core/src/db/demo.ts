import { createHash } from "node:crypto";
import { sql, type Kysely, type Transaction } from "kysely";
import { AMOUNT_PLACES, formatUnits } from "../fund/decimal";
import { assessRisk } from "../fund/risk";
import { assessmentRow } from "./assessments";
import { LISTENER_CHECKPOINT } from "./index";
import type { MetricsDatabase } from "./metrics-schema";
import type { Database, Layer, NewRedemption, RebalanceStatus, RebalanceTrigger } from "./schema";

export interface DemoFundOptions {
  /** When the latest snapshot is recorded and the chain checkpoint last advanced. @default now */
  readonly asOf?: Date;
  /** The chain of the redemptions and of the checkpoint. @default 56 (BNB Smart Chain) */
  readonly chainId?: number;
  /** How many redemptions, with ids "1" to this. Must be a positive integer. @default 2000 */
  readonly redemptions?: number;
}

/** What a load wrote. */
export interface DemoFund {
  readonly asOf: Date;
  readonly latestBlock: string;
  readonly snapshots: number;
  readonly riskAssessments: number;
  readonly redemptions: number;
  readonly rebalances: number;
}

/** The checkpoint the API's readiness reads: the event listener's own. */
export const DEMO_CHECKPOINT = LISTENER_CHECKPOINT;

const HOUR_MS = 3_600_000;
const SNAPSHOT_HISTORY_HOURS = 14 * 24;
const RISK_INTERVAL_HOURS = 4;
/** Hours before `asOf` in which L1 sags below its 8 % floor until a threshold rebalance refills it. */
const DIP_HOURS = { from: 72, to: 61 } as const;
const NAV_USD = 10_000_000;
const OWNERS = 240;
/** A steady block clock (BSC's 0.75 s blocks since Maxwell), anchored so blocks look current. */
const BLOCK_TIME_MS = 750;
const REFERENCE = { timeMs: Date.UTC(2026, 0, 1), block: 72_000_000 } as const;
const STANDARD_SETTLEMENT_HOURS = 44;
const SCALE = 10n ** BigInt(AMOUNT_PLACES);
const INSERT_CHUNK_ROWS = 500;

/** A number in [0, 1) that depends on `key` alone: the demo is the same on every load. */
function draw(key: string): number {
  return createHash("sha256").update(key).digest().readUIntBE(0, 6) / 2 ** 48;
}

const hexOf = (key: string, length = 64): string => createHash("sha256").update(key).digest("hex").slice(0, length);

const decimal = (units: bigint): string => formatUnits(units);

/** A float rounded to `places` decimals, in base units: floats stop here, sums stay exact. */
const unitsOf = (value: number, places = 6): bigint =>
  BigInt(Math.round(value * 10 ** places)) * 10n ** BigInt(AMOUNT_PLACES - places);

const blockAt = (timeMs: number): number => REFERENCE.block + Math.floor((timeMs - REFERENCE.timeMs) / BLOCK_TIME_MS);

function uuidOf(key: string): string {
  const hex = hexOf(key, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

interface DemoRedemption {
  readonly row: NewRedemption;
  readonly createdMs: number;
  /** When it settled or was cancelled; undefined while requested. */
  readonly resolvedMs: number | undefined;
  readonly assetUnits: bigint;
}

function redemption(index: number, count: number, asOfMs: number, chainId: number): DemoRedemption {
  const r = (what: string) => draw(`redemption:${index}:${what}`);
  const spanMs = SNAPSHOT_HISTORY_HOURS * HOUR_MS;
  const createdMs = Math.round(asOfMs - spanMs + (spanMs * (index + 0.1 + 0.8 * r("time"))) / count);
  const channel = r("channel") < 0.55 ? "instant" : "standard";
  // Instant redemptions are paid from L1 within a few blocks; standard ones wait for L2/L3, and
  // some of their owners cancel while waiting. Until then, a redemption stays requested.
  const cancelled = channel === "standard" && r("cancel") < 0.08;
  const resolvingMs =
    channel === "instant"
      ? createdMs + BLOCK_TIME_MS * (1 + Math.floor(r("delay") * 4))
      : createdMs + HOUR_MS * (cancelled ? 2 + 18 * r("delay") : STANDARD_SETTLEMENT_HOURS + 8 * r("delay"));
  const resolvedMs = resolvingMs <= asOfMs ? resolvingMs : undefined;
  const status = resolvedMs === undefined ? "requested" : cancelled ? "cancelled" : "settled";
  // Many small holders, a few whales: the square skews draws towards the first owners.
  const owner = `0x${hexOf(`owner:${Math.floor(r("owner") ** 2 * OWNERS)}`, 40)}`;
  const shareUnits = unitsOf(20 * 1000 ** r("shares"));
  const pricePerShare = 1.0312 + (0.045 * (createdMs - (asOfMs - spanMs))) / (365 * 24 * HOUR_MS);
  const assetUnits = (shareUnits * unitsOf(pricePerShare, 9)) / SCALE;
  const updatedMs = resolvedMs ?? createdMs;
  const row: NewRedemption = {
    id: String(index + 1),
    chain_id: chainId,
    owner,
    shares: decimal(shareUnits),
    assets: decimal(assetUnits),
    channel,
    status,
    requested_block: blockAt(createdMs),
    requested_tx: `0x${hexOf(`redemption-tx:${index}`)}`,
    resolved_block: resolvedMs === undefined ? null : blockAt(resolvedMs),
    created_at: new Date(createdMs),
    updated_at: new Date(updatedMs),
  };
  return { row, createdMs, resolvedMs, assetUnits };
}

/** L1's share of NAV `hoursAgo` hours before `asOf`: near 10 %, sagging to ~6 % during the dip. */
function l1Share(hoursAgo: number): number {
  if (hoursAgo >= DIP_HOURS.to && hoursAgo <= DIP_HOURS.from) {
    const middle = (DIP_HOURS.from + DIP_HOURS.to) / 2;
    const depth = 1 - Math.abs(hoursAgo - middle) / ((DIP_HOURS.from - DIP_HOURS.to) / 2 + 1);
    return 0.079 - 0.018 * depth;
  }
  return 0.1 + 0.008 * Math.sin(hoursAgo / 7) + 0.004 * (draw(`l1:${hoursAgo}`) - 0.5);
}

interface Snapshot {
  readonly hoursAgo: number;
  readonly recordedMs: number;
  readonly block: number;
  readonly nav: bigint;
  readonly l1: bigint;
  readonly l2: bigint;
  readonly l3: bigint;
}

function snapshot(hoursAgo: number, asOfMs: number): Snapshot {
  const recordedMs = asOfMs - hoursAgo * HOUR_MS;
  const navUsd =
    NAV_USD * (1 + 0.012 * Math.sin(hoursAgo / 19) - 0.00015 * hoursAgo + 0.002 * (draw(`nav:${hoursAgo}`) - 0.5));
  const nav = unitsOf(navUsd, 2);
  const l1 = (nav * BigInt(Math.round(l1Share(hoursAgo) * 1e6))) / 1_000_000n;
  const l2Share = 0.3 + 0.012 * Math.sin(hoursAgo / 11) + 0.004 * (draw(`l2:${hoursAgo}`) - 0.5);
  const l2 = (nav * BigInt(Math.round(l2Share * 1e6))) / 1_000_000n;
  // L3 takes the remainder, so the layers always sum to NAV exactly.
  return { hoursAgo, recordedMs, block: blockAt(recordedMs), nav, l1, l2, l3: nav - l1 - l2 };
}

interface DemoRebalance {
  readonly key: string;
  readonly trigger: RebalanceTrigger;
  readonly status: RebalanceStatus;
  readonly hoursAgo: number;
  readonly plan: readonly { from: Layer; to: Layer; amount: number }[];
  readonly error?: string;
  readonly requestedBy?: string;
}

const REBALANCES: readonly DemoRebalance[] = [
  {
    key: "weekly-1",
    trigger: "scheduled",
    status: "succeeded",
    hoursAgo: 313,
    plan: [{ from: "L3", to: "L2", amount: 150_000 }],
  },
  {
    key: "weekly-2",
    trigger: "scheduled",
    status: "succeeded",
    hoursAgo: 145,
    plan: [{ from: "L2", to: "L1", amount: 80_000 }],
  },
  {
    key: "dip-1",
    trigger: "threshold",
    status: "failed",
    hoursAgo: 66,
    plan: [{ from: "L3", to: "L1", amount: 400_000 }],
    error: "L3 vault withdrawal reverted: the withdrawal queue is full",
  },
  {
    key: "dip-2",
    trigger: "threshold",
    status: "succeeded",
    hoursAgo: 61,
    plan: [
      { from: "L3", to: "L1", amount: 300_000 },
      { from: "L2", to: "L1", amount: 60_000 },
    ],
  },
  {
    key: "manual-1",
    trigger: "manual",
    status: "succeeded",
    hoursAgo: 30,
    plan: [{ from: "L2", to: "L1", amount: 50_000 }],
    requestedBy: "oncall@paimon.fund",
  },
  {
    key: "weekly-3",
    trigger: "scheduled",
    status: "succeeded",
    hoursAgo: 1,
    plan: [{ from: "L3", to: "L2", amount: 120_000 }],
  },
];

function chunks<T>(rows: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < rows.length; start += INSERT_CHUNK_ROWS)
    result.push(rows.slice(start, start + INSERT_CHUNK_ROWS));
  return result;
}

/**
 * Snapshots have no natural key, so the demo's rows carry negative ids — the identity sequence
 * never issues one — and a load replaces exactly those rows, never an indexer's.
 */
async function replaceSnapshots(trx: Transaction<Database>, snapshots: readonly Snapshot[]): Promise<void> {
  await trx.deleteFrom("fund_snapshots").where("id", "<", "0").execute();
  for (const rows of chunks(snapshots)) {
    await sql`insert into fund_snapshots (id, recorded_at, block_number, nav, l1_value, l2_value, l3_value)
      overriding system value values ${sql.join(
        rows.map(
          (s) =>
            sql`(${-(s.hoursAgo + 1)}, ${new Date(s.recordedMs)}, ${s.block}, ${decimal(s.nav)}, ${decimal(s.l1)}, ${decimal(s.l2)}, ${decimal(s.l3)})`,
        ),
      )}`.execute(trx);
  }
}

/** A demo block's hash: the same for the same block on every load. */
const blockHash = (block: number) => `0x${hexOf(`block:${block}`)}`;

/**
 * The risk monitor's assessments of the demo's history, every four hours and hourly through the
 * dip, made by the monitor's own rules; a load replaces the demo's blocks' assessments only.
 */
async function replaceAssessments(
  metrics: Kysely<MetricsDatabase>,
  chainId: number,
  snapshots: readonly Snapshot[],
  redemptions: readonly DemoRedemption[],
): Promise<number> {
  const assessed = snapshots.filter(
    (s) => s.hoursAgo % RISK_INTERVAL_HOURS === 0 || (s.hoursAgo >= DIP_HOURS.to && s.hoursAgo <= DIP_HOURS.from),
  );
  const rows = assessed.map((s) => {
    let pending = 0n;
    let pendingCount = 0;
    for (const r of redemptions) {
      if (r.createdMs <= s.recordedMs && (r.resolvedMs === undefined || r.resolvedMs > s.recordedMs)) {
        pending += r.assetUnits;
        pendingCount += 1;
      }
    }
    const state = {
      l1: decimal(s.l1),
      l2: decimal(s.l2),
      l3: decimal(s.l3),
      pendingAssets: decimal(pending),
      pendingCount,
    };
    return assessmentRow({
      chainId,
      blockNumber: String(s.block),
      blockHash: blockHash(s.block),
      trigger: "block",
      assessedAt: new Date(s.recordedMs),
      state,
      assessment: assessRisk(state),
    });
  });
  // A demo block's hash is derived from its number (blockHash), which tells the demo's rows from
  // an indexer's whatever `asOf` an earlier load used.
  const demoBlock = sql<boolean>`block_hash = '0x' || encode(sha256(convert_to('block:' || block_number::text, 'UTF8')), 'hex')`;
  await metrics.transaction().execute(async (trx) => {
    for (const table of ["risk_assessments", "assessed_blocks"] as const) {
      await trx.deleteFrom(table).where("chain_id", "=", chainId).where(demoBlock).execute();
    }
    for (const chunk of chunks(rows)) {
      await trx
        .insertInto("assessed_blocks")
        .values(
          chunk.map((row) => ({
            chain_id: row.chain_id,
            block_hash: row.block_hash,
            block_number: row.block_number,
            assessed_at: row.assessed_at,
          })),
        )
        .execute();
      await trx.insertInto("risk_assessments").values(chunk).execute();
    }
  });
  return rows.length;
}

async function upsertRedemptions(trx: Transaction<Database>, redemptions: readonly DemoRedemption[]): Promise<void> {
  for (const rows of chunks(redemptions)) {
    await trx
      .insertInto("redemptions")
      .values(rows.map((r) => r.row))
      // created_at and requested_block are immutable: a reload keeps those of the first load.
      .onConflict((c) =>
        c.column("id").doUpdateSet((eb) => ({
          chain_id: eb.ref("excluded.chain_id"),
          owner: eb.ref("excluded.owner"),
          shares: eb.ref("excluded.shares"),
          assets: eb.ref("excluded.assets"),
          channel: eb.ref("excluded.channel"),
          status: eb.ref("excluded.status"),
          requested_tx: eb.ref("excluded.requested_tx"),
          resolved_block: eb.ref("excluded.resolved_block"),
          updated_at: eb.ref("excluded.updated_at"),
        })),
      )
      .execute();
  }
}

async function upsertRebalances(trx: Transaction<Database>, asOfMs: number): Promise<void> {
  const rows = REBALANCES.map((r) => {
    const createdMs = asOfMs - r.hoursAgo * HOUR_MS;
    const completedMs = createdMs + 4 * 60_000;
    return {
      id: uuidOf(`rebalance:${r.key}`),
      trigger: r.trigger,
      status: r.status,
      idempotency_key: r.trigger === "manual" ? `demo-${r.key}` : null,
      requested_by: r.requestedBy ?? null,
      plan: JSON.stringify(r.plan.map((step) => ({ ...step, amount: decimal(unitsOf(step.amount, 0)) }))),
      error: r.error ?? null,
      created_at: new Date(createdMs),
      updated_at: new Date(completedMs),
      completed_at: new Date(completedMs),
    };
  });
  await trx
    .insertInto("rebalance_executions")
    .values(rows)
    .onConflict((c) =>
      c.column("id").doUpdateSet((eb) => ({
        trigger: eb.ref("excluded.trigger"),
        status: eb.ref("excluded.status"),
        idempotency_key: eb.ref("excluded.idempotency_key"),
        requested_by: eb.ref("excluded.requested_by"),
        plan: eb.ref("excluded.plan"),
        error: eb.ref("excluded.error"),
        updated_at: eb.ref("excluded.updated_at"),
        completed_at: eb.ref("excluded.completed_at"),
      })),
    )
    .execute();
}

/**
 * Loads a demo fund — hourly snapshots over two weeks (NAV ≈ 10 M, layers near 10/30/60 %, with
 * one L1 dip and the rebalances that answered it), redemptions across channels, statuses and
 * owners, and a chain checkpoint at `asOf` in one transaction; and the risk assessments of that
 * history, with their reasons, in the metrics database. Deterministic: loading again with the same
 * options leaves the same rows.
 */
export async function loadDemoFund(
  db: Kysely<Database>,
  metrics: Kysely<MetricsDatabase>,
  options: DemoFundOptions = {},
): Promise<DemoFund> {
  const asOf = options.asOf ?? new Date();
  const chainId = options.chainId ?? 56;
  const count = options.redemptions ?? 2000;
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`redemptions must be a positive integer, got ${count}`);
  const asOfMs = asOf.getTime();
  const snapshots = Array.from({ length: SNAPSHOT_HISTORY_HOURS }, (_, hoursAgo) => snapshot(hoursAgo, asOfMs));
  const redemptions = Array.from({ length: count }, (_, index) => redemption(index, count, asOfMs, chainId));
  const latestBlock = blockAt(asOfMs);

  await db.transaction().execute(async (trx) => {
    // Two loads at once would interleave their deletes and inserts; the second waits instead.
    await sql`select pg_advisory_xact_lock(hashtext('paimon-demo-fund'))`.execute(trx);
    await replaceSnapshots(trx, snapshots);
    await upsertRedemptions(trx, redemptions);
    await upsertRebalances(trx, asOfMs);
    await trx
      .insertInto("sync_checkpoints")
      .values({
        name: DEMO_CHECKPOINT,
        chain_id: chainId,
        block_number: latestBlock,
        block_hash: `0x${hexOf(`block:${latestBlock}`)}`,
        updated_at: asOf,
      })
      .onConflict((c) =>
        c.column("name").doUpdateSet((eb) => ({
          chain_id: eb.ref("excluded.chain_id"),
          block_number: eb.ref("excluded.block_number"),
          block_hash: eb.ref("excluded.block_hash"),
          updated_at: eb.ref("excluded.updated_at"),
        })),
      )
      .execute();
  });
  const riskAssessments = await replaceAssessments(metrics, chainId, snapshots, redemptions);
  return {
    asOf,
    latestBlock: String(latestBlock),
    snapshots: snapshots.length,
    riskAssessments,
    redemptions: redemptions.length,
    rebalances: REBALANCES.length,
  };
}
