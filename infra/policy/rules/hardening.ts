import type { PolicyResource } from "@pulumi/policy";
import { ACTION_RISKS, expandActions, grants } from "../iam-actions";
import { CHART_VALUE_KEYS, HELM_RELEASE, describeRelease, helmPods, riskyValues } from "../helm-values";
import { describe, roleOfPolicy } from "../kubernetes";
import { podSecurity, podSpecOfManifest } from "../pod-security";
import { get, resourceRule, stackRule, statementsOf, text, type Statement } from "../rule";

/**
 * Rules over everything a plan holds beyond single AWS settings: the Kubernetes objects' pod
 * security, IAM privilege escalation, who may sign with the fund operator's key, and what
 * production needs to survive (disaster recovery, protected stateful resources).
 */

const IAM_POLICY_TYPES = [
  "aws:iam/rolePolicy:RolePolicy",
  "aws:iam/policy:Policy",
  "aws:iam/userPolicy:UserPolicy",
  "aws:iam/groupPolicy:GroupPolicy",
];
const KEY = "aws:kms/key:Key";
const REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey";

const onEverything = (statement: Statement) => statement.Resource.includes("*") || statement.Resource.length === 0;

/** The privilege-escalation actions an Allow statement grants on every resource. */
export function escalations(statement: Statement): string[] {
  if (statement.Effect !== "Allow" || !onEverything(statement)) return [];
  const granted = statement.NotAction.length > 0 ? ["*"] : statement.Action;
  const found = [...expandActions(granted)].filter((action) => ACTION_RISKS[action] === "privilege-escalation");
  // iam:PassRole scoped to a service by condition is how a service is given its role.
  const passScoped = get(statement.Condition, "StringEquals", "iam:PassedToService") !== undefined;
  return found.filter((action) => !(passScoped && action === "iam:PassRole")).sort();
}

/** Workload manifests with their pod spec, and the pods Helm releases' values shape. */
const workloads = (resources: readonly PolicyResource[]) =>
  resources.flatMap((resource) => {
    if (resource.type === HELM_RELEASE)
      return (helmPods(resource) ?? []).map(({ where, security }) => ({ where, urn: resource.urn, security }));
    const spec = podSpecOfManifest(resource.type, resource.props);
    return spec ? [{ where: describe(resource), urn: resource.urn, security: podSecurity(spec) }] : [];
  });

const podRule = (
  name: string,
  description: string,
  severity: "critical" | "high" | "medium",
  pick: (security: ReturnType<typeof podSecurity>) => string[],
) =>
  stackRule({
    name,
    description,
    enforcement: "mandatory",
    severity,
    check: (resources) =>
      workloads(resources).flatMap(({ where, urn, security }) =>
        pick(security).map((problem) => ({ message: `${where}: ${problem}`, urn })),
      ),
  });

/** Whether a key-policy principal, or an IAM policy's role, is the rebalance worker's. */
const isRebalanceWorker = (who: unknown): boolean => typeof who === "string" && /rebalance-?worker/i.test(who);

function principals(statement: Statement): string[] {
  const principal = statement.Principal;
  if (principal === "*") return ["*"];
  if (principal && typeof principal === "object") {
    return Object.entries(principal as Record<string, unknown>).flatMap(([kind, who]) =>
      (Array.isArray(who) ? who : [who]).map((value) => (kind === "AWS" ? text(value) : `${kind}:${text(value)}`)),
    );
  }
  return [];
}

/**
 * Who a key-policy statement lets act: its principals — except where it names the account and
 * pins `aws:PrincipalArn` by a condition (how a key names a role that does not exist yet, such as
 * the standby stack's), which lets only the pinned ARNs act.
 */
function actingPrincipals(statement: Statement): string[] {
  const who = principals(statement);
  const pinned = ["ArnEquals", "ArnLike", "StringEquals", "StringLike"].flatMap((operator) => {
    const value = get(statement.Condition, operator, "aws:PrincipalArn");
    return value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(text);
  });
  return pinned.length > 0 && who.every((principal) => /:root$/.test(principal)) ? pinned : who;
}

export const hardeningRules = [
  podRule(
    "CKV_K8S_16-k8s-no-privileged",
    "No container runs privileged or adds capabilities beyond the baseline set (CKV_K8S_16, CKV_K8S_39).",
    "critical",
    (security) =>
      security.problems
        .filter(
          (problem) =>
            ["Privileged Containers", "Capabilities"].includes(problem.control) && problem.breaks === "baseline",
        )
        .map((problem) => problem.text),
  ),
  podRule(
    "CKV_K8S_17-k8s-no-host-namespaces",
    "No pod shares the node's network, PID or IPC namespace, mounts a host path or binds a host port (CKV_K8S_17/18/19).",
    "critical",
    (security) =>
      security.problems
        .filter((problem) => ["Host Namespaces", "HostPath Volumes", "Host Ports"].includes(problem.control))
        .map((problem) => problem.text),
  ),
  podRule(
    "CKV_K8S_23-k8s-restricted-pod-security",
    "Every pod meets the restricted Pod Security Standard: non-root, no privilege escalation, ALL capabilities dropped, RuntimeDefault seccomp, restricted volume types (CKV_K8S_20/23/28/31/37).",
    "high",
    (security) =>
      security.problems
        .filter(
          (problem) =>
            !["Privileged Containers", "Host Namespaces", "HostPath Volumes", "Host Ports"].includes(problem.control),
        )
        .filter((problem) => !(problem.control === "Capabilities" && problem.breaks === "baseline"))
        .map((problem) => `${problem.text} (${problem.control})`),
  ),
  podRule(
    "CKV_K8S_22-k8s-read-only-root-filesystem",
    "Every container's root filesystem is read-only.",
    "high",
    (security) => security.writableRootFilesystem.map((container) => `${container}'s root filesystem is writable`),
  ),
  podRule(
    "CKV_K8S_11-k8s-resource-limits",
    "Every container has CPU and memory limits (CKV_K8S_11, CKV_K8S_13).",
    "medium",
    (security) => [...security.missingLimits],
  ),
  resourceRule({
    name: "paimon-helm-release-pods-checked",
    description:
      "Every Helm release's chart, at its pinned version, is one whose pod value keys are known (infra/policy/helm-values.ts), so that the pod rules above see what its values set; any other is reported, with the settings in its values that a pod rule would refuse.",
    enforcement: "advisory",
    severity: "medium",
    types: [HELM_RELEASE],
    check: ({ props, name }) => {
      if (helmPods({ props, name }) !== undefined) return undefined;
      const known = CHART_VALUE_KEYS[text(props["chart"])];
      const risky = riskyValues(props["values"]);
      return (
        `${describeRelease({ props, name })}: ${
          known
            ? `its pod value keys were read for version ${known.version} only`
            : "its chart's pod value keys are not known"
        }, so no pod rule checks what its values set` +
        (risky.length > 0 ? `; they set ${risky.join(", ")}` : "") +
        ": read the chart's values.yaml at this version into infra/policy/helm-values.ts"
      );
    },
  }),
  resourceRule({
    name: "CKV_AWS_286-iam-no-privilege-escalation",
    description:
      "No IAM policy grants, on every resource, an action that hands out more privilege: iam:PassRole (unless scoped to a service), sts:AssumeRole, kms:CreateGrant (which `kms:Create*` includes), kms:PutKeyPolicy, iam:*Policy* and friends.",
    enforcement: "mandatory",
    severity: "critical",
    types: IAM_POLICY_TYPES,
    check: ({ props }) =>
      statementsOf(props["policy"]).flatMap((statement) => {
        const found = escalations(statement);
        return found.length === 0
          ? []
          : [`statement ${statement.Sid ?? "?"} allows ${found.join(", ")} on * (privilege escalation)`];
      }),
  }),
  stackRule({
    name: "paimon-only-rebalance-worker-signs",
    description:
      "Only the rebalance worker's role may sign with the fund operator's key or its standby replica: no other principal in their key policies (a principal pinned by an aws:PrincipalArn condition counts as itself) or in an IAM policy may use kms:Sign, and nobody may create grants on them (a grant can give kms:Sign).",
    enforcement: "mandatory",
    severity: "critical",
    check: (resources) => {
      // A replica shares its primary's key material: whoever may use a replica signs as the operator.
      const keys = resources.filter(
        (resource) =>
          (resource.type === KEY && resource.props["keyUsage"] === "SIGN_VERIFY") || resource.type === REPLICA_KEY,
      );
      const found: { message: string; urn: string }[] = [];
      for (const key of keys) {
        for (const statement of statementsOf(key.props["policy"])) {
          if (statement.Effect !== "Allow") continue;
          const actions = statement.NotAction.length > 0 ? ["*"] : statement.Action;
          const who = actingPrincipals(statement);
          if (grants(actions, "kms:Sign")) {
            const others = who.filter((principal) => !isRebalanceWorker(principal));
            if (others.length > 0)
              found.push({
                message: `key ${key.name}: statement ${statement.Sid ?? "?"} lets ${others.join(", ")} sign`,
                urn: key.urn,
              });
          }
          if (grants(actions, "kms:CreateGrant"))
            found.push({
              message: `key ${key.name}: statement ${statement.Sid ?? "?"} lets ${who.join(", ") || "its principals"} create grants, and a grant can give kms:Sign`,
              urn: key.urn,
            });
        }
      }
      for (const policy of resources.filter((resource) => IAM_POLICY_TYPES.includes(resource.type))) {
        const role = roleOfPolicy(policy);
        const roleName = role ? text(role.props["name"] ?? role.name) : text(policy.props["role"]);
        if (isRebalanceWorker(roleName) || isRebalanceWorker(role?.name)) continue;
        for (const statement of statementsOf(policy.props["policy"])) {
          if (statement.Effect !== "Allow") continue;
          const actions = statement.NotAction.length > 0 ? ["*"] : statement.Action;
          const reaches =
            onEverything(statement) ||
            statement.Resource.some((resource) =>
              keys.some((key) => resource.includes(key.name) || resource === key.props["arn"]),
            );
          if (
            reaches &&
            (grants(actions, "kms:Sign") || (onEverything(statement) && grants(actions, "kms:CreateGrant")))
          )
            found.push({
              message: `${policy.name}: statement ${statement.Sid ?? "?"} lets ${roleName || "its role"} ${grants(actions, "kms:Sign") ? "sign with" : "create grants on"} the operator key`,
              urn: policy.urn,
            });
        }
      }
      return found;
    },
  }),
  stackRule({
    name: "paimon-production-disaster-recovery",
    description:
      "Production replicates its database backups and its backup bucket to another region (§7.2): an `InstanceAutomatedBackupsReplication` and an enabled `BucketReplicationConfig` — unless the stack is itself the standby, its database restored from replicated backups.",
    enforcement: "mandatory",
    severity: "high",
    productionOnly: true,
    check: (resources) => {
      // A standby brought up in the DR region (its database restored from the replicated backups)
      // is the disaster recovery: it may not wait for a standby of its own. Giving it one, back in
      // the recovered region, is the runbook's last step.
      const standby = resources.some(
        (resource) =>
          resource.type === "aws:rds/instance:Instance" &&
          get(resource.props["restoreToPointInTime"], "sourceDbInstanceAutomatedBackupsArn") !== undefined,
      );
      if (standby) return [];
      const backups = resources.some(
        (resource) =>
          resource.type === "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
      );
      const buckets = resources.some(
        (resource) =>
          resource.type === "aws:s3/bucketReplicationConfig:BucketReplicationConfig" &&
          ((resource.props["rules"] as { status?: unknown }[] | undefined) ?? []).some(
            (rule) => rule.status === "Enabled",
          ),
      );
      return [
        ...(backups ? [] : [{ message: "no cross-region replication of the database's automated backups" }]),
        ...(buckets ? [] : [{ message: "no enabled cross-region replication of the backup bucket" }]),
      ];
    },
  }),
  resourceRule({
    name: "paimon-production-stateful-protected",
    description:
      "Every stateful production resource (databases and replicas, caches, buckets, keys and their replicas, search domains, secrets, replicated backups, volumes, StatefulSets) is `protect`ed, so that no `pulumi up` or `destroy` deletes it without a reviewed change (`paimon:protectStatefulResources`).",
    enforcement: "mandatory",
    severity: "high",
    productionOnly: true,
    types: [
      "aws:rds/instance:Instance",
      "aws:rds/cluster:Cluster",
      "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
      "aws:elasticache/replicationGroup:ReplicationGroup",
      "aws:s3/bucket:Bucket",
      KEY,
      REPLICA_KEY,
      "aws:opensearch/domain:Domain",
      "aws:secretsmanager/secret:Secret",
      "aws:dynamodb/table:Table",
      "aws:efs/fileSystem:FileSystem",
      "aws:ebs/volume:Volume",
      "kubernetes:apps/v1:StatefulSet",
      "kubernetes:core/v1:PersistentVolumeClaim",
    ],
    check: ({ protect }) =>
      protect
        ? undefined
        : "not protected: `pulumi destroy` or a replacing change would delete its data (set paimon:protectStatefulResources: true)",
  }),
];
