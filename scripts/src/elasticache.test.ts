/**
 * Redis's backup on AWS, through the real AWS SDK: the ElastiCache calls go to a local server
 * speaking ElastiCache's Query protocol (elasticache-test-server.ts — moto's ElastiCache has no
 * CopySnapshot and no snapshot states), which exports real RDBs (saved by a Redis of the test's
 * own) into moto's S3, where the backup reads them back; the data key's alias is resolved in
 * moto's KMS. A Pushgateway stand-in records what the backup reports.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startElastiCache, type LocalElastiCache } from "./elasticache-test-server";
import { startPushgatewayRecorder, type PushgatewayRecorder } from "./pushgateway-recorder";
import { saveRedis } from "./redis";
import { runOpsForTest, startMoto, startRedis, type LocalServer } from "./testing";

const REGION = "ap-southeast-1";
const BUCKET = "paimon-test-backups-111111111111-ap-southeast-1";
const GROUP = "paimon-test-redis";

const ops = runOpsForTest;
const without = (env: Record<string, string>, name: string) =>
  Object.fromEntries(Object.entries(env).filter(([key]) => key !== name));
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

let moto: LocalServer;
let redisServer: LocalServer;
let elastiCache: LocalElastiCache;
let gateway: PushgatewayRecorder;
let s3: S3Client;
let keyArn: string;
/** The RDB each shard exports: real saves of a Redis, a different keyspace per shard. */
const rdbs = new Map<number, Buffer>();
let env: Record<string, string>;

beforeAll(async () => {
  moto = await startMoto();
  vi.stubEnv("AWS_ACCESS_KEY_ID", "testing");
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", "testing");
  s3 = new S3Client({ region: REGION, endpoint: moto.url, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  const kms = new KMSClient({ region: REGION, endpoint: moto.url });
  keyArn = (await kms.send(new CreateKeyCommand({ Description: "data" }))).KeyMetadata?.Arn ?? "";
  await kms.send(new CreateAliasCommand({ AliasName: "alias/paimon-test-data", TargetKeyId: keyArn }));

  redisServer = await startRedis();
  const redis = new Redis(redisServer.url);
  const scratch = mkdtempSync(path.join(tmpdir(), "paimon-rdb-"));
  try {
    for (const shard of [1, 2]) {
      await redis.flushall();
      await redis.mset(Object.fromEntries(Array.from({ length: 40 * shard }, (_, i) => [`shard${shard}:${i}`, "v"])));
      const saved = await saveRedis({ redis, directory: scratch, pollMs: 20 });
      rdbs.set(shard, readFileSync(saved.file));
    }
  } finally {
    redis.disconnect();
    rmSync(scratch, { recursive: true, force: true });
  }
  elastiCache = await startElastiCache({
    region: REGION,
    accountId: "111111111111",
    s3,
    groups: {
      [GROUP]: {
        shards: 2,
        engineVersion: "7.1.0",
        rdb: (shard) => Promise.resolve(rdbs.get(shard) ?? Buffer.alloc(0)),
      },
    },
  });
  gateway = await startPushgatewayRecorder();
}, 120_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await elastiCache.stop();
  await gateway.stop();
  await redisServer.stop();
  await moto.stop();
});

let run = 0;
beforeEach(() => {
  run += 1;
  elastiCache.outcome = "available";
  elastiCache.requests.length = 0;
  gateway.pushes.length = 0;
  env = {
    BACKUP_TARGET: `s3://${BUCKET}/run-${run}`,
    BACKUP_KMS_KEY_ID: `arn:aws:kms:${REGION}:111111111111:alias/paimon-test-data`,
    AWS_REGION: REGION,
    AWS_S3_ENDPOINT: moto.url,
    AWS_KMS_ENDPOINT: moto.url,
    AWS_ELASTICACHE_ENDPOINT: elastiCache.url,
    REDIS_BACKUP_MODE: "elasticache",
    ELASTICACHE_REPLICATION_GROUP_ID: GROUP,
    ELASTICACHE_SNAPSHOT_PREFIX: "paimon-test-",
    ELASTICACHE_POLL_SECONDS: "0.02",
    ELASTICACHE_WAIT_SECONDS: "60",
    PUSHGATEWAY_URL: gateway.url,
  };
});

const keysUnder = async (prefix: string) =>
  ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key);

describe("a Redis backup from ElastiCache", () => {
  it("when the group's snapshot exports, then every shard's RDB is in the backup's prefix, checksummed into the manifest, the snapshot deleted and the success pushed", async () => {
    const made = await ops(["--json", "backup", "redis"], env);
    expect(made.err).toBe("");
    expect(made.code).toBe(0);
    const { id, manifest } = JSON.parse(made.out) as {
      id: string;
      manifest: { artefacts: { name: string; size: number; sha256: string }[]; source: object };
    };
    expect(manifest.artefacts).toEqual([
      { name: "dump-0001.rdb", size: rdbs.get(1)?.length, sha256: sha256(rdbs.get(1) ?? Buffer.alloc(0)) },
      { name: "dump-0002.rdb", size: rdbs.get(2)?.length, sha256: sha256(rdbs.get(2) ?? Buffer.alloc(0)) },
    ]);
    expect(manifest.source).toEqual({ server_version: "7.1.0", database: GROUP });

    const actions = elastiCache.requests.map((request) => request.action);
    const snapshot = `paimon-test-${id.toLowerCase()}`;
    expect(actions.filter((action) => action !== "DescribeSnapshots")).toEqual([
      "CreateSnapshot",
      "CopySnapshot",
      "DeleteSnapshot",
    ]);
    expect(elastiCache.requests.find((request) => request.action === "CreateSnapshot")?.params).toEqual({
      SnapshotName: snapshot,
      ReplicationGroupId: GROUP,
    });
    // Exported only once the snapshot was available: it was `creating` for two polls first.
    const polls = actions.slice(actions.indexOf("CreateSnapshot"), actions.indexOf("CopySnapshot"));
    expect(polls.filter((action) => action === "DescribeSnapshots").length).toBeGreaterThanOrEqual(2);
    expect(elastiCache.requests.find((request) => request.action === "CopySnapshot")?.params).toEqual({
      SourceSnapshotName: snapshot,
      TargetSnapshotName: `run-${run}/redis/${id}/dump`,
      TargetBucket: BUCKET,
    });
    expect(elastiCache.requests.at(-1)).toEqual({ action: "DeleteSnapshot", params: { SnapshotName: snapshot } });
    expect(elastiCache.snapshotNames()).not.toContain(snapshot);

    expect((await keysUnder(`run-${run}/redis/${id}/`)).sort()).toEqual([
      `run-${run}/redis/${id}/dump-0001.rdb`,
      `run-${run}/redis/${id}/dump-0002.rdb`,
      `run-${run}/redis/${id}/manifest.json`,
    ]);
    const exported = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: `run-${run}/redis/${id}/dump-0002.rdb` }),
    );
    expect(Buffer.from((await exported.Body?.transformToByteArray()) ?? [])).toEqual(rdbs.get(2));
    // The alias the chart names was resolved: the manifest is SSE-KMS under the key's ARN.
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `run-${run}/redis/${id}/manifest.json` }));
    expect([head.ServerSideEncryption, head.SSEKMSKeyId]).toEqual(["aws:kms", keyArn]);

    expect(gateway.pushes.map((push) => push.url)).toEqual(["/metrics/job/paimon-backup/kind/redis"]);
    const bytes = (rdbs.get(1)?.length ?? 0) + (rdbs.get(2)?.length ?? 0);
    expect(gateway.pushes[0]?.body).toContain(
      `paimon_backup_size_bytes{kind="redis",service="paimon-backup"} ${bytes}`,
    );
    expect((await ops(["backups", "list"], env)).out).toContain(`${id}  complete`);
  });

  it("when the snapshot fails, then the backup fails, no manifest is written, nothing is pushed, and the snapshot is deleted", async () => {
    elastiCache.outcome = "failed";
    const made = await ops(["backup", "redis"], env);
    expect(made.code).toBe(1);
    expect(made.err).toMatch(
      /ops: failed: snapshot paimon-test-redis-\w+ of paimon-test-redis failed: snapshot \S+ is failed/,
    );
    expect(elastiCache.requests.map((request) => request.action)).not.toContain("CopySnapshot");
    const created = elastiCache.requests.find((request) => request.action === "CreateSnapshot")?.params["SnapshotName"];
    expect(elastiCache.requests.at(-1)).toEqual({ action: "DeleteSnapshot", params: { SnapshotName: created } });
    expect(elastiCache.snapshotNames()).not.toContain(created);
    expect(await keysUnder(`run-${run}/`)).toEqual([]);
    expect(gateway.pushes).toEqual([]);
  });

  it("when the snapshot never becomes available, then the backup fails at ELASTICACHE_WAIT_SECONDS, says the snapshot could not be deleted yet, and records nothing", async () => {
    elastiCache.outcome = "never";
    const made = await ops(["backup", "redis"], { ...env, ELASTICACHE_WAIT_SECONDS: "1" });
    expect(made.code).toBe(1);
    expect(made.err).toContain("did not complete within 1 s (ELASTICACHE_WAIT_SECONDS)");
    expect(made.err).toMatch(/could not be deleted: Snapshot \S+ is creating/);
    expect(await keysUnder(`run-${run}/`)).toEqual([]);
    expect(gateway.pushes).toEqual([]);
  });

  it("when earlier jobs left snapshots behind, then this group's prefixed ones over a day old are deleted, and a recent one and others' are kept", async () => {
    const old = new Date(Date.now() - 2 * 86_400_000);
    elastiCache.seed({
      name: "paimon-test-redis-20200101t000000000z",
      groupId: GROUP,
      status: "available",
      createdAt: old,
    });
    elastiCache.seed({ name: "paimon-test-redis-recent", groupId: GROUP, status: "available", createdAt: new Date() });
    elastiCache.seed({ name: "someone-elses", groupId: GROUP, status: "available", createdAt: old });
    const before = elastiCache.snapshotNames();
    const made = await ops(["backup", "redis"], env);
    expect(made.code).toBe(0);
    expect(before.filter((name) => !elastiCache.snapshotNames().includes(name))).toEqual([
      "paimon-test-redis-20200101t000000000z",
    ]);
    expect(elastiCache.snapshotNames()).toEqual(expect.arrayContaining(["paimon-test-redis-recent", "someone-elses"]));
  });

  it("when it is misconfigured, then it exits 64 naming the variable, before ElastiCache is called", async () => {
    const missing = await ops(["backup", "redis"], without(env, "ELASTICACHE_REPLICATION_GROUP_ID"));
    expect([missing.code, missing.err]).toEqual([
      64,
      "ops: invalid configuration: ELASTICACHE_REPLICATION_GROUP_ID: REDIS_BACKUP_MODE=elasticache needs exactly one of it and ELASTICACHE_CACHE_CLUSTER_ID\n",
    ]);
    const local = await ops(["backup", "redis"], { ...env, BACKUP_TARGET: "file:///tmp/nowhere" });
    expect(local.code).toBe(64);
    expect(local.err).toContain("BACKUP_TARGET: REDIS_BACKUP_MODE=elasticache exports to S3");
    const badPrefix = await ops(["backup", "redis"], { ...env, ELASTICACHE_SNAPSHOT_PREFIX: "Paimon_" });
    expect(badPrefix.err).toContain("ELASTICACHE_SNAPSHOT_PREFIX: must be lower-case letters");
    expect(elastiCache.requests).toEqual([]);
  });
});
