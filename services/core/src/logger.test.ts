import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { AppError } from "./errors";
import { createLogger } from "./logger";

function capture() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n").filter(Boolean))
      lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { stream, lines };
}

describe("createLogger", () => {
  it("then each line is JSON with exactly the §6.1 fields, and extra fields beside them", async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ service: "paimon-api", environment: "staging", stream });
    logger.child("redemptions").info("redemption requested", { redemption_id: "7" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(1);
    expect(Object.keys(lines[0]!).sort()).toEqual([
      "environment",
      "level",
      "logger",
      "message",
      "redemption_id",
      "service",
      "timestamp",
    ]);
    expect(lines[0]).toMatchObject({
      level: "info",
      message: "redemption requested",
      service: "paimon-api",
      environment: "staging",
      logger: "redemptions",
    });
    expect(new Date(lines[0]!["timestamp"] as string).toISOString()).toBe(lines[0]!["timestamp"]);
  });

  it("when an error is logged, then its stack is the exception field and its code is kept", async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ service: "paimon-api", environment: "test", stream });
    logger.error("request failed", { error: new AppError("redis_unavailable", "redis is down", { retryable: true }) });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines[0]!["exception"]).toMatch(/^AppError: redis is down\n\s+at /);
    expect(lines[0]!["error_code"]).toBe("redis_unavailable");
    expect(lines[0]).not.toHaveProperty("error");
  });

  it("when the level is above a message's, then nothing is written", async () => {
    const { stream, lines } = capture();
    createLogger({ service: "s", environment: "test", level: "warn", stream }).info("quiet");
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([]);
  });
});
