/**
 * What the sender's tests share: a devnet with the fund deployed, an operator account (Hardhat's
 * account #1, whose key is public) holding the rebalancer and settler roles, and the settings a
 * test drives the lane with.
 */
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
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
  rebroadcastMs: 0,
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

/** What the RPC proxy does with one request. */
export type RpcFault =
  /** Forward it, then answer with this JSON-RPC error as if the node had (the answer was lost). */
  | { readonly kind: "forward-then-error"; readonly message: string }
  /** Forward it, then answer HTTP 502 (the answer was lost). */
  | { readonly kind: "forward-then-502" }
  /** Answer HTTP 502 without forwarding it. */
  | { readonly kind: "502" };

export interface RpcProxy {
  readonly url: string;
  /** How many requests of each method it saw, and how many it faulted. */
  readonly seen: Map<string, number>;
  readonly faulted: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A JSON-RPC proxy in front of a node, answering as a failing node or network would: `fault`
 * picks, per request, what goes wrong (nothing when it returns undefined).
 */
export async function startRpcProxy(
  target: string,
  fault: (method: string, index: number) => RpcFault | undefined,
): Promise<RpcProxy> {
  const seen = new Map<string, number>();
  const faulted = new Map<string, number>();
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      void (async () => {
        const call = JSON.parse(body) as { id: number; method: string };
        const index = seen.get(call.method) ?? 0;
        seen.set(call.method, index + 1);
        const chosen = fault(call.method, index);
        if (chosen !== undefined) faulted.set(call.method, (faulted.get(call.method) ?? 0) + 1);
        if (chosen?.kind === "502") {
          response.writeHead(502).end("bad gateway");
          return;
        }
        const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
        const text = await upstream.text();
        if (chosen?.kind === "forward-then-502") {
          response.writeHead(502).end("bad gateway");
        } else if (chosen?.kind === "forward-then-error") {
          response
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify({ jsonrpc: "2.0", id: call.id, error: { code: -32000, message: chosen.message } }));
        } else {
          response.writeHead(upstream.status, { "content-type": "application/json" }).end(text);
        }
      })().catch(() => {
        response.destroy();
      });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    faulted,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
