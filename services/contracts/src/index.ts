/**
 * The fund contract as the rest of the platform sees it: its ABI and bytecode, the typed ethers
 * contract and factory that typechain generated from them, and the numbers the contract uses for
 * channels, layers, redemption states and roles — named here once so that no service repeats a
 * bare `0` or `2`. The tests check each constant against the deployed contract.
 */
import { id, ZeroHash } from "ethers";
import { PaimonFund__factory } from "../generated/typechain";

export type { PaimonFund, PaimonFundInterface } from "../generated/typechain/PaimonFund";
export type {
  DepositedEvent,
  LayerBalancesUpdatedEvent,
  RebalanceExecutedEvent,
  RedemptionCancelledEvent,
  RedemptionRequestedEvent,
  RedemptionSettledEvent,
} from "../generated/typechain/PaimonFund";
export { PaimonFund__factory } from "../generated/typechain";

/** The fund's ABI, typed `as const`. */
export const PAIMON_FUND_ABI = PaimonFund__factory.abi;
/** The fund's creation bytecode (its constructor takes no argument). */
export const PAIMON_FUND_BYTECODE = PaimonFund__factory.bytecode;

/** The fund counts in millionths of a dollar, as a USDC balance would: 1,000,000 units read 1.000000. */
export const FUND_DECIMALS = 6;

/**
 * A rebalance leg's id on chain: the platform's execution UUID (rebalance_executions.id), its 16
 * bytes left-aligned in the bytes32 `executionId`, and the leg's number in the last two bytes (an
 * execution's plan has a leg per transfer; the contract records each id once). Leg 0 leaves the
 * low half zero. `executionUuid` and `executionLeg` read them back, and answer undefined for an
 * id the platform did not make.
 */
export function rebalanceExecutionId(uuid: string, leg = 0): string {
  const hex = uuid.replace(/-/g, "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  if (!Number.isInteger(leg) || leg < 0 || leg > 0xffff) throw new Error(`not a leg number: ${leg}`);
  return `0x${hex}${leg.toString(16).padStart(32, "0")}`;
}

const EXECUTION_ID = /^0x([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})0{28}([0-9a-f]{4})$/;

export function executionUuid(executionId: string): string | undefined {
  const match = EXECUTION_ID.exec(executionId.toLowerCase());
  return match ? match.slice(1, 6).join("-") : undefined;
}

export function executionLeg(executionId: string): number | undefined {
  const match = EXECUTION_ID.exec(executionId.toLowerCase());
  return match?.[6] === undefined ? undefined : Number.parseInt(match[6], 16);
}

/** How a redemption is paid: `RedemptionRequested.channel`. */
export const Channel = { Instant: 0, Standard: 1 } as const;
export type Channel = (typeof Channel)[keyof typeof Channel];

/** The liquidity layers: `RebalanceExecuted.fromLayer` / `toLayer`. */
export const Layer = { L1: 1, L2: 2, L3: 3 } as const;
export type Layer = (typeof Layer)[keyof typeof Layer];

/** `PaimonFund.RedemptionStatus`, as `redemption(id).status` returns it. */
export const RedemptionStatus = { None: 0, Requested: 1, Settled: 2, Cancelled: 3 } as const;
export type RedemptionStatus = (typeof RedemptionStatus)[keyof typeof RedemptionStatus];

/** The AccessControl role ids (`keccak256` of the role's name; the admin role is zero). */
export const FundRole = {
  Admin: ZeroHash,
  Settler: id("SETTLER_ROLE"),
  Oracle: id("ORACLE_ROLE"),
  Rebalancer: id("REBALANCER_ROLE"),
} as const;
