import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable, Updateable } from "kysely";

/** Amounts are NUMERIC(78, 18) in PostgreSQL: read and written as decimal strings, never floats. */
type Amount = ColumnType<string, string, string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export type Layer = "L1" | "L2" | "L3";
export type Channel = "instant" | "standard";
export type RedemptionStatus = "requested" | "settled" | "cancelled";
export type RebalanceTrigger = "threshold" | "scheduled" | "manual";
export type RebalanceStatus = "pending" | "executing" | "succeeded" | "failed" | "cancelled";

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
  /**
   * What makes a request once only: an operator's Idempotency-Key (unique per operator, among
   * manual executions), or a worker's own key (unique among the workers' executions).
   */
  idempotency_key: string | null;
  /** SHA-256 (hex) of the operator's validated request body; null for the workers' and older executions. */
  request_hash: ColumnType<string | null, string | null | undefined, never>;
  requested_by: string | null;
  plan: JSONColumnType<{ from: Layer; to: Layer; amount: string }[]>;
  error: string | null;
  /** Why it was raised: the operator's words, or the rule that found the allocation out of band. */
  reason: string | null;
  /** When the listener's confirmations of every leg of its plan were final. */
  confirmed_at: Date | null;
  /** The on-chain layer balances the plan was made from (decimal strings), null until planned. */
  balances: JSONColumnType<
    { l1: string; l2: string; l3: string; block: string; skipped?: string } | null,
    string | null,
    string | null
  >;
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

/** A signer's sending lane on a chain: the next nonce it hands out, allocated under this row's lock. */
export interface SignerLaneTable {
  chain_id: number;
  signer: string;
  next_nonce: ColumnType<string, string | number | bigint, string | number | bigint>;
  updated_at: UpdatedAt;
}

export type TxPurpose = "rebalance" | "settlement" | "noop";
/**
 * The sender's states. `pending`: stored, perhaps with a nonce and signed attempts, none accepted by
 * a node yet; `submitted`: a node accepted an attempt; `mined`: an attempt has a receipt, not yet
 * at the finality depth; then one of: `confirmed` (it succeeded, final), `reverted` (it mined and
 * reverted, final), `cancelled` (the zero-value self-send at its nonce mined, final), `failed`
 * (it never had a nonce that reached the chain, and never will).
 */
export type TxIntentStatus = "pending" | "submitted" | "mined" | "confirmed" | "reverted" | "cancelled" | "failed";
export const OPEN_TX_STATUSES = ["pending", "submitted", "mined"] as const satisfies readonly TxIntentStatus[];

type Bigint = ColumnType<string, string | number | bigint, string | number | bigint>;
type NullableBigint = ColumnType<
  string | null,
  string | number | bigint | null | undefined,
  string | number | bigint | null
>;

export interface TxIntentTable {
  id: string;
  idempotency_key: string;
  purpose: TxPurpose;
  chain_id: number;
  /** The signer's address, checksummed. */
  signer: string;
  to_address: string;
  data: string;
  value: ColumnType<string, string | undefined, never>;
  gas_limit: ColumnType<string, string | number | bigint, never>;
  status: TxIntentStatus;
  nonce: NullableBigint;
  /** How many fee-bumped replacements (cancellation excluded) were signed. */
  replacements: ColumnType<number, number | undefined, number>;
  /** Past it, an unmined intent is cancelled. */
  deadline: ColumnType<Date, Date | string, Date | string>;
  mined_hash: string | null;
  mined_block: NullableBigint;
  error: string | null;
  rebalance_execution_id: string | null;
  rebalance_leg: number | null;
  redemption_id: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  completed_at: Date | null;
}

export interface TxAttemptTable {
  intent_id: string;
  seq: number;
  kind: "original" | "replacement" | "cancel";
  nonce: Bigint;
  hash: string;
  raw: string;
  tx_type: 0 | 2;
  /** For a legacy transaction, both fee columns hold its gas price. */
  max_fee_per_gas: ColumnType<string, string, never>;
  max_priority_fee_per_gas: ColumnType<string, string, never>;
  created_at: CreatedAt;
  broadcast_at: Date | null;
  last_error: string | null;
}

export interface RebalanceLegConfirmedTable {
  execution_id: string;
  leg: number;
  block_number: ColumnType<string, string | number | bigint, never>;
  tx_hash: string;
  created_at: CreatedAt;
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
  signer_lanes: SignerLaneTable;
  tx_intents: TxIntentTable;
  tx_attempts: TxAttemptTable;
  rebalance_legs_confirmed: RebalanceLegConfirmedTable;
}

export type RedemptionRow = Selectable<RedemptionTable>;
export type NewRedemption = Insertable<RedemptionTable>;
export type RebalanceExecutionRow = Selectable<RebalanceExecutionTable>;
export type RedemptionUpdate = Updateable<RedemptionTable>;
export type TxIntentRow = Selectable<TxIntentTable>;
export type TxAttemptRow = Selectable<TxAttemptTable>;
