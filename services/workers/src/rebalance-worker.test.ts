/**
 * The rebalance worker as the cluster runs it: `--worker=rebalance` with `SIGNER=kms`, signing
 * through the real KMS client against the KMS-protocol test server, settles a redemption from its
 * queue; and its configuration refuses what would sign wrongly, naming the key.
 */
import { Channel, RedemptionStatus } from "@paimon/contracts";
import { queuedJob } from "@paimon/core/queues";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadRebalanceConfig } from "./config";
import { startSenderChain, type SenderChain } from "./sender/testing";
import { startKmsServer, THROTTLED, type KmsTestServer } from "./signer/testing/kms-server";
import { spawnWorker, stopWorker, testQueues, workerEnv } from "./testing";

let chain: SenderChain;
let database: TestDatabase;
let kms: KmsTestServer;

beforeAll(async () => {
  [chain, database, kms] = await Promise.all([startSenderChain(), createTestDatabase(), startKmsServer()]);
  await chain.provider.send("evm_setIntervalMining", [200]);
}, 60_000);
afterAll(async () => {
  await chain.stop();
  await database.drop();
  await kms.close();
});

const chainEnv = () => ({
  BSC_RPC_URL: chain.devnet.httpUrl,
  CHAIN_ID: String(chain.devnet.chainId),
  FUND_ADDRESS: chain.fundAddress,
  FINALITY_DEPTH: "2",
});

describe("the rebalance worker with the KMS signer", () => {
  it("signs with the KMS key through the real client, throttled or not, and settles a redemption once", async () => {
    const key = kms.addKey({ privateKey: chain.operator.privateKey });
    kms.failNext("Sign", [THROTTLED, THROTTLED]);
    const env = workerEnv(database, {
      ...chainEnv(),
      SIGNER: "kms",
      AWS_KMS_KEY_ID: key.arn,
      AWS_REGION: kms.region,
      AWS_KMS_ENDPOINT: kms.endpoint,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      SENDER_POLL_MS: "50",
    });
    const queues = testQueues(env.QUEUE_PREFIX);
    const receipt = await (await chain.fund.requestRedemption(1_000_000n, Channel.Instant)).wait();
    const id = String(
      receipt?.logs.map((log) => chain.fund.interface.parseLog(log)).find((e) => e?.name === "RedemptionRequested")
        ?.args[0],
    );
    const job = queuedJob("settlements", {
      kind: "redemption",
      chainId: chain.devnet.chainId,
      redemptionId: id,
      channel: "instant",
      owner: chain.admin.address.toLowerCase(),
      assets: "1",
    });
    await queues.add(job);
    const worker = spawnWorker("rebalance", env);
    try {
      await vi.waitFor(
        async () => {
          expect(await queues.get("settlements").getJobCounts("completed")).toEqual({ completed: 1 });
        },
        { timeout: 60_000, interval: 100 },
      );
      const ready = worker.lines().find((line) => line["message"] === "operator signer ready");
      expect(ready).toMatchObject({ signer: "kms", address: chain.operator.address });
      expect(Number((await chain.fund.redemption(id)).status)).toBe(RedemptionStatus.Settled);
      expect(kms.calls.filter((c) => c.operation === "Sign" && c.status === 200).length).toBeGreaterThanOrEqual(1);
      expect(kms.calls.filter((c) => c.errorType === "ThrottlingException")).toHaveLength(2);
      const settled = await chain.fund.queryFilter(chain.fund.filters.RedemptionSettled(BigInt(id)));
      expect(settled).toHaveLength(1);
    } finally {
      expect((await stopWorker(worker)).code).toBe(0);
      await queues.clean();
    }
  }, 120_000);
});

describe("the rebalance worker's configuration", () => {
  const base = () => ({ ...workerEnv(database), ...chainEnv() });

  it.each([
    [{ SIGNER: "kms" }, "AWS_KMS_KEY_ID: required when SIGNER is kms"],
    [{ SIGNER: "kms", AWS_KMS_KEY_ID: "alias/paimon-operator" }, "AWS_REGION: required when SIGNER is kms"],
    [{ SIGNER: "local" }, "OPERATOR_PRIVATE_KEY: required when SIGNER is local"],
    [
      { SIGNER: "local", OPERATOR_PRIVATE_KEY: `0x${"11".repeat(32)}`, ENVIRONMENT: "production" },
      "SIGNER: must be kms in production",
    ],
    [
      { SIGNER: "local", OPERATOR_PRIVATE_KEY: "0x1234" },
      "OPERATOR_PRIVATE_KEY: must be a 0x-prefixed 32-byte hex private key",
    ],
    [
      { SIGNER: "kms", AWS_KMS_KEY_ID: "k", AWS_REGION: "eu-west-1", TX_CANCEL_MAX_FEE_PER_GAS_WEI: "1" },
      "TX_CANCEL_MAX_FEE_PER_GAS_WEI: must be at least TX_MAX_FEE_PER_GAS_WEI",
    ],
    [
      { SIGNER: "kms", AWS_KMS_KEY_ID: "k", AWS_REGION: "r", FUND_ADDRESS: "0x12" },
      "FUND_ADDRESS: must be a 0x-prefixed address",
    ],
  ] as const)("refuses %o, naming the key", (overrides, message) => {
    expect(() => loadRebalanceConfig({ ...base(), ...overrides })).toThrow(message);
  });

  it("never prints the operator's private key when it refuses one", () => {
    const key = `0x${"ab".repeat(31)}zz`;
    let message = "";
    try {
      loadRebalanceConfig({ ...base(), SIGNER: "local", OPERATOR_PRIVATE_KEY: key });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("OPERATOR_PRIVATE_KEY");
    expect(message).not.toContain(key);
  });
});
