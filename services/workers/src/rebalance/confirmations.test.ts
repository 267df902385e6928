/**
 * The rebalance worker's confirmations on a real database: a final `RebalanceExecuted` confirms
 * each leg once, its execution once every leg is, and the executions' counters and last success are read from the database.
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
        {
          id: confirmed,
          trigger: "threshold",
          status: "succeeded",
          plan: JSON.stringify([
            { from: "L2", to: "L1", amount: "100" },
            { from: "L3", to: "L1", amount: "50" },
          ]),
          completed_at: completedAt,
        },
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
    // One leg of two is not the execution.
    expect(await confirmations.handle(payload)).toEqual({ outcome: "leg_recorded", executionId: confirmed, leg: 0 });
    const second = { ...payload, executionId: rebalanceExecutionId(confirmed, 1), amount: "50" };
    expect(await confirmations.handle(second)).toEqual({ outcome: "confirmed", executionId: confirmed, leg: 1 });
    expect(await confirmations.handle(second)).toEqual({ outcome: "leg_recorded", executionId: confirmed, leg: 1 });
    const row = await database.db
      .selectFrom("rebalance_legs_confirmed")
      .select(["leg"])
      .where("execution_id", "=", confirmed)
      .orderBy("leg")
      .execute();
    expect(row).toEqual([{ leg: 0 }, { leg: 1 }]);
    expect(await confirmations.handle({ ...payload, executionId: HASH })).toEqual({ outcome: "not_ours" });
    expect(await confirmations.handle({ ...payload, executionId: rebalanceExecutionId(randomUUID()) })).toEqual({
      outcome: "not_ours",
    });
    const text = await registry.metrics();
    expect(sampleValue(text, "paimon_rebalance_executions_total", { trigger: "threshold", status: "succeeded" })).toBe(
      1,
    );
    expect(sampleValue(text, "paimon_rebalance_executions_total", { trigger: "scheduled", status: "failed" })).toBe(1);
    expect(sampleValue(text, "paimon_rebalance_last_success_timestamp_seconds")).toBe(completedAt.getTime() / 1000);
  });
});
