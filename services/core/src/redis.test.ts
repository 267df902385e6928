import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { COMMAND_TIMEOUT_MS, createRedis, createRedisClient, type RedisClient } from "./redis";
import { createTcpProxy, type TcpProxy } from "./testing/tcp-proxy";

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

describe("createRedisClient against a Redis that stops answering", () => {
  let proxy: TcpProxy;
  const clients: RedisClient[] = [];
  beforeAll(async () => {
    proxy = await createTcpProxy({ host: "127.0.0.1", port: 6379 });
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await proxy.close();
  });

  it("when the connection stays open but nothing comes back, then a commands or queue-producer command fails within COMMAND_TIMEOUT_MS, and succeeds again once Redis answers", async () => {
    const roles = ["commands", "queue-producer"] as const;
    const [commands, producer] = roles.map((role) => {
      const client = createRedisClient(`redis://127.0.0.1:${String(proxy.port)}`, { role, keyPrefix: prefix });
      client.on("error", () => undefined);
      clients.push(client);
      return client;
    });
    for (const client of [commands!, producer!]) {
      await client.connect();
      expect(await client.ping()).toBe("PONG");
    }

    await proxy.set("blackhole");
    const outcomes = await Promise.all(
      [commands!, producer!].map(async (client) => {
        const started = performance.now();
        const error = await client.get("stalled").then(
          () => undefined,
          (reason: unknown) => reason,
        );
        return { error, elapsed: performance.now() - started };
      }),
    );
    for (const [index, { error, elapsed }] of outcomes.entries()) {
      expect(error, roles[index]).toBeInstanceOf(Error);
      expect((error as Error).message, roles[index]).toMatch(/timed out/i);
      // Not before the timeout (it waited for an answer), and not much after it (a loaded machine's timers).
      expect(elapsed, roles[index]).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 50);
      expect(elapsed, roles[index]).toBeLessThan(COMMAND_TIMEOUT_MS + 10_000);
    }

    await proxy.set("forward");
    for (const client of [commands!, producer!]) {
      await vi.waitFor(
        async () => {
          expect(await client.set("answer", "42")).toBe("OK");
        },
        { timeout: 30_000, interval: 50 },
      );
    }
  });

  it("when a queue-worker client blocks on a command for longer than COMMAND_TIMEOUT_MS, then it is not timed out (BullMQ's blocking commands)", async () => {
    const worker = createRedisClient("redis://127.0.0.1:6379", { role: "queue-worker" });
    clients.push(worker);
    await worker.connect();
    const seconds = Math.ceil(COMMAND_TIMEOUT_MS / 1000) + 1;
    // An empty list: BLPOP waits its full timeout and answers null (it creates no key).
    expect(await worker.blpop(`${prefix}never-pushed`, seconds)).toBeNull();
  });
});
