/**
 * The drill's RDS path with the real AWS SDK against moto's RDS and EC2: a source instance in our
 * subnet group, security group and parameter group, restored to a point in time into a scratch
 * instance that must come up with all three (a point-in-time restore does not keep them), then
 * deleted without a final snapshot. What moto cannot show: it makes instances available and
 * deletes them at once (the waiters return on their first look), restores no data (its instances
 * have no server), ignores the restore time, and drops the restore's `false` settings (single-AZ,
 * no deletion protection), copying the source's instead — which is why a protected scratch is
 * unprotected before it is deleted.
 */
import {
  CreateDBInstanceCommand,
  CreateDBParameterGroupCommand,
  CreateDBSubnetGroupCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
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
import { opsEnvSchema } from "./cli";
import { drillEnvSchema } from "./drill-command";
import { servicesFromSource } from "./drill-services";
import { deleteScratchInstance, restoreScratchInstance, scratchIdentifier, sourceSettings } from "./rds";
import { drillId, type DrillRecord } from "./records";
import { runOpsForTest, startMoto, type LocalServer } from "./testing";

const REGION = "ap-southeast-1";
const credentials = { accessKeyId: "testing", secretAccessKey: "testing" };
let moto: LocalServer;
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
          BACKUP_TARGET: `file://${directory}`,
          DATABASE_URL: source.url,
          REDIS_URL: "redis://127.0.0.1:6379",
          BSC_RPC_URL: "http://127.0.0.1:9",
          CHAIN_ID: "31337",
          FUND_ADDRESS: `0x${"11".repeat(20)}`,
          AWS_REGION: REGION,
          AWS_RDS_ENDPOINT: moto.url,
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
