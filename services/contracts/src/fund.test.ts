import { type ContractTransactionResponse, type HDNodeWallet, id, isError, type JsonRpcProvider } from "ethers";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TypedContractEvent } from "../generated/typechain/common";
import { type Devnet, deployFund, devnetAccounts, devnetProvider, revert, snapshot, startDevnet } from "./devnet";
import { Channel, FundRole, Layer, type PaimonFund, RedemptionStatus } from "./index";

let devnet: Devnet;
let provider: JsonRpcProvider;
let operator: HDNodeWallet;
let alice: HDNodeWallet;
let bob: HDNodeWallet;
let outsider: HDNodeWallet;
let fund: PaimonFund;
let baseline: string;

beforeAll(async () => {
  devnet = await startDevnet();
  provider = devnetProvider(devnet);
  [operator, alice, bob, outsider] = devnetAccounts(4, provider) as [
    HDNodeWallet,
    HDNodeWallet,
    HDNodeWallet,
    HDNodeWallet,
  ];
  fund = await deployFund(operator);
});

afterAll(async () => {
  provider.destroy();
  await devnet.stop();
});

// Each test starts from the freshly deployed fund.
beforeEach(async () => {
  baseline = await snapshot(provider);
});
afterEach(async () => {
  await revert(provider, baseline);
});

async function mined(sent: Promise<ContractTransactionResponse>) {
  const receipt = await (await sent).wait();
  if (receipt === null) throw new Error("dropped");
  return receipt;
}

/** The event names of a receipt, in order, decoded with the fund's interface. */
function eventNames(receipt: { readonly logs: readonly { topics: readonly string[]; data: string }[] }): string[] {
  return receipt.logs.map((log) => fund.interface.parseLog(log)?.name ?? "unknown");
}

/** The `event` logs of the block `receipt` is in, decoded by the typed contract. */
function logsOf<E extends TypedContractEvent>(event: E, receipt: { readonly blockNumber: number }) {
  return fund.queryFilter(event, receipt.blockNumber, receipt.blockNumber);
}

/**
 * The custom error a transaction reverts with, decoded with the fund's ABI (which includes
 * AccessControl's errors). ethers decodes it only for calls, not for a wallet's gas estimate.
 */
async function revertOf(call: Promise<unknown>): Promise<{ name: string; args: unknown[] }> {
  try {
    await call;
  } catch (error) {
    const decoded =
      isError(error, "CALL_EXCEPTION") && error.data !== null ? fund.interface.parseError(error.data) : null;
    if (decoded === null) throw error;
    return { name: decoded.name, args: [...(decoded.args as unknown[])] };
  }
  throw new Error("the call did not revert");
}

const as = (wallet: HDNodeWallet) => fund.connect(wallet);
const layers = async () => ({ l1: await fund.l1(), l2: await fund.l2(), l3: await fund.l3() });

describe("PaimonFund constants and roles", () => {
  it("when deployed, then the deployer holds the admin and every operating role", async () => {
    for (const role of Object.values(FundRole)) {
      expect(await fund.hasRole(role, operator.address)).toBe(true);
      expect(await fund.hasRole(role, outsider.address)).toBe(false);
    }
  });

  it("when read from the contract, then channels, layers and roles match the exported constants", async () => {
    expect([await fund.CHANNEL_INSTANT(), await fund.CHANNEL_STANDARD()]).toEqual([
      BigInt(Channel.Instant),
      BigInt(Channel.Standard),
    ]);
    expect([await fund.LAYER_L1(), await fund.LAYER_L2(), await fund.LAYER_L3()]).toEqual([
      BigInt(Layer.L1),
      BigInt(Layer.L2),
      BigInt(Layer.L3),
    ]);
    expect([await fund.SETTLER_ROLE(), await fund.ORACLE_ROLE(), await fund.REBALANCER_ROLE()]).toEqual([
      FundRole.Settler,
      FundRole.Oracle,
      FundRole.Rebalancer,
    ]);
    expect(await fund.DEFAULT_ADMIN_ROLE()).toBe(FundRole.Admin);
  });

  it("when an account without the role settles, reports or rebalances, then AccessControl refuses it", async () => {
    await mined(as(alice).deposit(1_000n));
    await mined(as(alice).requestRedemption(100n, Channel.Instant));
    const refusals = [
      { send: () => as(outsider).settleRedemption(1n), account: outsider, role: FundRole.Settler },
      { send: () => as(alice).reportLayerValues(1n, 1n), account: alice, role: FundRole.Oracle },
      {
        send: () => as(outsider).executeRebalance(id("x"), Layer.L1, Layer.L2, 1n),
        account: outsider,
        role: FundRole.Rebalancer,
      },
      {
        send: () => as(outsider).grantRole(FundRole.Settler, outsider.address),
        account: outsider,
        role: FundRole.Admin,
      },
    ];
    for (const { send, account, role } of refusals) {
      expect(await revertOf(send())).toEqual({
        name: "AccessControlUnauthorizedAccount",
        args: [account.address, role],
      });
    }
  });
});

describe("deposit", () => {
  it("when the fund is empty, then shares are minted 1:1 into L1 and both events say so", async () => {
    const receipt = await mined(as(alice).deposit(1_000_000n));
    expect(eventNames(receipt)).toEqual(["Deposited", "LayerBalancesUpdated"]);
    const [deposited] = await logsOf(fund.filters.Deposited, receipt);
    const { owner, assets, shares } = deposited!.args;
    expect({ owner, assets, shares }).toEqual({ owner: alice.address, assets: 1_000_000n, shares: 1_000_000n });
    const [updated] = await logsOf(fund.filters.LayerBalancesUpdated, receipt);
    expect([...updated!.args]).toEqual([1_000_000n, 0n, 0n]);
    expect(await fund.sharesOf(alice.address)).toBe(1_000_000n);
  });

  it("when the NAV has grown, then a deposit mints shares at the NAV per share, rounded down", async () => {
    await mined(as(alice).deposit(1_000_000n));
    await mined(as(operator).reportLayerValues(200_000n, 300_000n));
    const receipt = await mined(as(bob).deposit(100_000n));
    const [deposited] = await logsOf(fund.filters.Deposited, receipt);
    // 100,000 × 1,000,000 shares / 1,500,000 NAV
    expect(deposited!.args.shares).toBe(66_666n);
    const [updated] = await logsOf(fund.filters.LayerBalancesUpdated, receipt);
    expect([...updated!.args]).toEqual([1_100_000n, 200_000n, 300_000n]);
  });

  it("when zero is deposited, then it reverts", async () => {
    expect((await revertOf(as(alice).deposit(0n))).name).toBe("ZeroAmount");
  });
});

describe("requestRedemption", () => {
  beforeEach(async () => {
    await mined(as(alice).deposit(1_000_000n));
    await mined(as(operator).reportLayerValues(0n, 500_000n));
  });

  it("when shares are requested, then they are locked, priced at the NAV per share, and ids count from 1", async () => {
    const first = await mined(as(alice).requestRedemption(100_000n, Channel.Instant));
    const second = await mined(as(alice).requestRedemption(30_000n, Channel.Standard));
    expect(eventNames(first)).toEqual(["RedemptionRequested"]);
    const [requested] = await logsOf(fund.filters.RedemptionRequested, first);
    const [later] = await logsOf(fund.filters.RedemptionRequested, second);
    const pick = (log: typeof requested) => {
      const { id: redemptionId, owner, shares, assets, channel } = log!.args;
      return { id: redemptionId, owner, shares, assets, channel };
    };
    expect(pick(requested)).toEqual({ id: 1n, owner: alice.address, shares: 100_000n, assets: 150_000n, channel: 0n });
    expect(pick(later)).toEqual({ id: 2n, owner: alice.address, shares: 30_000n, assets: 45_000n, channel: 1n });
    expect(await fund.sharesOf(alice.address)).toBe(870_000n);
    expect(await fund.lockedSharesOf(alice.address)).toBe(130_000n);
    expect((await fund.redemption(1n)).status).toBe(BigInt(RedemptionStatus.Requested));
  });

  it("when more shares than free are requested, or on an unknown channel, then it reverts", async () => {
    expect(await revertOf(as(alice).requestRedemption(1_000_001n, Channel.Instant))).toEqual({
      name: "InsufficientShares",
      args: [alice.address, 1_000_000n, 1_000_001n],
    });
    expect(await revertOf(as(alice).requestRedemption(1n, 2))).toEqual({ name: "InvalidChannel", args: [2n] });
    expect((await revertOf(as(bob).requestRedemption(1n, Channel.Instant))).name).toBe("InsufficientShares");
  });

  it("when a batch of N is requested, then N events with consecutive ids come out of one transaction", async () => {
    const count = 300;
    await mined(as(alice).requestRedemption(1n, Channel.Instant));
    const receipt = await mined(
      as(alice).requestRedemptions(
        Array.from({ length: count }, (_, index) => BigInt(index + 1)),
        Channel.Standard,
      ),
    );
    const logs = await logsOf(fund.filters.RedemptionRequested, receipt);
    expect(logs).toHaveLength(count);
    expect(logs.map((log) => log.args.id)).toEqual(Array.from({ length: count }, (_, index) => BigInt(index + 2)));
    expect(logs.every((log) => log.args.channel === 1n && log.args.owner === alice.address)).toBe(true);
    expect(logs.map((log) => log.args.assets).slice(0, 3)).toEqual([1n, 3n, 4n]);
    expect(await fund.nextRedemptionId()).toBe(BigInt(count + 2));
    expect(await fund.lockedSharesOf(alice.address)).toBe(1n + BigInt((count * (count + 1)) / 2));
    // What a benchmark can count on per event (two fresh storage slots and the log).
    expect(Number(receipt.gasUsed) / count).toBeLessThan(55_000);
  });

  it("when a batch is empty, then it reverts", async () => {
    expect((await revertOf(as(alice).requestRedemptions([], Channel.Instant))).name).toBe("EmptyBatch");
  });
});

describe("settleRedemption and cancelRedemption", () => {
  beforeEach(async () => {
    await mined(as(alice).deposit(1_000_000n));
    await mined(as(alice).requestRedemption(100_000n, Channel.Instant));
    await mined(as(alice).requestRedemption(200_000n, Channel.Standard));
  });

  it("when a settler settles a request, then L1 pays it, the shares burn, and both events say so", async () => {
    const receipt = await mined(as(operator).settleRedemption(1n));
    expect(eventNames(receipt)).toEqual(["RedemptionSettled", "LayerBalancesUpdated"]);
    const [settled] = await logsOf(fund.filters.RedemptionSettled, receipt);
    const { id: redemptionId, owner, shares, assets } = settled!.args;
    expect({ id: redemptionId, owner, shares, assets }).toEqual({
      id: 1n,
      owner: alice.address,
      shares: 100_000n,
      assets: 100_000n,
    });
    const [updated] = await logsOf(fund.filters.LayerBalancesUpdated, receipt);
    expect([...updated!.args]).toEqual([900_000n, 0n, 0n]);
    expect(await fund.totalShares()).toBe(900_000n);
    expect(await fund.lockedSharesOf(alice.address)).toBe(200_000n);
  });

  it("when the owner cancels a request, then the shares come back and the event says so", async () => {
    const receipt = await mined(as(alice).cancelRedemption(2n));
    expect(eventNames(receipt)).toEqual(["RedemptionCancelled"]);
    const [cancelled] = await logsOf(fund.filters.RedemptionCancelled, receipt);
    const { id: redemptionId, owner, shares } = cancelled!.args;
    expect({ id: redemptionId, owner, shares }).toEqual({ id: 2n, owner: alice.address, shares: 200_000n });
    expect(await fund.sharesOf(alice.address)).toBe(900_000n);
    expect(await fund.lockedSharesOf(alice.address)).toBe(100_000n);
  });

  it("when a settler cancels someone's request, then it is cancelled; when another holder tries, it reverts", async () => {
    expect(await revertOf(as(bob).cancelRedemption(2n))).toEqual({
      name: "NotRedemptionOwner",
      args: [2n, bob.address],
    });
    await mined(as(operator).cancelRedemption(2n));
    expect((await fund.redemption(2n)).status).toBe(BigInt(RedemptionStatus.Cancelled));
  });

  it("when a redemption is settled, cancelled or unknown, then neither settle nor cancel applies to it", async () => {
    await mined(as(operator).settleRedemption(1n));
    await mined(as(alice).cancelRedemption(2n));
    const settled = BigInt(RedemptionStatus.Settled);
    const cancelled = BigInt(RedemptionStatus.Cancelled);
    const none = BigInt(RedemptionStatus.None);
    expect(await revertOf(as(operator).settleRedemption(1n))).toEqual({
      name: "RedemptionNotRequested",
      args: [1n, settled],
    });
    expect(await revertOf(as(alice).cancelRedemption(1n))).toEqual({
      name: "RedemptionNotRequested",
      args: [1n, settled],
    });
    expect(await revertOf(as(operator).settleRedemption(2n))).toEqual({
      name: "RedemptionNotRequested",
      args: [2n, cancelled],
    });
    expect(await revertOf(as(alice).cancelRedemption(2n))).toEqual({
      name: "RedemptionNotRequested",
      args: [2n, cancelled],
    });
    expect(await revertOf(as(operator).settleRedemption(9n))).toEqual({
      name: "RedemptionNotRequested",
      args: [9n, none],
    });
  });

  it("when L1 cannot pay a redemption, then settling it reverts", async () => {
    await mined(as(operator).executeRebalance(id("drain"), Layer.L1, Layer.L3, 950_000n));
    expect(await revertOf(as(operator).settleRedemption(1n))).toEqual({
      name: "InsufficientLayerBalance",
      args: [BigInt(Layer.L1), 50_000n, 100_000n],
    });
  });
});

describe("reportLayerValues and executeRebalance", () => {
  beforeEach(async () => {
    await mined(as(alice).deposit(1_000_000n));
  });

  it("when the oracle reports, then L2 and L3 take the new values and LayerBalancesUpdated says so", async () => {
    const receipt = await mined(as(operator).reportLayerValues(310_000n, 620_000n));
    expect(eventNames(receipt)).toEqual(["LayerBalancesUpdated"]);
    const [updated] = await logsOf(fund.filters.LayerBalancesUpdated, receipt);
    const { l1, l2, l3 } = updated!.args;
    expect({ l1, l2, l3 }).toEqual({ l1: 1_000_000n, l2: 310_000n, l3: 620_000n });
    expect(await fund.nav()).toBe(1_930_000n);
  });

  it("when a rebalance executes, then the value moves and both events say so", async () => {
    const executionId = id("rebalance-1");
    const receipt = await mined(as(operator).executeRebalance(executionId, Layer.L1, Layer.L2, 300_000n));
    expect(eventNames(receipt)).toEqual(["RebalanceExecuted", "LayerBalancesUpdated"]);
    const [executed] = await logsOf(fund.filters.RebalanceExecuted, receipt);
    const { fromLayer, toLayer, amount } = executed!.args;
    expect({ executionId: executed!.args.executionId, fromLayer, toLayer, amount }).toEqual({
      executionId,
      fromLayer: 1n,
      toLayer: 2n,
      amount: 300_000n,
    });
    expect(await layers()).toEqual({ l1: 700_000n, l2: 300_000n, l3: 0n });
    expect(await fund.rebalanceExecuted(executionId)).toBe(true);
  });

  it("when the same execution id comes again, then it reverts and nothing moves", async () => {
    const executionId = id("rebalance-twice");
    await mined(as(operator).executeRebalance(executionId, Layer.L1, Layer.L3, 100_000n));
    expect(await revertOf(as(operator).executeRebalance(executionId, Layer.L1, Layer.L3, 100_000n))).toEqual({
      name: "RebalanceAlreadyExecuted",
      args: [executionId],
    });
    expect(await layers()).toEqual({ l1: 900_000n, l2: 0n, l3: 100_000n });
  });

  it("when a rebalance names a bad layer, the same layer twice, or more than the layer holds, then it reverts", async () => {
    const rebalance = (from: number, to: number, amount: bigint) =>
      revertOf(as(operator).executeRebalance(id(`bad-${from}-${to}-${amount}`), from, to, amount));
    expect(await rebalance(0, 2, 1n)).toEqual({ name: "InvalidLayer", args: [0n] });
    expect(await rebalance(1, 4, 1n)).toEqual({ name: "InvalidLayer", args: [4n] });
    expect(await rebalance(2, 2, 1n)).toEqual({ name: "SameLayer", args: [2n] });
    expect(await rebalance(1, 2, 0n)).toEqual({ name: "ZeroAmount", args: [] });
    expect(await rebalance(2, 1, 1n)).toEqual({ name: "InsufficientLayerBalance", args: [2n, 0n, 1n] });
  });
});
