/**
 * A deployed fund with a little of everything in its history, for `pnpm devnet` and for tests
 * that need one: deposits by three holders, rebalances into L2 and L3, a revaluation, an instant
 * redemption settled, a standard one left pending and one cancelled. Every event type appears at
 * least once and the layers end near the 10 / 30 / 60 % split the operators aim for.
 *
 * Amounts are integers of the fund's accounting unit; the demo counts in millionths, as a USDC
 * balance would, so 1,000,000 units read as 1.000000.
 */
import { type ContractTransactionResponse, id, parseUnits, type Signer } from "ethers";
import { PaimonFund__factory } from "../generated/typechain";
import type { PaimonFund } from "../generated/typechain/PaimonFund";
import { Channel, FUND_DECIMALS, Layer } from "./index";

const units = (amount: number): bigint => parseUnits(String(amount), FUND_DECIMALS);

/** The fund's deposits, moves and report; the final layers follow from them (see the test). */
const DEMO = {
  deposits: { first: 500_000, second: 300_000, third: 200_000 },
  rebalances: [
    { executionId: id("paimon-demo/rebalance/l1-l2"), from: Layer.L1, to: Layer.L2, amount: 300_000 },
    { executionId: id("paimon-demo/rebalance/l1-l3"), from: Layer.L1, to: Layer.L3, amount: 590_000 },
  ],
  report: { l2: 303_000, l3: 612_000 },
  redemptions: { settled: 10_000, pending: 20_000, cancelled: 5_000 },
} as const;

export interface DemoSigners {
  /** Holds the settler, oracle and rebalancer roles (the deployer does). */
  readonly operator: Signer;
  /** At least three; the first three deposit and redeem. */
  readonly holders: readonly Signer[];
}

export interface DemoFund {
  readonly settledId: bigint;
  readonly pendingId: bigint;
  readonly cancelledId: bigint;
  readonly layers: { readonly l1: bigint; readonly l2: bigint; readonly l3: bigint };
}

/** Deploys a fund from `signer`, which becomes its admin and holds every role. */
export async function deployFund(signer: Signer): Promise<PaimonFund> {
  const fund = await new PaimonFund__factory(signer).deploy();
  return fund.waitForDeployment();
}

async function mined(sent: Promise<ContractTransactionResponse>): Promise<void> {
  const receipt = await (await sent).wait();
  if (receipt === null) throw new Error("demo: a transaction was dropped");
}

/** Writes the demo history into `fund`, one mined transaction after another (needs automine). */
export async function seedDemoFund(fund: PaimonFund, signers: DemoSigners): Promise<DemoFund> {
  const [first, second, third] = signers.holders;
  if (first === undefined || second === undefined || third === undefined) {
    throw new Error(`seedDemoFund: needs three holders, got ${signers.holders.length}`);
  }
  const operator = fund.connect(signers.operator);
  const holders = { first: fund.connect(first), second: fund.connect(second), third: fund.connect(third) };
  await mined(holders.first.deposit(units(DEMO.deposits.first)));
  await mined(holders.second.deposit(units(DEMO.deposits.second)));
  await mined(holders.third.deposit(units(DEMO.deposits.third)));
  for (const move of DEMO.rebalances) {
    await mined(operator.executeRebalance(move.executionId, move.from, move.to, units(move.amount)));
  }
  await mined(operator.reportLayerValues(units(DEMO.report.l2), units(DEMO.report.l3)));

  const request = async (holder: PaimonFund, shares: number, channel: Channel): Promise<bigint> => {
    const id = await holder.requestRedemption.staticCall(units(shares), channel);
    await mined(holder.requestRedemption(units(shares), channel));
    return id;
  };
  const settledId = await request(holders.first, DEMO.redemptions.settled, Channel.Instant);
  const pendingId = await request(holders.second, DEMO.redemptions.pending, Channel.Standard);
  const cancelledId = await request(holders.third, DEMO.redemptions.cancelled, Channel.Standard);
  await mined(operator.settleRedemption(settledId));
  await mined(holders.third.cancelRedemption(cancelledId));

  const [l1, l2, l3] = await Promise.all([fund.l1(), fund.l2(), fund.l3()]);
  return { settledId, pendingId, cancelledId, layers: { l1, l2, l3 } };
}
