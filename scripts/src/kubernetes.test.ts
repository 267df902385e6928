/**
 * A restore in a cluster, through the real Kubernetes client against a local server speaking the
 * API (kubernetes-testing.ts): the listener's and the workers' Deployments scaled to zero, the
 * restore held back until their pods are gone (a watch, not a wait), the database restored, the
 * Deployments scaled back to the replicas each had — also when the restore fails or is refused —
 * and the API's Deployment never touched. The database is this machine's PostgreSQL.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { EVENT_LISTENER, workerName } from "@paimon/core/workloads";
import { sql } from "kysely";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { tableChecksums } from "./drill-checksums";
import { startFakeCluster, type FakeCluster } from "./kubernetes-testing";
import { runOpsForTest } from "./testing";

const REPLICAS = {
  [EVENT_LISTENER]: 1,
  [workerName("rebalance")]: 1,
  [workerName("risk")]: 2,
  [workerName("scheduler")]: 1,
};

let directory: string;
let database: TestDatabase;
let cluster: FakeCluster;
let env: Record<string, string>;

async function contents(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("begin");
    return await tableChecksums(client);
  } finally {
    await client.end();
  }
}

const backup = async () => {
  const made = await runOpsForTest(["--json", "backup", "postgres"], env);
  expect(made.err).toBe("");
  return (JSON.parse(made.out) as { id: string }).id;
};

beforeEach(async () => {
  directory = mkdtempSync(path.join(tmpdir(), "paimon-ops-k8s-"));
  database = await createTestDatabase();
  await sql`create table filler (id int primary key, note text)`.execute(database.db);
  await sql`insert into filler select g, md5(g::text) from generate_series(1, 2000) g`.execute(database.db);
  cluster = await startFakeCluster({ namespace: "fund", deployments: { ...REPLICAS, "paimon-api": 3 } });
  env = {
    BACKUP_TARGET: `file://${path.join(directory, "backups")}`,
    DATABASE_URL: database.url,
    KUBECONFIG: cluster.kubeconfig(directory),
  };
});
afterEach(async () => {
  await cluster.stop();
  await database.drop();
  rmSync(directory, { recursive: true, force: true });
});

describe("a restore in a cluster", () => {
  it("when the writers' pods take their time to go, then the restore waits for them to be gone, restores, and scales each back to its replicas", async () => {
    const id = await backup();
    const before = await contents(database.url);
    await sql`delete from filler where id > 10`.execute(database.db);
    const changed = await contents(database.url);
    cluster.holdTermination(true);

    let settled = false;
    const restoring = runOpsForTest(["--json", "restore", id], env).finally(() => (settled = true));
    await cluster.scaledTo(EVENT_LISTENER, 0);
    // The client watches the listener's pods, which the kubelet (the test) has not let go yet.
    await vi.waitFor(
      () => {
        expect(cluster.requests.some((request) => request.includes("/pods?") && request.includes("watch=true"))).toBe(
          true,
        );
      },
      { timeout: 30_000, interval: 20 },
    );
    expect(cluster.pods(EVENT_LISTENER)).toHaveLength(1);
    expect(settled).toBe(false);
    expect(cluster.replicas(workerName("risk"))).toBe(2);
    expect(await contents(database.url)).toEqual(changed);

    cluster.holdTermination(false);
    cluster.release();
    const restored = await restoring;
    expect(restored.err).not.toContain("failed");
    expect(restored.code).toBe(0);
    const report = JSON.parse(restored.out) as { restored: boolean; writers: string[] };
    expect(report.restored).toBe(true);
    // Every writer stopped once, each from the replicas it had; the listener first (the one held
    // above), the workers after it.
    expect([...report.writers].sort()).toEqual(
      Object.entries(REPLICAS)
        .map(([deployment, replicas]) => `${deployment}: ${String(replicas)} → 0`)
        .sort(),
    );
    expect(report.writers[0]).toBe(`${EVENT_LISTENER}: 1 → 0`);
    expect(await contents(database.url)).toEqual(before);
    for (const [deployment, replicas] of Object.entries(REPLICAS)) {
      expect(cluster.replicas(deployment)).toBe(replicas);
      expect(cluster.pods(deployment)).toHaveLength(replicas);
    }
    // The API serves reads through the restore: nothing asked about its Deployment.
    expect(cluster.replicas("paimon-api")).toBe(3);
    expect(cluster.requests.filter((request) => request.includes("paimon-api"))).toEqual([]);
    expect(restored.err).toContain(`ops: ${EVENT_LISTENER}: scaling 1 → 0`);
  });

  it("when pg_restore fails after the writers were stopped, then they are scaled back all the same and the database is as it was", async () => {
    const id = await backup();
    // A view made after the backup depends on a table the restore must drop: pg_restore fails.
    await sql`create schema reports`.execute(database.db);
    await sql`create view reports.notes as select note from public.filler`.execute(database.db);
    await sql`delete from filler where id > 10`.execute(database.db);
    const changed = await contents(database.url);

    const failed = await runOpsForTest(["restore", id], env);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain("ops: failed:");
    expect(failed.err).toContain("depend");
    for (const [deployment, replicas] of Object.entries(REPLICAS)) expect(cluster.replicas(deployment)).toBe(replicas);
    expect(failed.err).toContain(`ops: ${workerName("scheduler")}: scaled back to 1`);
    expect(await contents(database.url)).toEqual(changed);
  });

  it("when a writer outside the Deployments still holds its lock, then the restore is refused, nothing changes, and the Deployments are scaled back", async () => {
    const id = await backup();
    await sql`delete from filler`.execute(database.db);
    const changed = await contents(database.url);
    const stray = new pg.Client({ connectionString: database.url, application_name: "paimon-event-listener" });
    await stray.connect();
    try {
      await stray.query("select pg_advisory_lock(hashtext('paimon:event-listener:97'))");
      const refused = await runOpsForTest(["restore", id], env);
      expect(refused.code).toBe(2);
      expect(refused.err).toMatch(
        /writers are connected to the target \(pid \d+ \(paimon-event-listener\)[^)]*\) after stopping Deployments in namespace fund/,
      );
    } finally {
      await stray.end();
    }
    expect(await contents(database.url)).toEqual(changed);
    for (const [deployment, replicas] of Object.entries(REPLICAS)) expect(cluster.replicas(deployment)).toBe(replicas);
  });

  it("when a Deployment is missing, then the stop fails naming it, and those already scaled down are scaled back before anything is restored", async () => {
    await cluster.stop();
    const partial = Object.fromEntries(
      Object.entries(REPLICAS).filter(([deployment]) => deployment !== workerName("scheduler")),
    );
    cluster = await startFakeCluster({ namespace: "fund", deployments: partial });
    env = { ...env, KUBECONFIG: cluster.kubeconfig(directory) };
    const id = await backup();
    await sql`delete from filler`.execute(database.db);
    const changed = await contents(database.url);

    const failed = await runOpsForTest(["restore", id], env);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain(`HTTP 404: deployments.apps "${workerName("scheduler")}" not found`);
    for (const [deployment, replicas] of Object.entries(partial)) expect(cluster.replicas(deployment)).toBe(replicas);
    expect(await contents(database.url)).toEqual(changed);
  });

  it("when the cluster refuses the credentials or no namespace is known, then nothing is scaled and it says why", async () => {
    const id = await backup();
    const denied = await runOpsForTest(["restore", id], {
      ...env,
      KUBECONFIG: cluster.kubeconfig(mkdtempSync(path.join(directory, "denied-")), { token: "wrong" }),
    });
    expect(denied.code).toBe(1);
    expect(denied.err).toContain("HTTP 401");

    const nowhere = await runOpsForTest(["restore", id], {
      ...env,
      KUBECONFIG: cluster.kubeconfig(mkdtempSync(path.join(directory, "nowhere-")), { namespace: null }),
    });
    expect(nowhere.code).toBe(64);
    expect(nowhere.err).toContain("KUBERNETES_NAMESPACE: missing");
    expect(cluster.requests.filter((request) => request.startsWith("PATCH"))).toEqual([]);
    for (const [deployment, replicas] of Object.entries(REPLICAS)) expect(cluster.replicas(deployment)).toBe(replicas);
  });
});
