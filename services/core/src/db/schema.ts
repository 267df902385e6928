import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable, Updateable } from "kysely";

/** Amounts are NUMERIC(78, 18) in PostgreSQL: read and written as decimal strings, never floats. */
type Amount = ColumnType<string, string, string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export type Layer = "L1" | "L2" | "L3";
export type Channel = "instant" | "standard";
export type RedemptionStatus = "requested" | "settled" | "cancelled";
export type RebalanceTrigger = "threshold" | "scheduled" | "manual";
export type RebalanceStatus = "pending" | "executing" | "succeeded" | "failed";

/** The fund's NAV and the value of each liquidity layer at a block (a time series). */
export interface FundSnapshotTable {
  id: Generated<string>;
  recorded_at: ColumnType<Date, Date | string, never>;
  block_number: ColumnType<string, string | number | bigint, never>;
  nav: Amount;
  l1_value: Amount;
  l2_value: Amount;
  l3_value: Amount;
  /** The `LayerBalancesUpdated` event this snapshot came from; null for snapshots made otherwise. */
  chain_id: ColumnType<number | null, number | null | undefined, never>;
  block_hash: ColumnType<string | null, string | null | undefined, never>;
  log_index: ColumnType<number | null, number | null | undefined, never>;
}

export interface RedemptionTable {
  /** The contract's redemption id, as a decimal string. */
  id: string;
  chain_id: number;
  owner: string;
  shares: Amount;
  assets: Amount;
  channel: Channel;
  status: RedemptionStatus;
  requested_block: ColumnType<string, string | number | bigint, never>;
  requested_tx: string;
  resolved_block: ColumnType<string | null, string | number | bigint | null, string | number | bigint | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface RebalanceExecutionTable {
  id: string;
  trigger: RebalanceTrigger;
  status: RebalanceStatus;
  /** An operator request's Idempotency-Key: the same key never creates two executions. */
  idempotency_key: string | null;
  requested_by: string | null;
  plan: JSONColumnType<{ from: Layer; to: Layer; amount: string }[]>;
  error: string | null;
  /** Why it was raised: the operator's words, or the rule that found the allocation out of band. */
  reason: string | null;
  /** When the listener's confirmation of its on-chain execution was final. */
  confirmed_at: Date | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  completed_at: Date | null;
}

/** Every contract event, once: unique by chain, block hash and log index. */
export interface ChainEventTable {
  chain_id: number;
  block_number: ColumnType<string, string | number | bigint, never>;
  block_hash: string;
  log_index: number;
  tx_hash: string;
  event_type: string;
  payload: JSONColumnType<Record<string, unknown>>;
  created_at: CreatedAt;
}

/** How far a follower of the chain has got: the last processed block, number and hash. */
export interface SyncCheckpointTable {
  name: string;
  chain_id: number;
  block_number: ColumnType<string, string | number | bigint, string | number | bigint>;
  block_hash: string;
  updated_at: UpdatedAt;
}

/** Work committed with the events that caused it, relayed to the queues afterwards. */
export interface OutboxTable {
  id: Generated<string>;
  queue: string;
  job_id: string;
  priority: number;
  payload: JSONColumnType<Record<string, unknown>>;
  created_at: CreatedAt;
  sent_at: Date | null;
  /** The block whose events made this work; a reorganisation deletes it while unsent. */
  chain_id: ColumnType<number | null, number | null | undefined, never>;
  block_number: ColumnType<string | null, string | number | bigint | null | undefined, never>;
  block_hash: ColumnType<string | null, string | null | undefined, never>;
  /** Irreversible work (settlements): relayed only once its block is final. */
  await_finality: ColumnType<boolean, boolean | undefined, never>;
}

/** Processed blocks not yet final, and the end of each final range: where reorganisations are found. */
export interface ChainBlockTable {
  chain_id: number;
  block_number: ColumnType<string, string | number | bigint, never>;
  block_hash: string;
  parent_hash: string;
  /** Final when last checked: a change to it would be a reorganisation below finality. */
  final: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
}

/** One slot of one of the scheduler's schedules, written in the same transaction as its work. */
export interface ScheduleRunTable {
  schedule: string;
  slot: ColumnType<Date, Date | string, never>;
  /** `ran`: its work was done; `superseded`: a later slot of the same schedule was already due. */
  outcome: "ran" | "superseded";
  result: JSONColumnType<Record<string, unknown>>;
  run_at: ColumnType<Date, Date | string | undefined, never>;
}

export interface Database {
  fund_snapshots: FundSnapshotTable;
  schedule_runs: ScheduleRunTable;
  redemptions: RedemptionTable;
  rebalance_executions: RebalanceExecutionTable;
  chain_events: ChainEventTable;
  sync_checkpoints: SyncCheckpointTable;
  outbox: OutboxTable;
  chain_blocks: ChainBlockTable;
}

export type RedemptionRow = Selectable<RedemptionTable>;
export type NewRedemption = Insertable<RedemptionTable>;
export type RebalanceExecutionRow = Selectable<RebalanceExecutionTable>;
export type RedemptionUpdate = Updateable<RedemptionTable>;
