import { describe, expect, it } from "vitest";
import { AppError } from "./errors";
import { jobId, outboxValues, parsePayload, PRIORITY, queuedJob } from "./queues";

const HASH = `0x${"ab".repeat(32)}`;

describe("the queue contract", () => {
  it("then a job's id and priority come from its payload, never at random", () => {
    const settlement = {
      kind: "redemption" as const,
      chainId: 56,
      redemptionId: "7",
      channel: "instant" as const,
      owner: `0x${"cd".repeat(20)}`,
      assets: "10.5",
    };
    expect(queuedJob("settlements", settlement)).toEqual({
      queue: "settlements",
      jobId: "redemption-56-7",
      priority: PRIORITY.high,
      payload: settlement,
    });
    expect(queuedJob("settlements", { ...settlement, channel: "standard" }).priority).toBe(PRIORITY.low);
    expect(jobId.risk({ chainId: 56, blockNumber: "1", blockHash: HASH })).toBe(`risk-56-${HASH}`);
    expect(jobId.schedules({ schedule: "fund-snapshot", slot: "2026-12-01T00:00:00.000Z" })).toBe(
      `schedule-fund-snapshot-${String(Date.parse("2026-12-01T00:00:00Z"))}`,
    );
  });

  it("then every job id is one BullMQ accepts: no colon, not an integer", () => {
    const ids = [
      jobId.risk({ chainId: 56, blockNumber: "1", blockHash: HASH }),
      jobId.rebalance({ executionId: "7c9e6679-7425-40de-944b-e07fc1f90ae7", trigger: "manual", reason: "x" }),
      jobId["rebalance-confirmations"]({
        chainId: 56,
        executionId: HASH,
        fromLayer: 1,
        toLayer: 2,
        amount: "1",
        blockNumber: "1",
        txHash: HASH,
      }),
      jobId.settlements({ kind: "cutoff", cutoffAt: "2026-12-01T16:00:00.000Z", redemptions: 0, assets: "0" }),
    ];
    for (const id of ids) {
      expect(id).not.toContain(":");
      expect(String(Number.parseInt(id, 10))).not.toBe(id);
    }
  });

  it("when a payload is wrong, then parsing names every bad field in a non-retryable error", () => {
    let error: unknown;
    try {
      parsePayload("risk", { chainId: "56", blockHash: "0xABC", extra: 1 });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "invalid_job_payload", retryable: false });
    const message = (error as AppError).message;
    for (const field of ["chainId", "blockNumber", "blockHash"]) expect(message).toContain(`${field}:`);
    expect(message).toMatch(/extra/);
  });

  it("when a producer hands over a bad payload, then it fails before anything is written", () => {
    expect(() => queuedJob("rebalance", { executionId: "nope", trigger: "manual", reason: "x" })).toThrow(
      /executionId/,
    );
  });

  it("then an outbox row carries the job exactly", () => {
    const job = queuedJob("schedules", { schedule: "rebalance-check" });
    expect(outboxValues(job)).toEqual({
      queue: "schedules",
      job_id: "schedule-rebalance-check",
      priority: PRIORITY.normal,
      payload: JSON.stringify({ schedule: "rebalance-check" }),
    });
  });
});
