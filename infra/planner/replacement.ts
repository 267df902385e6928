import type { Json } from "./snapshot";

/**
 * What the AWS provider does when a property of a stateful resource changes: update it in place,
 * replace the resource (delete and recreate it, and its data with it), or — for conditional rules —
 * decide from the old and new values. Read from the provider's source: `@pulumi/aws` 7.x is
 * bridged from terraform-provider-aws 6.x, whose `ForceNew` / `RequiresReplace` arguments (and
 * CustomizeDiff hooks) force a replacement in Pulumi too. Rows are restated from
 * terraform-provider-aws v6.58.0 (the schema functions of each resource, 2026-08-05), with the
 * upstream file each comes from. A property no table lists is reported as "may replace": never a
 * guess.
 */

export type ReplacementAction = "update" | "replace" | "refuse" | "may replace";

export interface PropertyRule {
  /** `update` / `replace`, or a function of the old and new values for a conditional rule. */
  readonly action:
    | "update"
    | "replace"
    | ((before: Json | undefined, after: Json | undefined, inputs: { [key: string]: Json }) => ReplacementAction);
  /** Why, in the provider's words. */
  readonly note: string;
}

export interface ReplacementTable {
  /** The provider source file the rows come from. */
  readonly source: string;
  readonly properties: Readonly<Record<string, PropertyRule>>;
}

const update = (note = "not ForceNew: updated in place"): PropertyRule => ({ action: "update", note });
const replace = (note = "ForceNew: a change replaces the resource"): PropertyRule => ({ action: "replace", note });

/** Note R: v6 injects `region`; a change replaces, except between unset and the provider's region. */
const REGION: PropertyRule = {
  action: (before, after) =>
    before === undefined || after === undefined ? "may replace" : before === after ? "update" : "replace",
  note: "forceNewIfRegionChanges: any change replaces, except between unset and the provider's configured region",
};

const versionParts = (value: Json | undefined): number[] | undefined =>
  typeof value === "string" && /^\d+(\.\d+)*/.test(value)
    ? (/^[\d.]+/.exec(value)?.[0] ?? "").split(".").map(Number)
    : undefined;
const compareVersions = (a: number[], b: number[]): number => {
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
};

export const REPLACEMENT_TABLES: Readonly<Record<string, ReplacementTable>> = {
  "aws:rds/instance:Instance": {
    source: "internal/service/rds/instance.go",
    properties: {
      availabilityZone: replace(),
      backupTarget: replace(),
      characterSetName: replace(),
      customIamInstanceProfile: replace(),
      dbName: replace(),
      engine: replace(),
      kmsKeyId: replace(),
      ncharCharacterSetName: replace(),
      restoreToPointInTime: replace("block-level ForceNew: adding or removing the block replaces"),
      s3Import: replace("nested fields ForceNew"),
      snapshotIdentifier: replace(),
      storageEncrypted: replace(),
      timezone: replace(),
      username: replace(),
      identifier: update("renamed in place (ModifyDBInstance NewDBInstanceIdentifier), since provider v5.0.0"),
      identifierPrefix: update("renamed in place, since provider v5.0.0"),
      engineVersion: update("ModifyDBInstance EngineVersion (with allowMajorVersionUpgrade)"),
      dbSubnetGroupName: update("ModifyDBInstance DBSubnetGroupName"),
      replicateSourceDb: update("removing it promotes the replica in place"),
      instanceClass: update(),
      region: REGION,
    },
  },
  "aws:elasticache/replicationGroup:ReplicationGroup": {
    source: "internal/service/elasticache/replication_group.go",
    properties: {
      atRestEncryptionEnabled: replace(),
      dataTieringEnabled: replace(),
      durability: replace(),
      globalReplicationGroupId: replace(),
      kmsKeyId: replace(),
      networkType: replace(),
      port: replace(),
      replicationGroupId: replace(),
      securityGroupNames: replace(),
      snapshotArns: replace(),
      snapshotName: replace(),
      subnetGroupName: replace(),
      engine: {
        action: (before, after, inputs) =>
          inputs["globalReplicationGroupId"] !== undefined
            ? "update"
            : before === "redis" && after === "valkey"
              ? "update"
              : "replace",
        note: "customizeDiffEngineForceNewOnDowngrade: any engine change replaces except redis → valkey, never for global-group members",
      },
      engineVersion: {
        action: (before, after) => {
          const was = versionParts(before);
          const is = versionParts(after);
          if (!was || !is) return "may replace";
          return compareVersions(is, was) < 0 ? "replace" : "update";
        },
        note: "engineVersionForceNewOnDowngrade: a downgrade replaces, an upgrade is in place",
      },
      transitEncryptionEnabled: {
        action: (_before, _after, inputs) => {
          const version = versionParts(inputs["engineVersion"]);
          if (!version) return "may replace";
          return compareVersions(version, [7, 0, 5]) >= 0 ? "update" : "replace";
        },
        note: "ForceNewIf engine_version_actual < 7.0.5; otherwise ModifyReplicationGroup TransitEncryptionEnabled in place",
      },
      nodeGroupConfigurations: {
        action: () => "may replace",
        note: "ForceNewIf node groups are added or removed, or node_group_id / replica_count / slots / explicit AZs change",
      },
      clusterMode: update("ModifyReplicationGroup ClusterMode: enabled, disabled or compatible, in place"),
      numNodeGroups: update("resharded in place"),
      replicasPerNodeGroup: update("in place"),
      numCacheClusters: update(),
      nodeType: update(),
      parameterGroupName: update(),
      transitEncryptionMode: update(),
      region: REGION,
    },
  },
  "aws:s3/bucket:Bucket": {
    source: "internal/service/s3/bucket.go",
    properties: {
      bucket: replace(),
      bucketNamespace: replace(),
      bucketPrefix: replace(),
      objectLockConfiguration: replace("nested object_lock_enabled is ForceNew"),
      objectLockEnabled: replace(),
      forceDestroy: update(),
      region: REGION,
    },
  },
  "aws:kms/key:Key": {
    source: "internal/service/kms/key.go",
    properties: {
      customKeyStoreId: replace(),
      customerMasterKeySpec: replace(),
      keyUsage: replace(),
      multiRegion: replace(),
      xksKeyId: replace(),
      description: update(),
      enableKeyRotation: update(),
      policy: update(),
      deletionWindowInDays: update(),
      region: REGION,
    },
  },
  "aws:opensearch/domain:Domain": {
    source: "internal/service/opensearch/domain.go",
    properties: {
      domainName: replace(),
      "encryptAtRest.kmsKeyId": replace(),
      vpcOptions: {
        action: (before, after) => ((before === undefined) !== (after === undefined) ? "replace" : "update"),
        note: "block-level ForceNew: adding or removing vpc_options replaces; its subnets and security groups change in place",
      },
      engineVersion: {
        action: () => "may replace",
        note: "ForceNewIf the new version is not an upgrade target GetCompatibleVersions lists",
      },
      "encryptAtRest.enabled": {
        action: (before, after) => (before === true && after !== true ? "replace" : "update"),
        note: "true → false replaces; false → true is in place for OpenSearch",
      },
      "nodeToNodeEncryption.enabled": {
        action: (before, after) => (before === true && after !== true ? "replace" : "update"),
        note: "true → false replaces; false → true is in place for OpenSearch",
      },
      "advancedSecurityOptions.enabled": {
        action: (before, after) => (before === true && after !== true ? "replace" : "update"),
        note: "only true → false replaces",
      },
      ipAddressType: {
        action: (before) => (before === "dualstack" ? "replace" : "update"),
        note: "ForceNewIfChange from dualstack to anything else",
      },
      clusterConfig: update(),
      ebsOptions: update(),
      region: REGION,
    },
  },
  "aws:secretsmanager/secret:Secret": {
    source: "internal/service/secretsmanager/secret.go",
    properties: {
      name: replace(),
      namePrefix: replace(),
      type: replace(),
      kmsKeyId: update(),
      replica: update(),
      recoveryWindowInDays: update(),
      region: REGION,
    },
  },
  "aws:cloudwatch/logGroup:LogGroup": {
    source: "internal/service/logs/group.go",
    properties: {
      logGroupClass: replace(),
      name: replace(),
      namePrefix: replace(),
      kmsKeyId: update(),
      retentionInDays: update(),
      skipDestroy: update(),
      region: REGION,
    },
  },
  "aws:eks/cluster:Cluster": {
    source: "internal/service/eks/cluster.go",
    properties: {
      "accessConfig.bootstrapClusterCreatorAdminPermissions": replace(),
      bootstrapSelfManagedAddons: replace(),
      "kubernetesNetworkConfig.ipFamily": replace(),
      "kubernetesNetworkConfig.serviceIpv4Cidr": replace(),
      name: replace(),
      outpostConfig: replace("nested fields ForceNew"),
      roleArn: replace(),
      encryptionConfig: {
        action: (before, after) => (before !== undefined && after === undefined ? "replace" : "update"),
        note: "ForceNewIfChange only when an existing encryption config is removed; adding one is in place (AssociateEncryptionConfig)",
      },
      "vpcConfig.controlPlaneEgressMode": {
        action: () => "may replace",
        note: "CUSTOMER_ROUTED → AWS_MANAGED replaces",
      },
      vpcConfig: update("other vpc_config fields change in place"),
      version: update("UpdateClusterVersion"),
      region: REGION,
    },
  },
};

/** Kubernetes objects whose data outlives a pod; the AWS provider source says nothing of them. */
export const KUBERNETES_STATEFUL = new Set([
  "kubernetes:core/v1:PersistentVolumeClaim",
  "kubernetes:apps/v1:StatefulSet",
]);

export const isStateful = (type: string): boolean => type in REPLACEMENT_TABLES || KUBERNETES_STATEFUL.has(type);

/** The decision for one changed property of a stateful resource. */
export interface Decision {
  /** The table's property (`encryptAtRest.enabled`), or the changed property when no row covers it. */
  readonly property: string;
  readonly action: ReplacementAction;
  readonly note: string;
  /** Where the rule comes from. */
  readonly source: string;
}

type Inputs = { [key: string]: Json };

function at(inputs: Inputs | undefined, row: string): Json | undefined {
  let current: Json | undefined = inputs;
  for (const key of row.split(".")) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = current[key];
  }
  return current;
}

/**
 * What changing `path` (a leaf, as the diff names it) does to a `type` resource. The longest
 * table row that is the path or a prefix of it decides, from that row's old and new values;
 * `replaceOnChanges` in the program forces a replacement.
 */
export function decide(
  type: string,
  path: string,
  before: Inputs | undefined,
  after: Inputs,
  replaceOnChanges: readonly string[] = [],
): Decision {
  const top = path.split(/[.[]/)[0] ?? path;
  const forced = replaceOnChanges.find(
    (trigger) =>
      trigger === "*" || path === trigger || path.startsWith(`${trigger}.`) || path.startsWith(`${trigger}[`),
  );
  if (forced !== undefined)
    return {
      property: forced,
      action: "replace",
      note: "the program lists it in replaceOnChanges",
      source: "the program's resource options",
    };
  if (path.startsWith("options."))
    return {
      property: path,
      action: "update",
      note: "a Pulumi resource option, not a provider property",
      source: "Pulumi engine",
    };
  const table = REPLACEMENT_TABLES[type];
  if (!table) {
    return {
      property: top,
      action: "may replace",
      note: "no replacement table for this type: Kubernetes rejects changes to a StatefulSet's or claim's immutable fields, and Pulumi may replace the object",
      source: "none",
    };
  }
  const rows = Object.keys(table.properties)
    .filter((row) => path === row || path.startsWith(`${row}.`) || path.startsWith(`${row}[`))
    .sort((a, b) => b.length - a.length);
  const row = rows[0];
  const rule = row === undefined ? undefined : table.properties[row];
  if (row === undefined || rule === undefined) {
    return {
      property: top,
      action: "may replace",
      note: "not in the replacement table: check `pulumi preview`",
      source: table.source,
    };
  }
  const action = typeof rule.action === "function" ? rule.action(at(before, row), at(after, row), after) : rule.action;
  return { property: row, action, note: rule.note, source: table.source };
}
