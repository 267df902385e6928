import { count, fixed, plural, record, text, usage, type Charge, type Estimator } from "./charges";

/** Charges of the managed data stores: RDS, ElastiCache and OpenSearch, by Pulumi type. */
export const DATA_STORE_CHARGES: Readonly<Record<string, Estimator>> = {
  "aws:rds/instance:Instance": (resource, context, region) => {
    const inputs = resource.inputs;
    // A read replica inherits its engine and storage from its source.
    const source = context.resolve(inputs["replicateSourceDb"], "aws:rds/instance:Instance", "identifier");
    const from = (key: string) => inputs[key] ?? source?.inputs[key];
    const engine = text(from("engine"));
    const instanceClass = text(inputs["instanceClass"]);
    const multiAz = inputs["multiAz"] === true;
    const az = multiAz ? "multi-az" : "single-az";
    const storage = count(from("allocatedStorage"));
    const storageType = text(from("storageType"));
    const replica = inputs["replicateSourceDb"] !== undefined ? "read replica, " : "";
    const charges: Charge[] = [
      fixed(
        {
          part: "instance",
          category: "RDS",
          item: `rds.instance:${engine === "postgres" ? "postgresql" : (engine ?? "unknown")}:${instanceClass ?? "unknown"}:${az}`,
          region,
          detail: `${replica}${instanceClass ?? "?"} ${engine ?? "?"}, ${multiAz ? "Multi-AZ" : "Single-AZ"}`,
        },
        engine && instanceClass ? context.hoursPerMonth : undefined,
        "engine or instance class not in the plan",
      ),
      fixed(
        {
          part: "storage",
          category: "RDS",
          item: `rds.storage:${storageType ?? "unknown"}:${az}`,
          region,
          detail: `${replica}${storage ?? "?"} GB ${storageType ?? ""} storage, as allocated (autoscaling may add more)`,
        },
        storageType ? storage : undefined,
        "storage size or type not in the plan",
      ),
    ];
    const retention = count(inputs["backupRetentionPeriod"]) ?? 0;
    if (retention > 0)
      charges.push(
        usage({
          part: "backups",
          category: "RDS",
          item: "rds.backup",
          region,
          detail: `backup storage beyond the free allowance (${retention} days kept)`,
        }),
      );
    return charges;
  },

  "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": (_resource, _context, region) => [
    usage({
      part: "replicated-backups",
      category: "RDS",
      item: "rds.backup",
      region,
      detail: "backups copied to another region (their storage there; the copy's transfer is billed too)",
    }),
  ],

  "aws:elasticache/replicationGroup:ReplicationGroup": (resource, context, region) => {
    const inputs = resource.inputs;
    const nodeType = text(inputs["nodeType"]);
    const shards = count(inputs["numNodeGroups"]);
    const replicas = count(inputs["replicasPerNodeGroup"]);
    const clustered = text(inputs["clusterMode"]) === "enabled" || shards !== undefined;
    const nodes = clustered
      ? shards === undefined
        ? undefined
        : shards * (1 + (replicas ?? 0))
      : (count(inputs["numCacheClusters"]) ?? (replicas === undefined ? undefined : 1 + replicas));
    return [
      fixed(
        {
          part: "nodes",
          category: "ElastiCache",
          item: `elasticache.node:${text(inputs["engine"]) ?? "redis"}:${nodeType ?? "unknown"}`,
          region,
          detail: clustered
            ? `${shards ?? "?"} shards × ${1 + (replicas ?? 0)} nodes of ${nodeType ?? "?"}`
            : `${nodes === undefined ? "? nodes" : plural(nodes, "node")} of ${nodeType ?? "?"}`,
        },
        nodes !== undefined && nodeType ? nodes * context.hoursPerMonth : undefined,
        "node type or count not in the plan",
      ),
    ];
  },

  "aws:elasticache/cluster:Cluster": (resource, context, region) => {
    const nodeType = text(resource.inputs["nodeType"]);
    const nodes = count(resource.inputs["numCacheNodes"]);
    return [
      fixed(
        {
          part: "nodes",
          category: "ElastiCache",
          item: `elasticache.node:${text(resource.inputs["engine"]) ?? "redis"}:${nodeType ?? "unknown"}`,
          region,
          detail: `${nodes ?? "?"} × ${nodeType ?? "?"}`,
        },
        nodes !== undefined && nodeType ? nodes * context.hoursPerMonth : undefined,
        "node type or count not in the plan",
      ),
    ];
  },

  "aws:opensearch/domain:Domain": (resource, context, region) => {
    const cluster = record(resource.inputs["clusterConfig"]);
    const ebs = record(resource.inputs["ebsOptions"]);
    const nodes = (part: string, what: string, n: number | undefined, type: string | undefined) =>
      fixed(
        {
          part,
          category: "OpenSearch",
          item: `opensearch.instance:${type ?? "unknown"}`,
          region,
          detail: `${n ?? "?"} ${what} × ${type ?? "?"}`,
        },
        n !== undefined && type ? n * context.hoursPerMonth : undefined,
        `${what} type or count not in the plan`,
      );
    const dataNodes = count(cluster?.["instanceCount"]) ?? 1;
    const charges: Charge[] = [nodes("data-nodes", "data node(s)", dataNodes, text(cluster?.["instanceType"]))];
    if (cluster?.["dedicatedMasterEnabled"] === true)
      charges.push(
        nodes(
          "master-nodes",
          "dedicated master(s)",
          count(cluster["dedicatedMasterCount"]),
          text(cluster["dedicatedMasterType"]),
        ),
      );
    if (cluster?.["warmEnabled"] === true)
      charges.push(nodes("warm-nodes", "UltraWarm node(s)", count(cluster["warmCount"]), text(cluster["warmType"])));
    if (ebs?.["ebsEnabled"] === true) {
      const size = count(ebs["volumeSize"]);
      const volumeType = text(ebs["volumeType"]);
      charges.push(
        fixed(
          {
            part: "storage",
            category: "OpenSearch",
            item: `opensearch.storage:${volumeType ?? "unknown"}`,
            region,
            detail: `${dataNodes} × ${size ?? "?"} GB ${volumeType ?? ""} (a volume per data node)`,
          },
          size !== undefined && volumeType ? dataNodes * size : undefined,
          "volume size or type not in the plan",
        ),
      );
    }
    return charges;
  },
};

/** Types billed like another. */
export const DATA_STORE_ALIASES: Readonly<Record<string, string>> = {
  "aws:elasticsearch/domain:Domain": "aws:opensearch/domain:Domain",
};
