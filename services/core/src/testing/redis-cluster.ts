/**
 * A real Redis Cluster on this machine for a test — what production's ElastiCache cluster mode
 * is: three masters on free loopback ports (`cluster-enabled yes`), joined with
 * `redis-cli --cluster create`, ready once every node reports `cluster_state:ok`. `stop()` ends
 * the nodes and removes their directory.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { freePort } from "./ports";

const run = promisify(execFile);

export interface RedisCluster {
  /** The first node, as a client's configuration endpoint: `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

/** Polls `check` until it holds, or fails naming `what` after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`redis cluster: ${what} did not happen within ${String(timeoutMs)} ms`);
    await delay(50);
  }
}

const cli = (port: number, ...args: string[]) => run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args]);

export async function startRedisCluster(nodes = 3): Promise<RedisCluster> {
  const directory = mkdtempSync(path.join(tmpdir(), "paimon-redis-cluster-"));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        await exited;
      }),
    );
    rmSync(directory, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < nodes; i++) {
      const port = await freePort();
      const dir = path.join(directory, String(port));
      await run("mkdir", ["-p", dir]);
      const child = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          path.join(dir, "nodes.conf"),
          "--dir",
          dir,
          "--save",
          "",
          "--appendonly",
          "no",
        ],
        { stdio: "ignore" },
      );
      children.push(child);
      ports.push(port);
      await until(`node ${String(port)} answering`, async () => (await cli(port, "ping")).stdout.trim() === "PONG");
    }
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((port) => `127.0.0.1:${String(port)}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    for (const port of ports) {
      await until(`node ${String(port)} cluster_state:ok`, async () =>
        (await cli(port, "cluster", "info")).stdout.includes("cluster_state:ok"),
      );
    }
    return { url: `redis://127.0.0.1:${String(ports[0])}`, ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
