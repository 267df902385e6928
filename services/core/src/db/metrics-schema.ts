import type { ColumnType, JSONColumnType, Selectable } from "kysely";
import type { RiskReason } from "../fund/risk";

type Amount = ColumnType<string, string, never>;
type Block = ColumnType<string, string | number | bigint, never>;

/** The block an assessment is for: a replayed block notice finds it and stores nothing. */
export interface AssessedBlockTable {
  chain_id: number;
  block_hash: string;
  block_number: Block;
  assessed_at: ColumnType<Date, Date | string, never>;
}

/** The risk monitor's assessment of a block (a time series). */
export interface MetricsRiskAssessmentTable {
  assessed_at: ColumnType<Date, Date | string, never>;
  chain_id: number;
  block_number: Block;
  block_hash: string;
  trigger: "block" | "timer";
  level: number;
  nav: Amount;
  l1_value: Amount;
  l2_value: Amount;
  l3_value: Amount;
  l1_ratio: Amount;
  l2_ratio: Amount;
  l3_ratio: Amount;
  pending_assets: Amount;
  pending_count: number;
  redemption_coverage: ColumnType<string | null, string | null, never>;
  reasons: JSONColumnType<RiskReason[]>;
  out_of_band: JSONColumnType<string[]>;
}

/** The scheduler's daily snapshot of the fund. */
export interface FundDailyTable {
  slot: ColumnType<Date, Date | string, never>;
  chain_id: number;
  block_number: Block;
  nav: Amount;
  l1_value: Amount;
  l2_value: Amount;
  l3_value: Amount;
  pending_assets: Amount;
  pending_count: number;
  level: number;
  reasons: JSONColumnType<RiskReason[]>;
}

/** The metrics database (schema `metrics`). */
export interface MetricsDatabase {
  assessed_blocks: AssessedBlockTable;
  risk_assessments: MetricsRiskAssessmentTable;
  fund_daily: FundDailyTable;
}

export type RiskAssessmentRow = Selectable<MetricsRiskAssessmentTable>;
