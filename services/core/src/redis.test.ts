import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "./redis";

const prefix = `paimon-test:${randomBytes(6).toString("hex")}:`;
const redis = createRedis("redis://127.0.0.1:6379", { keyPrefix: prefix });
beforeAll(async () => {
  await redis.connect();
});

afterAll(async () => {
  const raw = createRedis("redis://127.0.0.1:6379");
  await raw.connect();
  const keys = await raw.keys(`${prefix}*`);
  if (keys.length > 0) await raw.del(...keys);
  await raw.quit();
  await redis.quit();
});

describe("createRedis", () => {
  it("when a key is written, then it lives under the client's prefix on the real Redis", async () => {
    await redis.set("answer", "42");
    expect(await redis.get("answer")).toBe("42");
    const raw = createRedis("redis://127.0.0.1:6379");
    await raw.connect();
    expect(await raw.get(`${prefix}answer`)).toBe("42");
    await raw.quit();
  });

  it("when Redis cannot be reached, then a command fails instead of waiting forever", async () => {
    const nowhere = createRedis("redis://127.0.0.1:1", {});
    const errors: Error[] = [];
    nowhere.on("error", (error: Error) => errors.push(error));
    await expect(nowhere.connect()).rejects.toThrow();
    await expect(nowhere.get("x")).rejects.toThrow();
    nowhere.disconnect();
    expect(errors.length).toBeGreaterThan(0);
  });
});
