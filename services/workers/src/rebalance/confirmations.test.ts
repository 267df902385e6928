/**
 * The rebalance worker's confirmations on a real database: a final `RebalanceExecuted` confirms
 * its execution once, and the executions' counters and last success are read from the database.
 */
import { randomUUID } from "node:crypto";
import { PassThrough } from "node:stream";
import { rebalanceExecutionId } from "@paimon/contracts";
import { createLogger } from "@paimon/core/logger";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { sampleValue } from "@paimon/core/testing/metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkerMetrics } from "../metrics";
import { createConfirmations } from "./confirmations";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

const HASH = `0x${"cd".repeat(32)}`;

describe("rebalance confirmations", () => {
  it("when an execution's event is final, then it is confirmed once and counted from the database", async () => {
    const { registry, metrics } = createWorkerMetrics("rebalance", { defaultMetrics: false });
    const confirmations = createConfirmations({
      db: database.db,
      logger: createLogger({ service: "test", environment: "test", stream: new PassThrough() }),
      metrics,
    });
    const [confirmed, failed] = [randomUUID(), randomUUID()];
    const completedAt = new Date("2026-12-01T10:00:00Z");
    await database.db
      .insertInto("rebalance_executions")
      .values([
        { id: confirmed, trigger: "threshold", status: "succeeded", plan: "[]", completed_at: completedAt },
        { id: failed, trigger: "scheduled", status: "failed", plan: "[]", error: "reverted" },
      ])
      .execute();
    const payload = {
      chainId: 56,
      executionId: rebalanceExecutionId(confirmed),
      fromLayer: 2,
      toLayer: 1,
      amount: "100",
      blockNumber: "9",
      txHash: HASH,
    };
    expect(await confirmations.handle(payload)).toEqual({ outcome: "confirmed", executionId: confirmed });
    expect(await confirmations.handle(payload)).toEqual({
      outcome: "already_confirmed_or_unknown",
      executionId: confirmed,
    });
    expect(await confirmations.handle({ ...payload, executionId: HASH })).toEqual({ outcome: "not_ours" });
    const text = await registry.metrics();
    expect(sampleValue(text, "paimon_rebalance_executions_total", { trigger: "threshold", status: "succeeded" })).toBe(
      1,
    );
    expect(sampleValue(text, "paimon_rebalance_executions_total", { trigger: "scheduled", status: "failed" })).toBe(1);
    expect(sampleValue(text, "paimon_rebalance_last_success_timestamp_seconds")).toBe(completedAt.getTime() / 1000);
  });
});
