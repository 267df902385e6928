import { describe, expect, it } from "vitest";
import { createLogger } from "./logger";
import { createShutdown } from "./shutdown";
import { PassThrough } from "node:stream";

const logger = createLogger({ service: "test", environment: "test", stream: new PassThrough() });

describe("createShutdown", () => {
  it("then steps run once, in the order registered, even when run is called twice", async () => {
    const order: string[] = [];
    const exits: number[] = [];
    const shutdown = createShutdown({ logger, exit: (code) => exits.push(code) });
    shutdown.add("server", () => {
      order.push("server");
    });
    shutdown.add("database", async () => {
      await Promise.resolve();
      order.push("database");
    });
    await Promise.all([shutdown.run("SIGTERM"), shutdown.run("SIGINT")]);
    expect(order).toEqual(["server", "database"]);
    expect(exits).toEqual([]);
  });

  it("when a step fails, then the later steps still run and the exit code is 1", async () => {
    const order: string[] = [];
    const exits: number[] = [];
    const shutdown = createShutdown({ logger, exit: (code) => exits.push(code) });
    shutdown.add("queues", () => {
      throw new Error("boom");
    });
    shutdown.add("database", () => {
      order.push("database");
    });
    await shutdown.run("SIGTERM");
    expect(order).toEqual(["database"]);
    expect(exits).toEqual([1]);
  });

  it("when a step stalls past the grace period, then the process is told to exit 1", async () => {
    const exits: number[] = [];
    let release: () => void = () => undefined;
    const shutdown = createShutdown({ logger, graceMs: 20, exit: (code) => exits.push(code) });
    shutdown.add("stuck", () => new Promise<void>((resolve) => (release = resolve)));
    const done = shutdown.run("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(exits).toEqual([1]);
    release();
    await done;
  });
});
