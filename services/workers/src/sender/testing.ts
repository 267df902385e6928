/**
 * What the sender's tests share: a devnet with the fund deployed, an operator account (Hardhat's
 * account #1, whose key is public) holding the rebalancer and settler roles, and the settings a
 * test drives the lane with.
 */
import { createLogger } from "@paimon/core/logger";
import { FundRole, type PaimonFund } from "@paimon/contracts";
import { deployFund, devnetAccounts, devnetProvider, startDevnet, type Devnet } from "@paimon/contracts/devnet";
import type { Database } from "@paimon/core/db";
import type { JsonRpcProvider, Wallet, HDNodeWallet } from "ethers";
import type { Kysely } from "kysely";
import type { SenderSettings } from "./sender";

export interface SenderChain {
  readonly devnet: Devnet;
  readonly provider: JsonRpcProvider;
  /** The deployer (account #0): the fund's admin. */
  readonly admin: HDNodeWallet;
  /** The operator (account #1): what the sender signs as. */
  readonly operator: HDNodeWallet | Wallet;
  readonly fund: PaimonFund;
  readonly fundAddress: string;
  stop(): Promise<void>;
}

/** A devnet with the fund deployed, `deposit` in L1 and `operator` holding the roles the sender needs. */
export async function startSenderChain(options: { readonly deposit?: bigint } = {}): Promise<SenderChain> {
  const devnet = await startDevnet();
  const provider = devnetProvider(devnet);
  const [admin, operator] = devnetAccounts(2, provider) as [HDNodeWallet, HDNodeWallet];
  const fund = await deployFund(admin);
  for (const role of [FundRole.Rebalancer, FundRole.Settler]) {
    await (await fund.grantRole(role, operator.address)).wait();
  }
  await (await fund.deposit(options.deposit ?? 1_000_000_000_000n)).wait();
  return {
    devnet,
    provider,
    admin,
    operator,
    fund,
    fundAddress: await fund.getAddress(),
    async stop() {
      provider.destroy();
      await devnet.stop();
    },
  };
}

export const TEST_SENDER_SETTINGS: SenderSettings = {
  fees: { type: 2, priorityFee: 1_000_000_000n, maxFee: 500_000_000_000n, cancelMaxFee: 1_000_000_000_000n },
  finalityDepth: 2,
  replaceAfterMs: 3_600_000,
  maxReplacements: 3,
  deadlineMs: 3_600_000,
  pollMs: 50,
  reconcileIntervalMs: 3_600_000,
  gasMarginPercent: 25,
};

export const testLogger = () =>
  createLogger({
    service: "sender-test",
    environment: "test",
    level: "error",
  });

/** Every intent of the lane, with its attempts' hashes, in nonce order. */
export async function laneIntents(db: Kysely<Database>) {
  const intents = await db.selectFrom("tx_intents").selectAll().orderBy("nonce").orderBy("created_at").execute();
  const attempts = await db.selectFrom("tx_attempts").selectAll().orderBy("seq").execute();
  return intents.map((intent) => ({ ...intent, attempts: attempts.filter((a) => a.intent_id === intent.id) }));
}
