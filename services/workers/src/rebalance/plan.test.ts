/**
 * The rebalance plan under the default 10 / 30 / 60 % policy: concrete states (L1 drained, L1
 * over its target, a redemption that lifts L1's floor, a fund within its bands, an empty fund,
 * legs too small to send, malformed amounts), then a few thousand seeded random states checked
 * for what every plan must keep.
 */
import { DEFAULT_RISK_POLICY, formatUnits, LAYERS, toUnits, type LayerName, type RiskPolicy } from "@paimon/core/fund";
import { describe, expect, it } from "vitest";
import { planRebalance, type RebalanceInput } from "./plan";
import { seededRandom } from "@paimon/core/testing/random";

const input = (
  l1: string,
  l2: string,
  l3: string,
  options: { pendingAssets?: string; minTransfer?: string; policy?: RiskPolicy } = {},
): RebalanceInput => ({
  balances: { l1, l2, l3 },
  pendingAssets: options.pendingAssets ?? "0",
  policy: options.policy ?? DEFAULT_RISK_POLICY,
  minTransfer: options.minTransfer ?? "1",
});

/** Fund units (6 decimals) as millionths. */
const millionths = (value: string) => toUnits(value) / 10n ** 12n;
const fund = (units: bigint) => formatUnits(units, 6);

describe("planRebalance", () => {
  it("when a large redemption drained L1 and L3 holds the surplus, then L3 refills L1 to its target", () => {
    expect(planRebalance(input("10", "300", "690"))).toEqual({
      transfers: [{ from: "L3", to: "L1", amount: "90.000000" }],
      targets: { L1: "100.000000", L2: "300.000000", L3: "600.000000" },
      l1Floor: "80.000000",
    });
  });

  it("when L1 is drained and both L2 and L3 hold a surplus, then both refill it, the larger leg first", () => {
    expect(planRebalance(input("10", "320", "670"))).toEqual({
      transfers: [
        { from: "L3", to: "L1", amount: "70.000000" },
        { from: "L2", to: "L1", amount: "20.000000" },
      ],
      targets: { L1: "100.000000", L2: "300.000000", L3: "600.000000" },
      l1Floor: "80.000000",
    });
  });

  it("when L1 is over its band, then its surplus goes back to L3", () => {
    expect(planRebalance(input("200", "300", "500"))).toEqual({
      transfers: [{ from: "L1", to: "L3", amount: "100.000000" }],
      targets: { L1: "100.000000", L2: "300.000000", L3: "600.000000" },
      l1Floor: "80.000000",
    });
  });

  it("when pending redemptions lift L1's floor above its target, then L1 is filled to the floor and L2 and L3 keep 30 : 60", () => {
    // The ratios are all in their bands, but L1 covers the 50 pending only twice, not three times.
    const plan = planRebalance(input("100", "300", "600", { pendingAssets: "50" }));
    expect(plan).toEqual({
      transfers: [
        { from: "L3", to: "L1", amount: "33.333333" },
        { from: "L2", to: "L1", amount: "16.666667" },
      ],
      targets: { L1: "150.000000", L2: "283.333333", L3: "566.666667" },
      l1Floor: "150.000000",
    });
  });

  it("when the pending redemptions exceed what the fund holds, then the floor is NAV and everything moves to L1", () => {
    expect(planRebalance(input("10", "20", "30", { pendingAssets: "100" }))).toEqual({
      transfers: [
        { from: "L3", to: "L1", amount: "30.000000" },
        { from: "L2", to: "L1", amount: "20.000000" },
      ],
      targets: { L1: "60.000000", L2: "0.000000", L3: "0.000000" },
      l1Floor: "60.000000",
    });
  });

  it("when a layer is out of its band but already holds what it is meant to, then nothing is planned", () => {
    // The 100 pending lift L1's floor to all of NAV: L1 is at 100 %, far over its band, and must stay so.
    expect(planRebalance(input("60", "0", "0", { pendingAssets: "100" }))).toEqual({
      transfers: [],
      targets: { L1: "60.000000", L2: "0.000000", L3: "0.000000" },
      l1Floor: "60.000000",
      skipped: "at the targets",
    });
  });

  it("when every ratio is in its band and L1 covers the pending redemptions, then nothing is planned", () => {
    expect(planRebalance(input("90", "350", "560", { pendingAssets: "30" }))).toEqual({
      transfers: [],
      targets: { L1: "90.000000", L2: "350.000000", L3: "560.000000" },
      l1Floor: "90.000000",
      skipped: "within bands",
    });
  });

  it("when the fund is empty, then nothing is planned, whatever is pending", () => {
    for (const pendingAssets of ["0", "5"]) {
      expect(planRebalance(input("0", "0", "0.000000", { pendingAssets }))).toEqual({
        transfers: [],
        targets: { L1: "0.000000", L2: "0.000000", L3: "0.000000" },
        l1Floor: "0.000000",
        skipped: "empty fund",
      });
    }
  });

  it("when a leg is under the minimum transfer, then it is dropped and the targets are what the kept legs leave", () => {
    expect(planRebalance(input("79", "300.5", "620.5", { minTransfer: "1" }))).toEqual({
      transfers: [{ from: "L3", to: "L1", amount: "20.500000" }],
      targets: { L1: "99.500000", L2: "300.500000", L3: "600.000000" },
      l1Floor: "80.000000",
    });
  });

  it("when every leg is under the minimum transfer, then nothing is planned, and says why", () => {
    expect(planRebalance(input("79", "301", "620", { minTransfer: "50" }))).toEqual({
      transfers: [],
      targets: { L1: "79.000000", L2: "301.000000", L3: "620.000000" },
      l1Floor: "80.000000",
      skipped: "legs below the minimum transfer",
    });
  });

  it("when amounts carry millionths or trailing zeros past them, then they are exact to the millionth", () => {
    const plan = planRebalance(input("0.000001", "1.000000000000000000", "2", { minTransfer: "0" }));
    expect(plan.l1Floor).toBe("0.240001");
    expect(plan.targets).toEqual({ L1: "0.300000", L2: "0.900000", L3: "1.800001" });
    expect(plan.transfers).toEqual([
      { from: "L3", to: "L1", amount: "0.199999" },
      { from: "L2", to: "L1", amount: "0.100000" },
    ]);
  });

  it("when an amount is malformed, then a RangeError names its field", () => {
    expect(() => planRebalance(input("10", "abc", "30"))).toThrow(RangeError);
    expect(() => planRebalance(input("10", "abc", "30"))).toThrow(/balances\.l2/);
    expect(() => planRebalance(input("-1", "20", "30"))).toThrow(/balances\.l1 must not be negative/);
    expect(() => planRebalance(input("1", "20", "30.0000001"))).toThrow(/balances\.l3 has more than 6 decimal places/);
    expect(() => planRebalance(input("1", "20", "30", { pendingAssets: "1e3" }))).toThrow(/pendingAssets/);
    expect(() => planRebalance(input("1", "20", "30", { minTransfer: "" }))).toThrow(/minTransfer/);
    expect(() =>
      planRebalance({ ...input("1", "20", "30"), balances: { l1: 1 as unknown as string, l2: "0", l3: "0" } }),
    ).toThrow(/balances\.l1 must be a decimal string/);
    const policy: RiskPolicy = {
      ...DEFAULT_RISK_POLICY,
      bands: { ...DEFAULT_RISK_POLICY.bands, L2: { target: "x", min: "0.2", max: "0.4" } },
    };
    expect(() => planRebalance(input("1", "20", "30", { policy }))).toThrow(/policy\.bands\.L2\.target/);
  });

  it("over thousands of seeded random states, then every plan balances, keeps L1 above its floor and sends only worthwhile legs", () => {
    const seed = 20_261_201;
    const next = seededRandom(seed);
    const below = (n: number) => Math.floor(next() * n);
    /** A random amount in millionths: zero, tiny or anything up to 10^12 fund units. */
    const amount = (): bigint => {
      if (next() < 0.08) return 0n;
      const digits = 1 + below(18);
      return BigInt(Math.floor(next() * 10 ** Math.min(digits, 15))) * 10n ** BigInt(Math.max(0, digits - 15));
    };
    const policies: RiskPolicy[] = [
      DEFAULT_RISK_POLICY,
      {
        bands: {
          L1: { target: "0.2", min: "0.15", max: "0.25" },
          L2: { target: "0.5", min: "0.4", max: "0.6" },
          L3: { target: "0.3", min: "0.2", max: "0.4" },
        },
        l1Ratio: DEFAULT_RISK_POLICY.l1Ratio,
        coverage: { elevated: "1.25", high: "1.1", critical: "1" },
      },
    ];
    const reasons = new Map<string, number>();
    for (let run = 0; run < 5_000; run += 1) {
      let held: Record<LayerName, bigint>;
      if (next() < 0.4) {
        // Near the targets, so that "within bands" and small legs come up often.
        const nav = 1n + amount();
        const jitter = () => BigInt(Math.floor((next() - 0.5) * 0.3 * 1_000_000));
        const l1 = (nav * (100_000n + jitter() / 3n)) / 1_000_000n;
        const l2 = ((nav - (l1 > 0n ? l1 : 0n)) * (333_333n + jitter())) / 1_000_000n;
        held = { L1: l1 > 0n ? l1 : 0n, L2: l2 > 0n ? l2 : 0n, L3: 0n };
        held.L3 = nav - held.L1 - held.L2 > 0n ? nav - held.L1 - held.L2 : 0n;
      } else {
        held = { L1: amount(), L2: amount(), L3: amount() };
      }
      const nav = held.L1 + held.L2 + held.L3;
      const pending = next() < 0.4 ? 0n : next() < 0.5 ? (nav * BigInt(below(60))) / 1000n : amount();
      const minTransfer =
        next() < 0.2 ? 0n : next() < 0.5 ? BigInt(below(1_000_000)) : (nav * BigInt(below(50))) / 1000n;
      const state = input(fund(held.L1), fund(held.L2), fund(held.L3), {
        pendingAssets: fund(pending),
        minTransfer: fund(minTransfer),
        policy: policies[below(policies.length)]!,
      });
      const plan = planRebalance(state);
      const context = JSON.stringify({ run, seed, state: { ...state, policy: undefined }, plan });

      expect(plan.transfers.length, context).toBeLessThanOrEqual(2);
      expect(plan.skipped === undefined, context).toBe(plan.transfers.length > 0);
      if (plan.skipped !== undefined) reasons.set(plan.skipped, (reasons.get(plan.skipped) ?? 0) + 1);
      const after = { ...held };
      let out = 0n;
      let into = 0n;
      for (const leg of plan.transfers) {
        expect(leg.amount, context).toMatch(/^\d+\.\d{6}$/);
        const moved = millionths(leg.amount);
        expect(leg.from, context).not.toBe(leg.to);
        expect(moved > 0n && moved >= minTransfer, context).toBe(true);
        after[leg.from] -= moved;
        after[leg.to] += moved;
        out += moved;
        into += moved;
        expect(after[leg.from] >= 0n, context).toBe(true);
      }
      expect(out, context).toBe(into);
      for (const layer of LAYERS) {
        expect(plan.targets[layer], context).toBe(fund(after[layer]));
      }
      expect(after.L1 + after.L2 + after.L3, context).toBe(nav);

      const floor = millionths(plan.l1Floor);
      expect(floor <= nav, context).toBe(true);
      if (plan.transfers.length > 0) {
        // L1 is never drawn under its floor, and only dropped legs (each under the minimum) keep it short.
        expect(after.L1 >= (floor < held.L1 ? floor : held.L1), context).toBe(true);
        if (after.L1 < floor) expect(floor - after.L1 < 2n * minTransfer, context).toBe(true);
        if (minTransfer === 0n) expect(after.L1 >= floor, context).toBe(true);
      }
      if (plan.skipped === "within bands") {
        expect(held.L1 >= floor, context).toBe(true);
      }
    }
    // The states reach every way of planning nothing, not only the first.
    expect([...reasons.keys()].sort()).toEqual(
      expect.arrayContaining(["at the targets", "empty fund", "legs below the minimum transfer", "within bands"]),
    );
  });
});
