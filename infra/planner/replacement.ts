import type { Json } from "./snapshot";

/**
 * What the AWS provider does when a property of a stateful resource changes: update it in place,
 * replace the resource (delete and recreate it, and its data with it), or — for conditional rules —
 * decide from the old and new values. Read from the provider's source: `@pulumi/aws` 7.x is
 * bridged from terraform-provider-aws 6.x, whose `ForceNew` / `RequiresReplace` arguments (and
 * CustomizeDiff hooks) force a replacement in Pulumi too. Rows are restated from
 * terraform-provider-aws v6.58.0 (the schema functions of each resource, 2026-08-05), with the
 * upstream file each comes from. The Kubernetes provider decides from its own list of
 * force-new fields per kind (a change at or under one replaces the object; any other is sent as an
 * update, which the API server may refuse): those rows are read from pulumi-kubernetes and from
 * Kubernetes' update validation of the same kind. A property no table lists is reported as
 * "may replace": never a guess.
 */

export type ReplacementAction = "update" | "replace" | "refuse" | "may replace";

export interface PropertyRule {
  /**
   * `update` / `replace` / `refuse` (updated in place, and the API refuses the update), or a
   * function of the old and new values for a conditional rule.
   */
  readonly action:
    | "update"
    | "replace"
    | "refuse"
    | ((before: Json | undefined, after: Json | undefined, inputs: { [key: string]: Json }) => ReplacementAction);
  /** Why, in the provider's words. */
  readonly note: string;
}

export interface ReplacementTable {
  /** The provider source file the rows come from. */
  readonly source: string;
  readonly properties: Readonly<Record<string, PropertyRule>>;
  /**
   * What a replacement does to the data, from the old and new inputs.
   * @default the old resource and its data are deleted
   */
  readonly replaced?: (before: Inputs | undefined, after: Inputs) => string;
}

type Inputs = { [key: string]: Json };

const update = (note = "not ForceNew: updated in place"): PropertyRule => ({ action: "update", note });
const replace = (note = "ForceNew: a change replaces the resource"): PropertyRule => ({ action: "replace", note });
const refuse = (note: string): PropertyRule => ({ action: "refuse", note });

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

/**
 * The Kubernetes provider's rules (pulumi-kubernetes `forceNewProperties` and `Diff`, read at
 * main 9497796, 2026-07-01, after v4.32.0; the StatefulSet and claim lists are unchanged since
 * 2021, and the workspace pins 4.34.2): every kind replaces on its name or namespace, a
 * StatefulSet on its pod management policy, revision history, selector, service name and claim
 * templates, a claim on its access modes, selector, class and volume name; a named object is
 * deleted before its successor is created. Everything else is sent as an update, which
 * Kubernetes' validation of that kind's update may refuse (`pulumi up` then fails, and nothing is
 * replaced): read in kubernetes/kubernetes, ValidateStatefulSetUpdate at 2dd1588c and
 * ValidatePersistentVolumeClaimUpdate at 000f2605.
 */
const K8S_FORCE_NEW = "force-new in pulumi-kubernetes: a change replaces the object";
const K8S_METADATA: Readonly<Record<string, PropertyRule>> = {
  "metadata.name": replace("the object's identity: a change replaces it"),
  "metadata.namespace": replace("the object's identity: a change replaces it"),
  "metadata.labels": update("metadata: updated in place"),
  "metadata.annotations": update("metadata: updated in place"),
};
const STATEFUL_SET_MUTABLE =
  "updated in place: Kubernetes lets a StatefulSet's update change only 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds'";

const QUANTITY_SUFFIXES: Readonly<Record<string, number>> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes storage quantity (`200Gi`, `5e9`, `500M`) in bytes; undefined if it is none. */
export function storageBytes(value: Json | undefined): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined;
  const match = /^(\d+(?:\.\d+)?(?:e\d+)?)([kMGTPE]i?|Ki)?$/.exec(value.trim());
  const multiplier = QUANTITY_SUFFIXES[match?.[2] ?? ""];
  return match && multiplier !== undefined ? Number(match[1]) * multiplier : undefined;
}

const claimTemplateNames = (inputs: Inputs | undefined): string[] => {
  const templates = at(inputs, "spec.volumeClaimTemplates");
  if (!Array.isArray(templates)) return [];
  return templates.map((template) => {
    const name = at(template as Inputs, "metadata.name");
    return typeof name === "string" ? name : "";
  });
};

/**
 * A StatefulSet's replacement: Pulumi deletes it first (it keeps its name), and what becomes of
 * its claims (`<template>-<set>-<ordinal>`) is its retention policy's — Retain unless it says
 * Delete — and whether the successor's claim names are the same.
 */
function statefulSetReplaced(before: Inputs | undefined, after: Inputs): string {
  const deleted = at(before, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted") === "Delete";
  const first = "Pulumi deletes it before creating its successor under the same name, so its pods stop meanwhile";
  if (deleted) return `${first}; its claims are deleted with it (whenDeleted: Delete), and their data`;
  const names = claimTemplateNames(before);
  const kept = claimTemplateNames(after);
  const same = at(before, "metadata.name") === at(after, "metadata.name") && names.every((name) => kept.includes(name));
  return same
    ? `${first}; its claims are kept (whenDeleted: Retain) and the successor mounts them again as they are`
    : `${first}; its claims are kept (whenDeleted: Retain), but the successor's claims are named differently: it starts on new, empty volumes, the data left on claims nothing mounts`;
}

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
  "kubernetes:apps/v1:StatefulSet": {
    source:
      "pulumi-kubernetes provider/pkg/provider/diff.go (forceNew statefulSet); kubernetes pkg/apis/apps/validation/validation.go (ValidateStatefulSetUpdate)",
    properties: {
      ...K8S_METADATA,
      "spec.podManagementPolicy": replace(K8S_FORCE_NEW),
      "spec.revisionHistoryLimit": replace(K8S_FORCE_NEW),
      "spec.selector": replace(K8S_FORCE_NEW),
      "spec.serviceName": replace(K8S_FORCE_NEW),
      "spec.volumeClaimTemplates": replace(
        `${K8S_FORCE_NEW}; the claims it already made are not changed (a new size or class reaches none of them)`,
      ),
      "spec.template": update(
        "updated in place; the controller then recreates each pod on its claims, one at a time (one replica: the database restarts)",
      ),
      "spec.replicas": update(STATEFUL_SET_MUTABLE),
      "spec.updateStrategy": update(STATEFUL_SET_MUTABLE),
      "spec.minReadySeconds": update(STATEFUL_SET_MUTABLE),
      "spec.ordinals": update(STATEFUL_SET_MUTABLE),
      "spec.persistentVolumeClaimRetentionPolicy": update(STATEFUL_SET_MUTABLE),
    },
    replaced: statefulSetReplaced,
  },
  "kubernetes:core/v1:PersistentVolumeClaim": {
    source:
      "pulumi-kubernetes provider/pkg/provider/diff.go (forceNew PersistentVolumeClaim); kubernetes pkg/apis/core/validation/validation.go (ValidatePersistentVolumeClaimUpdate)",
    properties: {
      ...K8S_METADATA,
      "metadata.annotations.volume.beta.kubernetes.io/storage-class": refuse(
        "updated in place, and refused by the API server: the beta storage-class annotation is immutable",
      ),
      "spec.accessModes": replace(K8S_FORCE_NEW),
      "spec.selector": replace(K8S_FORCE_NEW),
      "spec.storageClassName": replace(K8S_FORCE_NEW),
      "spec.volumeName": replace(K8S_FORCE_NEW),
      spec: refuse(
        "not force-new, so updated in place, and refused by the API server: a claim's spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
      ),
      "spec.resources.requests.storage": {
        action: (before, after) => {
          const was = storageBytes(before);
          const is = storageBytes(after);
          if (was === undefined || is === undefined) return "may replace";
          return is < was ? "refuse" : "update";
        },
        note: "a bound claim grows in place (if its StorageClass allows volume expansion); a smaller request is refused: field can not be less than previous value",
      },
      "spec.volumeAttributesClassName": {
        action: (before, after) => (before !== undefined && after === undefined ? "refuse" : "update"),
        note: "changes in place for a bound claim; from a class back to none is refused",
      },
    },
    replaced: () =>
      "Pulumi deletes the claim before creating its successor under the same name: the successor binds a new, empty volume, and the old volume is deleted with its data unless its StorageClass's reclaimPolicy is Retain",
  },
};

/** Kubernetes objects whose data outlives a pod (each has its table above). */
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
      note: "no replacement table for this type: check `pulumi preview`",
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

/** What replacing a `type` resource does to its data, in words. */
export function replacementConsequence(type: string, before: Inputs | undefined, after: Inputs): string {
  return REPLACEMENT_TABLES[type]?.replaced?.(before, after) ?? "the old one and its data are deleted";
}
