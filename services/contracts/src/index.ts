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
