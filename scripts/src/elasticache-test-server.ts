/**
 * A local ElastiCache for the backup's tests, speaking the service's Query protocol as the real
 * SDK does (a signed, form-encoded POST with `Action=…&Version=2015-02-02`; XML answers in the
 * service's shape, `<ErrorResponse>` faults with their wire codes and HTTP statuses). moto's
 * ElastiCache has no CopySnapshot and makes every snapshot `available` at once, so it can exercise
 * neither the export nor the waits.
 *
 * What it models: replication groups of one or more shards; a snapshot that is `creating` for a
 * number of DescribeSnapshots polls, then `available` (or `failed`, or never done); CopySnapshot
 * with a TargetBucket refusing a source that is not available, a bucket that does not exist and an
 * object that is already there, then — as ElastiCache does, after answering — uploading one RDB
 * per shard to `<TargetSnapshotName>-000N.rdb` in that bucket (through the S3 it is given, moto's)
 * while the source reads `exporting`; DeleteSnapshot refusing a snapshot in progress.
 */
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { HeadBucketCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

export interface LocalReplicationGroup {
  readonly shards: number;
  readonly engineVersion: string;
  /** The RDB a shard's node would save (1-based shard number). */
  readonly rdb: (shard: number) => Promise<Buffer>;
}

/** How the snapshots this server takes end. */
export type SnapshotOutcome = "available" | "failed" | "never";

interface StoredSnapshot {
  name: string;
  groupId: string;
  source: "manual" | "automated";
  status: string;
  createdAt: Date;
  pollsLeft: number;
  outcome: SnapshotOutcome;
  /** A running export's upload, and whether it has put every shard. */
  exporting?: Promise<void>;
  exported: boolean;
  exportPollsLeft: number;
}

export interface LocalElastiCache {
  readonly url: string;
  /** Every action the SDK sent, with its parameters, in order. */
  readonly requests: { readonly action: string; readonly params: Record<string, string> }[];
  /** How the next snapshots end. @default "available" */
  outcome: SnapshotOutcome;
  /** Adds a snapshot as if an earlier backup had left it. */
  seed(snapshot: { name: string; groupId: string; status: string; createdAt: Date }): void;
  snapshotNames(): string[];
  stop(): Promise<void>;
}

const NAMESPACE = "http://elasticache.amazonaws.com/doc/2015-02-02/";
const escape = (text: string) =>
  text.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c] ?? c);

class Fault extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startElastiCache(options: {
  readonly region: string;
  readonly accountId: string;
  readonly groups: Readonly<Record<string, LocalReplicationGroup>>;
  /** Where exports are written: ElastiCache's own access to the bucket. */
  readonly s3: S3Client;
  /** DescribeSnapshots polls a new snapshot stays `creating`, and a source `exporting`. @default 2 */
  readonly pollsPerStep?: number;
}): Promise<LocalElastiCache> {
  const snapshots = new Map<string, StoredSnapshot>();
  const requests: LocalElastiCache["requests"][number][] = [];
  const steps = options.pollsPerStep ?? 2;
  const state = { outcome: "available" as SnapshotOutcome };
  const arn = (name: string) => `arn:aws:elasticache:${options.region}:${options.accountId}:snapshot:${name}`;

  const group = (id: string) => {
    const found = options.groups[id];
    if (!found) throw new Fault("ReplicationGroupNotFoundFault", 404, `ReplicationGroup ${id} not found.`);
    return found;
  };

  const snapshotXml = (snapshot: StoredSnapshot) => {
    const source = group(snapshot.groupId);
    const nodes = Array.from(
      { length: source.shards },
      (_, index) => `<NodeSnapshot>
          <CacheClusterId>${escape(snapshot.groupId)}-${String(index + 1).padStart(4, "0")}-001</CacheClusterId>
          <NodeGroupId>${String(index + 1).padStart(4, "0")}</NodeGroupId>
          <CacheNodeId>0001</CacheNodeId>
          <CacheSize>5 MB</CacheSize>
          <CacheNodeCreateTime>2026-01-01T00:00:00.000Z</CacheNodeCreateTime>
          <SnapshotCreateTime>${snapshot.createdAt.toISOString()}</SnapshotCreateTime>
        </NodeSnapshot>`,
    ).join("");
    return `<Snapshot>
        <SnapshotName>${escape(snapshot.name)}</SnapshotName>
        <ReplicationGroupId>${escape(snapshot.groupId)}</ReplicationGroupId>
        <ReplicationGroupDescription>Paimon job queues, locks and cache</ReplicationGroupDescription>
        <SnapshotStatus>${snapshot.status}</SnapshotStatus>
        <SnapshotSource>${snapshot.source}</SnapshotSource>
        <CacheNodeType>cache.t4g.small</CacheNodeType>
        <Engine>redis</Engine>
        <EngineVersion>${escape(source.engineVersion)}</EngineVersion>
        <NumNodeGroups>${source.shards}</NumNodeGroups>
        <AutomaticFailover>${source.shards > 1 ? "enabled" : "disabled"}</AutomaticFailover>
        <NodeSnapshots>${nodes}</NodeSnapshots>
        <ARN>${escape(arn(snapshot.name))}</ARN>
        <DataTiering>disabled</DataTiering>
      </Snapshot>`;
  };

  /** A poll moves a snapshot on: `creating` → its outcome, `exporting` → `available` once uploaded. */
  const advance = (snapshot: StoredSnapshot) => {
    if (snapshot.status === "creating" && snapshot.outcome !== "never") {
      snapshot.pollsLeft -= 1;
      if (snapshot.pollsLeft <= 0) snapshot.status = snapshot.outcome;
    } else if (snapshot.status === "exporting") {
      snapshot.exportPollsLeft -= 1;
      if (snapshot.exportPollsLeft <= 0 && snapshot.exported) snapshot.status = "available";
    }
  };

  const need = (params: Record<string, string>, name: string) => {
    const value = params[name];
    if (value === undefined || value === "")
      throw new Fault("MissingParameter", 400, `The request must contain the parameter ${name}`);
    return value;
  };

  async function act(action: string, params: Record<string, string>): Promise<string> {
    switch (action) {
      case "CreateSnapshot": {
        const name = need(params, "SnapshotName");
        const groupId = params["ReplicationGroupId"] ?? params["CacheClusterId"];
        if (groupId === undefined)
          throw new Fault("InvalidParameterCombination", 400, "Either ReplicationGroupId or CacheClusterId is needed");
        group(groupId);
        if (snapshots.has(name)) throw new Fault("SnapshotAlreadyExistsFault", 400, `Snapshot ${name} already exists.`);
        const snapshot: StoredSnapshot = {
          name,
          groupId,
          source: "manual",
          status: "creating",
          createdAt: new Date(),
          pollsLeft: steps,
          outcome: state.outcome,
          exported: false,
          exportPollsLeft: 0,
        };
        snapshots.set(name, snapshot);
        return `<CreateSnapshotResult>${snapshotXml(snapshot)}</CreateSnapshotResult>`;
      }
      case "DescribeSnapshots": {
        const name = params["SnapshotName"];
        if (name !== undefined && !snapshots.has(name))
          throw new Fault("SnapshotNotFoundFault", 404, `Snapshot ${name} not found.`);
        const groupId = params["ReplicationGroupId"] ?? params["CacheClusterId"];
        const matching = [...snapshots.values()].filter(
          (snapshot) =>
            (name === undefined || snapshot.name === name) &&
            (groupId === undefined || snapshot.groupId === groupId) &&
            (params["SnapshotSource"] === undefined || snapshot.source === params["SnapshotSource"]),
        );
        for (const snapshot of matching) advance(snapshot);
        return `<DescribeSnapshotsResult><Snapshots>${matching.map(snapshotXml).join("")}</Snapshots></DescribeSnapshotsResult>`;
      }
      case "CopySnapshot": {
        const source = snapshots.get(need(params, "SourceSnapshotName"));
        const target = need(params, "TargetSnapshotName");
        if (!source)
          throw new Fault("SnapshotNotFoundFault", 404, `Snapshot ${params["SourceSnapshotName"]} not found.`);
        if (source.status !== "available")
          throw new Fault("InvalidSnapshotState", 400, `Snapshot ${source.name} is ${source.status}, not available.`);
        const bucket = params["TargetBucket"];
        if (bucket === undefined) throw new Fault("InvalidParameterValue", 400, "only exports to S3 are modelled");
        try {
          await options.s3.send(new HeadBucketCommand({ Bucket: bucket }));
        } catch {
          throw new Fault("InvalidParameterValue", 400, `The S3 bucket ${bucket} does not exist.`);
        }
        const { shards } = group(source.groupId);
        const keys = Array.from(
          { length: shards },
          (_, index) => `${target}-${String(index + 1).padStart(4, "0")}.rdb`,
        );
        for (const key of keys) {
          const there = await options.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
            () => true,
            () => false,
          );
          if (there)
            throw new Fault(
              "InvalidParameterValue",
              400,
              `The S3 bucket ${bucket} already contains an object with key ${key}.`,
            );
        }
        source.status = "exporting";
        source.exportPollsLeft = steps;
        // Answered first; the upload goes on behind, as the service's does.
        source.exported = false;
        source.exporting = (async () => {
          for (const [index, key] of keys.entries()) {
            const body = await group(source.groupId).rdb(index + 1);
            await options.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
          }
        })().then(
          () => {
            source.exported = true;
          },
          () => {
            source.status = "failed";
          },
        );
        return `<CopySnapshotResult>${snapshotXml({ ...source, name: target })}</CopySnapshotResult>`;
      }
      case "DeleteSnapshot": {
        const name = need(params, "SnapshotName");
        const snapshot = snapshots.get(name);
        if (!snapshot) throw new Fault("SnapshotNotFoundFault", 404, `Snapshot ${name} not found.`);
        if (snapshot.status !== "available" && snapshot.status !== "failed")
          throw new Fault(
            "InvalidSnapshotState",
            400,
            `Snapshot ${name} is ${snapshot.status}: it cannot be deleted now.`,
          );
        snapshots.delete(name);
        return `<DeleteSnapshotResult>${snapshotXml({ ...snapshot, status: "deleting" })}</DeleteSnapshotResult>`;
      }
      default:
        throw new Fault("InvalidAction", 400, `The action ${action} is not valid for this web service.`);
    }
  }

  const respond = (response: ServerResponse, status: number, body: string) => {
    response.writeHead(status, { "content-type": "text/xml" }).end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  };

  async function handle(request: IncomingMessage, response: ServerResponse) {
    let body = "";
    for await (const chunk of request) body += (chunk as Buffer).toString("utf8");
    const requestId = randomUUID();
    try {
      if (request.method !== "POST" || !/^AWS4-HMAC-SHA256 /.test(request.headers.authorization ?? ""))
        throw new Fault("MissingAuthenticationToken", 403, "Request is missing a SigV4 signature.");
      const params = Object.fromEntries(new URLSearchParams(body));
      const { Action: action = "", Version: version, ...rest } = params;
      if (version !== "2015-02-02") throw new Fault("InvalidParameterValue", 400, `Unknown version ${String(version)}`);
      requests.push({ action, params: rest });
      const result = await act(action, rest);
      respond(
        response,
        200,
        `<${action}Response xmlns="${NAMESPACE}">${result}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
      );
    } catch (error) {
      const fault = error instanceof Fault ? error : new Fault("InternalFailure", 500, (error as Error).message);
      respond(
        response,
        fault.status,
        `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${fault.status >= 500 ? "Receiver" : "Sender"}</Type><Code>${fault.code}</Code><Message>${escape(fault.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    }
  }

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    get outcome() {
      return state.outcome;
    },
    set outcome(value: SnapshotOutcome) {
      state.outcome = value;
    },
    seed(snapshot) {
      snapshots.set(snapshot.name, {
        ...snapshot,
        source: "manual",
        pollsLeft: 0,
        outcome: "available",
        exported: false,
        exportPollsLeft: 0,
      });
    },
    snapshotNames: () => [...snapshots.keys()].sort(),
    async stop() {
      await Promise.allSettled(
        [...snapshots.values()].flatMap((snapshot) => (snapshot.exporting ? [snapshot.exporting] : [])),
      );
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
