/**
 * The drill's RDS path with the real AWS SDK against moto's RDS and EC2: a source instance in our
 * subnet group, security group and parameter group, restored to a point in time into a scratch
 * instance that must come up with all three (a point-in-time restore does not keep them), then
 * deleted without a final snapshot. What moto cannot show: it makes instances available and
 * deletes them at once (the waiters return on their first look), restores no data (its instances
 * have no server), ignores the restore time, and drops the restore's `false` settings (single-AZ,
 * no deletion protection), copying the source's instead — which is why a protected scratch is
 * unprotected before it is deleted. A drill stopped while RDS restores is stopped at the moment
 * the restore request is on its way or answered (a middleware of the SDK's client); a SIGTERM
 * reaches the CLI's own handler by `process.emit`, as Node delivers one.
 */
import {
  CreateDBInstanceCommand,
  CreateDBParameterGroupCommand,
  CreateDBSubnetGroupCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
  type Tag,
} from "@aws-sdk/client-rds";
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client } from "@aws-sdk/client-ec2";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "@paimon/core/config";
import { createTestDatabase } from "@paimon/core/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DR_DRILL } from "../../infra/k8s/dr-drill";
import { synthesizeStack } from "../../infra/k8s/main";
import { metricsDatabaseUrl } from "../../infra/k8s/timescaledb-chart";
import { readStackConfigs } from "../../infra/planner/stack-configs";
import { DR_DRILL_DEADLINE_SECONDS, DR_DRILL_SCRATCH_TAG } from "@paimon/core/workloads";
import { opsEnvSchema, runOps, Stopped } from "./cli";
import { drillEnvSchema } from "./drill-command";
import { servicesFromSource } from "./drill-services";
import {
  deleteScratchInstance,
  rdsScratch,
  restoreScratchInstance,
  scratchIdentifier,
  scratchPrefix,
  sourceSettings,
  sweepScratchInstances,
} from "./rds";
import { drillId, type DrillRecord } from "./records";
import { runOpsForTest, startMoto, within, type LocalServer } from "./testing";

const REGION = "ap-southeast-1";
const credentials = { accessKeyId: "testing", secretAccessKey: "testing" };
let moto: LocalServer;

/** What `ops dr-drill --rds-source` reads, against moto's RDS: a chain that answers nothing. */
const drillEnvironment = (directory: string, databaseUrl: string) => ({
  BACKUP_TARGET: `file://${directory}`,
  DATABASE_URL: databaseUrl,
  REDIS_URL: "redis://127.0.0.1:6379",
  BSC_RPC_URL: "http://127.0.0.1:9",
  CHAIN_ID: "31337",
  FUND_ADDRESS: `0x${"11".repeat(20)}`,
  AWS_REGION: REGION,
  AWS_RDS_ENDPOINT: moto.url,
});
let rds: RDSClient;
/** What the SDK sent, by command: moto copies the source's settings whether or not we pass them. */
const sent: { command: string; input: Record<string, unknown> }[] = [];
let ours: { securityGroup: string; parameterGroup: string; subnetGroup: string };

beforeAll(async () => {
  moto = await startMoto();
  rds = new RDSClient({ region: REGION, endpoint: moto.url, credentials });
  rds.middlewareStack.add(
    (next, context) => (args) => {
      sent.push({ command: context.commandName ?? "", input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: "initialize", name: "recordInput" },
  );
  const ec2 = new EC2Client({ region: REGION, endpoint: moto.url, credentials });
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: "10.20.0.0/16" }))).Vpc?.VpcId ?? "";
  const subnets = await Promise.all(
    ["a", "b"].map(
      async (zone, index) =>
        (
          await ec2.send(
            new CreateSubnetCommand({
              VpcId: vpc,
              CidrBlock: `10.20.${20 + index}.0/24`,
              AvailabilityZone: `${REGION}${zone}`,
            }),
          )
        ).Subnet?.SubnetId ?? "",
    ),
  );
  const securityGroup =
    (
      await ec2.send(
        new CreateSecurityGroupCommand({ GroupName: "paimon-test-db", Description: "the database", VpcId: vpc }),
      )
    ).GroupId ?? "";
  await rds.send(
    new CreateDBSubnetGroupCommand({
      DBSubnetGroupName: "paimon-test-db",
      DBSubnetGroupDescription: "the database tier",
      SubnetIds: subnets,
    }),
  );
  await rds.send(
    new CreateDBParameterGroupCommand({
      DBParameterGroupName: "paimon-test-postgres15",
      DBParameterGroupFamily: "postgres15",
      Description: "forced TLS",
    }),
  );
  ours = { securityGroup, parameterGroup: "paimon-test-postgres15", subnetGroup: "paimon-test-db" };
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: "paimon-test",
      Engine: "postgres",
      EngineVersion: "15.8",
      DBInstanceClass: "db.t4g.medium",
      AllocatedStorage: 50,
      MasterUsername: "paimon",
      MasterUserPassword: "a-long-enough-password",
      DBName: "paimon",
      VpcSecurityGroupIds: [securityGroup],
      DBSubnetGroupName: ours.subnetGroup,
      DBParameterGroupName: ours.parameterGroup,
      BackupRetentionPeriod: 7,
      MultiAZ: true,
      DeletionProtection: true,
    }),
  );
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await moto.stop();
});

const DRILL_TAG: Tag = { Key: DR_DRILL_SCRATCH_TAG.key, Value: DR_DRILL_SCRATCH_TAG.value };

/** A client of its own whose every request is recorded, and handed to `before` and `after` it is sent. */
function watchedClient(hooks: { before?: (command: string) => void; after?: (command: string) => void } = {}) {
  const commands: string[] = [];
  const inputs: Record<string, unknown>[] = [];
  const client = new RDSClient({ region: REGION, endpoint: moto.url, credentials });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? "";
      commands.push(command);
      inputs.push(args.input as Record<string, unknown>);
      hooks.before?.(command);
      const result = await next(args);
      hooks.after?.(command);
      return result;
    },
    { step: "initialize", name: "watch" },
  );
  return { client, commands, inputs };
}

/** Whether moto still has an instance of this name. */
const exists = (identifier: string) =>
  rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })).then(
    () => true,
    (error: unknown) => {
      if ((error as { name?: string }).name === "DBInstanceNotFoundFault") return false;
      throw error;
    },
  );

/** An instance as an earlier drill (or someone else) left it, in moto. */
async function leftBehind(identifier: string, tags: Tag[]): Promise<void> {
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: identifier,
      Engine: "postgres",
      EngineVersion: "15.8",
      DBInstanceClass: "db.t4g.medium",
      AllocatedStorage: 20,
      MasterUsername: "paimon",
      MasterUserPassword: "a-long-enough-password",
      DBSubnetGroupName: ours.subnetGroup,
      Tags: tags,
    }),
  );
}

describe("a drill's scratch RDS instance", () => {
  it("when restored to a point in time, then it has our security group, parameter group and subnet group, and is deleted without a final snapshot", async () => {
    const settings = await sourceSettings(rds, "paimon-test");
    expect(settings).toMatchObject({
      securityGroupIds: [ours.securityGroup],
      parameterGroup: ours.parameterGroup,
      subnetGroup: ours.subnetGroup,
      instanceClass: "db.t4g.medium",
    });
    const target = scratchIdentifier("paimon-test", "drill-20261201T134500123Z");
    expect(target).toBe("paimon-test-drill-20261201t134500123z");

    const scratch = await restoreScratchInstance({
      client: rds,
      source: "paimon-test",
      target,
      time: new Date(Date.now() - 60_000),
      waitSeconds: 60,
    });
    expect(scratch).toMatchObject({
      identifier: target,
      securityGroupIds: [ours.securityGroup],
      parameterGroup: ours.parameterGroup,
      subnetGroup: ours.subnetGroup,
      port: 5432,
    });
    expect(scratch.address).toContain(target);
    expect(sent.find((request) => request.command === "RestoreDBInstanceToPointInTimeCommand")?.input).toMatchObject({
      SourceDBInstanceIdentifier: "paimon-test",
      TargetDBInstanceIdentifier: target,
      VpcSecurityGroupIds: [ours.securityGroup],
      DBParameterGroupName: ours.parameterGroup,
      DBSubnetGroupName: ours.subnetGroup,
      MultiAZ: false,
      PubliclyAccessible: false,
      DeletionProtection: false,
      BackupRetentionPeriod: 0,
    });
    const described = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: target })))
      .DBInstances?.[0];
    expect(described?.TagList).toContainEqual({ Key: "paimon:purpose", Value: "dr-drill" });

    await deleteScratchInstance({ client: rds, identifier: target, waitSeconds: 60 });
    expect(sent.find((request) => request.command === "DeleteDBInstanceCommand")?.input).toEqual({
      DBInstanceIdentifier: target,
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    });
    await expect(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: target }))).rejects.toMatchObject({
      name: "DBInstanceNotFoundFault",
    });
    const snapshots = await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: target }));
    expect(snapshots.DBSnapshots ?? []).toEqual([]);
    // Gone is gone: deleting it again is not an error.
    await deleteScratchInstance({ client: rds, identifier: target, waitSeconds: 60 });
  });

  it("when asked to delete an instance the drill did not make, then it refuses and the instance stays", async () => {
    await expect(deleteScratchInstance({ client: rds, identifier: "paimon-test", waitSeconds: 60 })).rejects.toThrow(
      "is not a drill's scratch instance (no paimon:purpose tag): not deleted",
    );
    const source = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: "paimon-test" }));
    expect(source.DBInstances?.[0]?.DBInstanceStatus).toBe("available");
  });

  it("when a prefix is given, then the scratch identifier is that prefix and the drill's time, whatever the source", () => {
    expect(
      scratchIdentifier("paimon-production-dr-postgres", "drill-20261201T134500123Z", "paimon-production-dr-drill-"),
    ).toBe("paimon-production-dr-drill-20261201t134500123z");
    expect(scratchIdentifier("paimon-test", "drill-20261201T134500123Z")).toBe("paimon-test-drill-20261201t134500123z");
  });

  it("when RDS_SCRATCH_PREFIX is not an RDS identifier's start, then the drill refuses to run, naming it", async () => {
    const run = await runOpsForTest(
      ["--json", "dr-drill", "--rds-source", "paimon-test"],
      {
        BACKUP_TARGET: "file:///nonexistent",
        DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/postgres",
        REDIS_URL: "redis://127.0.0.1:6379",
        BSC_RPC_URL: "http://127.0.0.1:9",
        RDS_SCRATCH_PREFIX: "Paimon--drill",
      },
      { services: servicesFromSource(path.resolve(__dirname, "..", "..")) },
    );
    expect(run.code).toBe(64);
    expect(run.err).toContain("RDS_SCRATCH_PREFIX");
  });

  it("when `ops dr-drill --rds-source` restores into a scratch instance it cannot reach, then the drill fails, and the instance is deleted all the same", async () => {
    // The SDK's default credential chain reads the process's environment, not the CLI's.
    vi.stubEnv("AWS_ACCESS_KEY_ID", credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", credentials.secretAccessKey);
    const source = await createTestDatabase();
    const directory = mkdtempSync(path.join(tmpdir(), "paimon-drill-rds-"));
    try {
      const run = await runOpsForTest(
        ["--json", "dr-drill", "--rds-source", "paimon-test"],
        {
          ...drillEnvironment(directory, source.url),
          // As the cluster's CronJob runs it: the scratch named under its role's prefix.
          RDS_SCRATCH_PREFIX: "paimon-test-scratch-",
        },
        { services: servicesFromSource(path.resolve(__dirname, "..", "..")) },
      );
      expect(run.code, run.err).toBe(3);
      const record = JSON.parse(run.out) as DrillRecord;
      expect(record).toMatchObject({
        passed: false,
        restore: {
          method: "rds-point-in-time",
          scratch: expect.stringMatching(/^paimon-test-scratch-\d{8}t\d{9}z$/) as string,
        },
        rto: null,
      });
      // moto's endpoint has no server behind it: the first connection to the scratch fails.
      expect(record.problems.join("\n")).toMatch(/ENOTFOUND|getaddrinfo/);
      // Restored to the backup's snapshot time, then deleted (the CLI's own client: its log says so).
      expect(run.err).toMatch(
        new RegExp(`ops: restoring RDS paimon-test to \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z as ${record.restore.scratch}\\n`),
      );
      expect(run.err).toContain(`ops: deleting the scratch instance ${record.restore.scratch}\n`);
      await expect(
        rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: record.restore.scratch })),
      ).rejects.toMatchObject({ name: "DBInstanceNotFoundFault" });
    } finally {
      await source.drop();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it.each([
    ["on its way", "before"],
    ["answered", "after"],
  ] as const)(
    "when the drill is stopped while its restore request is %s, then the scratch's deletion is requested at once, after the request's answer, without a final snapshot, and not waited for",
    async (_when, moment) => {
      const stop = new AbortController();
      const reason = new Stopped("SIGTERM");
      let deleteSent: () => void = () => undefined;
      const deletionSent = new Promise<void>((resolve) => (deleteSent = resolve));
      const { client, commands, inputs } = watchedClient({
        [moment]: (command: string) => {
          if (command === "RestoreDBInstanceToPointInTimeCommand") stop.abort(reason);
          if (command === "DeleteDBInstanceCommand") deleteSent();
        },
      });
      const name = `paimon-test-abort-${moment}`;
      const lines: string[] = [];
      const scratch = rdsScratch({
        client,
        source: "paimon-test",
        sourceUrl: "postgresql://paimon:pw@paimon-test.example:5432/paimon",
        name,
        log: (line) => lines.push(line),
        signal: stop.signal,
      });
      try {
        await expect(scratch.restore({ id: "postgres-x", snapshotAt: new Date(Date.now() - 60_000) })).rejects.toBe(
          reason,
        );
        // The stop alone sends it: the drill's cleanup (drop) has not run yet.
        await within(deletionSent, 30_000, "the DeleteDBInstance request the stop sends");
        expect(lines).toContain(`stopped: deleting the scratch instance ${name}, not waiting for it`);
        await scratch.drop();
        const restore = commands.indexOf("RestoreDBInstanceToPointInTimeCommand");
        expect(restore).toBeGreaterThanOrEqual(0);
        // After the restore: one look at the instance (its tag), its protection off (moto copies
        // the source's), the deletion — and no waiter's polls.
        expect(commands.slice(restore + 1)).toEqual([
          "DescribeDBInstancesCommand",
          "ModifyDBInstanceCommand",
          "DeleteDBInstanceCommand",
        ]);
        expect(inputs.at(-1)).toEqual({
          DBInstanceIdentifier: name,
          SkipFinalSnapshot: true,
          DeleteAutomatedBackups: true,
        });
        expect(await exists(name)).toBe(false);
      } finally {
        client.destroy();
      }
    },
  );

  it("when the drill is stopped before its restore is requested, then nothing is restored and nothing deleted", async () => {
    const stop = new AbortController();
    const { client, commands } = watchedClient({
      before: (command) => {
        if (command === "DescribeDBInstancesCommand") stop.abort(new Stopped("SIGINT"));
      },
    });
    const name = "paimon-test-abort-early";
    const scratch = rdsScratch({
      client,
      source: "paimon-test",
      sourceUrl: "postgresql://paimon:pw@paimon-test.example:5432/paimon",
      name,
      signal: stop.signal,
    });
    try {
      await expect(scratch.restore({ id: "postgres-x", snapshotAt: new Date(Date.now() - 60_000) })).rejects.toThrow();
      await scratch.drop();
      expect(commands).not.toContain("RestoreDBInstanceToPointInTimeCommand");
      expect(commands).not.toContain("DeleteDBInstanceCommand");
      expect(await exists(name)).toBe(false);
    } finally {
      client.destroy();
    }
  });

  it("when earlier drills left scratch instances behind, then a drill deletes those under its prefix, tagged as a drill's, whose drill began longer ago than a drill may last — not a newer one, an untagged one, or the source", async () => {
    const prefix = "paimon-sweep-drill-";
    expect(scratchPrefix("paimon-sweep", undefined)).toBe(prefix);
    const now = new Date();
    const drillOf = (hoursAgo: number) =>
      scratchIdentifier("paimon-sweep", drillId(new Date(now.getTime() - hoursAgo * 3600_000)), prefix);
    const stale = drillOf(DR_DRILL_DEADLINE_SECONDS / 3600 + 1);
    const fresh = drillOf(1);
    const untagged = drillOf(DR_DRILL_DEADLINE_SECONDS / 3600 + 2);
    const source = drillOf(DR_DRILL_DEADLINE_SECONDS / 3600 + 3);
    // No drill's time in its name: its creation (just now, in moto) is its age.
    const unnamed = `${prefix}by-hand`;
    const elsewhere = `paimon-other-drill-${drillOf(24).slice(prefix.length)}`;
    await leftBehind(stale, [DRILL_TAG, { Key: "paimon:drill-source", Value: "paimon-sweep" }]);
    await leftBehind(fresh, [DRILL_TAG]);
    await leftBehind(untagged, [{ Key: "paimon:purpose", Value: "something-else" }]);
    await leftBehind(source, [DRILL_TAG]);
    await leftBehind(unnamed, [DRILL_TAG]);
    await leftBehind(elsewhere, [DRILL_TAG]);

    const first = await sweepScratchInstances({ client: rds, prefix, source, now });
    expect(first).toEqual({ swept: [{ name: stale, since: new Date(now.getTime() - 7 * 3600_000) }], problems: [] });
    expect(await exists(stale)).toBe(false);
    for (const kept of [fresh, untagged, source, unnamed, elsewhere, "paimon-test"])
      expect(await exists(kept), kept).toBe(true);

    // A day on, the newer drill's scratch and the unnamed one are stale too; the rest still stay.
    const later = await sweepScratchInstances({
      client: rds,
      prefix,
      source,
      now: new Date(now.getTime() + 24 * 3600_000),
    });
    expect(later.swept.map((instance) => instance.name).sort()).toEqual([fresh, unnamed].sort());
    for (const kept of [untagged, source, elsewhere, "paimon-test"]) expect(await exists(kept), kept).toBe(true);
  });

  it("when `ops dr-drill --rds-source` gets SIGTERM while RDS restores its scratch, then it requests the scratch's deletion at once, exits 143, records why, and sweeps an earlier drill's leftover first", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", credentials.secretAccessKey);
    const prefix = "paimon-test-stopped-";
    const leftover = scratchIdentifier("paimon-test", drillId(new Date(Date.now() - 30 * 3600_000)), prefix);
    await leftBehind(leftover, [DRILL_TAG]);
    const source = await createTestDatabase();
    const directory = mkdtempSync(path.join(tmpdir(), "paimon-drill-stopped-"));
    const listeners = process.listenerCount("SIGTERM");
    let out = "";
    let err = "";
    try {
      const code = await runOps(["--json", "dr-drill", "--rds-source", "paimon-test"], {
        env: {
          ...drillEnvironment(directory, source.url),
          RDS_SCRATCH_PREFIX: prefix,
        },
        out: (text) => (out += text),
        err: (text) => {
          err += text;
          // The CLI's own handler, as Node calls it on the signal.
          if (text.startsWith("ops: RDS is restoring ")) process.emit("SIGTERM", "SIGTERM");
        },
        services: servicesFromSource(path.resolve(__dirname, "..", "..")),
      });
      expect(code, err).toBe(143);
      const record = JSON.parse(out) as DrillRecord;
      expect(record).toMatchObject({ passed: false, problems: ["stopped by SIGTERM"], rto: null });
      expect(record.swept).toEqual([{ scratch: leftover, since: expect.any(String) as string }]);
      expect(err).toContain(
        `ops: stopped: deleting the scratch instance ${record.restore.scratch}, not waiting for it\n`,
      );
      expect(await exists(record.restore.scratch)).toBe(false);
      expect(await exists(leftover)).toBe(false);
      // Outside the drill, SIGTERM is Node's again.
      expect(process.listenerCount("SIGTERM")).toBe(listeners);
    } finally {
      await source.drop();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("when the source does not exist, then the restore fails naming it", async () => {
    await expect(
      restoreScratchInstance({
        client: rds,
        source: "paimon-missing",
        target: "paimon-missing-drill",
        time: new Date(),
      }),
    ).rejects.toMatchObject({ name: "DBInstanceNotFoundFault" });
  });
});

/** What the synced secrets hold, in the shape infra/program.ts composes them. */
const SECRETS: Readonly<Record<string, string>> = {
  "database-url":
    "postgresql://paimon:pw@paimon-postgres.abc.ap-southeast-1.rds.amazonaws.com:5432/paimon?sslmode=verify-full",
  "metrics-database-url": metricsDatabaseUrl("paimon", "pw"),
  "redis-url": "rediss://:token@master.paimon-redis.abc.apse1.cache.amazonaws.com:6379",
  "bsc-rpc-url": "https://bsc.example/rpc",
  "bsc-ws-url": "wss://bsc.example/ws",
};

interface CronJob {
  kind: string;
  metadata: { name: string };
  spec: {
    jobTemplate: {
      spec: {
        template: {
          spec: {
            containers: {
              args: string[];
              env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { key: string } } }[];
            }[];
          };
        };
      };
    };
  };
}

describe.each(readStackConfigs().map((config) => [config.stack, config] as const))(
  "the %s cluster's DR drill CronJob",
  (_stack, config) => {
    const container = synthesizeStack(config)
      .flatMap((chart) => chart.objects as unknown as CronJob[])
      .find((object) => object.kind === "CronJob" && object.metadata.name === DR_DRILL)?.spec.jobTemplate.spec.template
      .spec.containers[0];

    it("then `ops dr-drill` accepts its environment, reads every variable it is given, and names its scratch under the prefix, never the source", () => {
      if (!container) throw new Error(`no CronJob ${DR_DRILL}`);
      const env = Object.fromEntries(
        container.env.map((variable) => {
          const key = variable.valueFrom?.secretKeyRef?.key;
          const value = variable.value ?? (key === undefined ? undefined : SECRETS[key]);
          if (value === undefined) throw new Error(`${variable.name}: secret ${String(key)} has no fixture`);
          return [variable.name, value];
        }),
      );
      const known = [...Object.keys(opsEnvSchema.shape), ...Object.keys(drillEnvSchema.shape)];
      expect(Object.keys(env).filter((name) => !known.includes(name))).toEqual([]);
      loadConfig(opsEnvSchema, env);
      const drill = loadConfig(drillEnvSchema, env);
      const source = container.args[container.args.indexOf("--rds-source") + 1] ?? "";
      const prefix = drill.RDS_SCRATCH_PREFIX ?? "";
      expect(prefix).not.toBe("");
      const scratch = scratchIdentifier(source, drillId(new Date("2026-12-31T23:59:59.999Z")), prefix);
      expect(scratch.startsWith(prefix)).toBe(true);
      expect(scratch.length).toBeLessThanOrEqual(63);
      expect(source.startsWith(prefix)).toBe(false);
    });
  },
);
