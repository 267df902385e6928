import type { PolicyResource } from "@pulumi/policy";
import { get, statementsOf } from "./rule";

/**
 * Reading Kubernetes objects and their AWS wiring out of a stack's resources, for the rules that
 * check how the pieces fit together. A manifest deployed through Pulumi is a resource whose type
 * is `kubernetes:<apiVersion>:<kind>` and whose inputs are the manifest.
 */

export type Props = Record<string, unknown>;

/** `kubernetes:apps/v1:Deployment` → `Deployment`; undefined for anything not Kubernetes. */
export function kindOf(type: string): string | undefined {
  return type.startsWith("kubernetes:") ? type.split(":").pop() : undefined;
}

export const isKind = (resource: { type: string }, ...kinds: string[]): boolean =>
  kinds.includes(kindOf(resource.type) ?? "");

/** The namespace an object lives in (`default` when it names none). */
export const namespaceOf = (props: Props): string => {
  const namespace = get(props, "metadata", "namespace");
  return typeof namespace === "string" && namespace !== "" ? namespace : "default";
};
export const nameOf = (props: Props): string => {
  const name = get(props, "metadata", "name");
  return typeof name === "string" ? name : "?";
};
/** `Deployment paimon/paimon-api` (a cluster-scoped object without the namespace), for messages. */
export function describe(resource: { type: string; props: Props }): string {
  const namespace = get(resource.props, "metadata", "namespace");
  const where = typeof namespace === "string" && namespace !== "" ? `${namespace}/` : "";
  return `${kindOf(resource.type) ?? resource.type} ${where}${nameOf(resource.props)}`;
}

export interface Container {
  readonly name?: string;
  readonly image?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly { readonly name: string; readonly value?: string; readonly valueFrom?: unknown }[];
}
export interface PodSpec {
  readonly serviceAccountName?: string;
  readonly containers?: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly volumes?: readonly { readonly name: string; readonly configMap?: { readonly name?: string } }[];
}

/** The pod spec of a workload object (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod). */
export function podSpecOf(type: string, props: Props): PodSpec | undefined {
  switch (kindOf(type) ?? "") {
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return get(props, "spec", "template", "spec") as PodSpec | undefined;
    case "CronJob":
      return get(props, "spec", "jobTemplate", "spec", "template", "spec") as PodSpec | undefined;
    case "Pod":
      return get(props, "spec") as PodSpec | undefined;
    default:
      return undefined;
  }
}

/** Every container of a pod, init containers first. */
export const containersOf = (spec: PodSpec): readonly Container[] => [
  ...(spec.initContainers ?? []),
  ...(spec.containers ?? []),
];

export const readsVariable = (container: Container, name: string): boolean =>
  (container.env ?? []).some((variable) => variable.name === name);

/** The annotation IRSA reads: the role a service account's pods assume. */
export const IRSA_ANNOTATION = "eks.amazonaws.com/role-arn";

/** A service account somewhere in the stack, and what annotates it. */
export interface ServiceAccount {
  readonly namespace: string;
  readonly name: string;
  /** The IRSA role it names, as written (a literal ARN, or a value the cloud computes). */
  readonly roleArn?: unknown;
  /** The resource that creates it, and the input property holding it. */
  readonly owner: PolicyResource;
  readonly property: string;
}

/**
 * The service accounts each EKS add-on creates, as its documentation names them (they are no
 * Kubernetes object of the stack, but IRSA trusts may name them).
 */
const ADDON_SERVICE_ACCOUNTS: Readonly<Record<string, readonly string[]>> = {
  "vpc-cni": ["kube-system/aws-node"],
  "aws-ebs-csi-driver": ["kube-system/ebs-csi-controller-sa", "kube-system/ebs-csi-node-sa"],
  "aws-efs-csi-driver": ["kube-system/efs-csi-controller-sa", "kube-system/efs-csi-node-sa"],
  "eks-pod-identity-agent": ["kube-system/eks-pod-identity-agent"],
  coredns: ["kube-system/coredns"],
  "kube-proxy": ["kube-system/kube-proxy"],
};

/** Every service account the stack creates: chart objects, Helm releases' own, EKS add-ons'. */
export function serviceAccounts(resources: readonly PolicyResource[]): ServiceAccount[] {
  return resources.flatMap((resource): ServiceAccount[] => {
    if (isKind(resource, "ServiceAccount")) {
      const roleArn = get(resource.props, "metadata", "annotations", IRSA_ANNOTATION);
      return [
        {
          namespace: namespaceOf(resource.props),
          name: nameOf(resource.props),
          ...(roleArn === undefined ? {} : { roleArn }),
          owner: resource,
          property: "metadata",
        },
      ];
    }
    if (resource.type === "kubernetes:helm.sh/v3:Release") {
      const account = get(resource.props, "values", "serviceAccount") as Props | undefined;
      const name: unknown = account?.["name"];
      if (account?.["create"] === false || typeof name !== "string") return [];
      const roleArn = get(account, "annotations", IRSA_ANNOTATION);
      const namespace: unknown = resource.props["namespace"];
      return [
        {
          namespace: typeof namespace === "string" ? namespace : "default",
          name,
          ...(roleArn === undefined ? {} : { roleArn }),
          owner: resource,
          property: "values",
        },
      ];
    }
    if (resource.type === "aws:eks/addon:Addon") {
      return (ADDON_SERVICE_ACCOUNTS[String(resource.props["addonName"])] ?? []).map((qualified) => {
        const [namespace = "", name = ""] = qualified.split("/");
        return { namespace, name, owner: resource, property: "addonName" };
      });
    }
    return [];
  });
}

/** `system:serviceaccount:<namespace>:<name>`, the subject of a service account's token. */
export const subjectOf = (account: { namespace: string; name: string }): string =>
  `system:serviceaccount:${account.namespace}:${account.name}`;

/** The service-account subjects a role's trust policy lets assume it through an OIDC provider. */
export function trustedSubjects(role: PolicyResource): string[] {
  return statementsOf(role.props["assumeRolePolicy"])
    .filter((statement) => statement.Effect === "Allow" && get(statement.Principal, "Federated") !== undefined)
    .flatMap((statement) =>
      ["StringEquals", "StringLike"].flatMap((operator) =>
        Object.entries((get(statement.Condition, operator) ?? {}) as Record<string, unknown>)
          .filter(([key]) => key.endsWith(":sub"))
          .flatMap(([, value]) => (Array.isArray(value) ? value.map(String) : [String(value)])),
      ),
    );
}

/** Whether a trusted subject (a `StringLike` pattern or an exact name) admits a service account. */
export const admits = (subject: string, account: { namespace: string; name: string }): boolean =>
  globMatches(subject, subjectOf(account));

/** The role name a literal role ARN names (`arn:aws:iam::1:role/path/name` → `name`). */
export function roleNameOf(arn: unknown): string | undefined {
  if (typeof arn !== "string") return undefined;
  return /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(arn)?.[1];
}

const ROLE = "aws:iam/role:Role";

/**
 * The stack's role a reference names: by name when the reference is a literal ARN, else the one
 * role the referring property was computed from (the engine's dependency tracking).
 */
export function resolveRole(
  resources: readonly PolicyResource[],
  reference: unknown,
  referrer: PolicyResource,
  property: string,
): PolicyResource | undefined {
  const name = roleNameOf(reference);
  if (name !== undefined) {
    return resources.find((resource) => resource.type === ROLE && resource.props["name"] === name);
  }
  const roles = (referrer.propertyDependencies[property] ?? []).filter((resource) => resource.type === ROLE);
  return roles.length === 1 ? roles[0] : undefined;
}

/** The inline policies attached to a role, as their resources. */
export const policiesOf = (resources: readonly PolicyResource[], role: PolicyResource): PolicyResource[] =>
  resources.filter(
    (resource) =>
      resource.type === "aws:iam/rolePolicy:RolePolicy" &&
      (resource.propertyDependencies["role"] ?? []).some((dependency) => dependency.urn === role.urn),
  );

/** The role an inline policy is attached to. */
export const roleOfPolicy = (policy: PolicyResource): PolicyResource | undefined =>
  (policy.propertyDependencies["role"] ?? []).find((dependency) => dependency.type === ROLE);

/** Whether an IAM-style pattern (`*` any run, `?` one character) matches a value. */
export const globMatches = (pattern: string, value: string, ignoreCase = false): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    ignoreCase ? "i" : "",
  ).test(value);

/** Whether an IAM action pattern (`es:ESHttp*`, `*`) covers an action (IAM ignores their case). */
export const actionCovers = (pattern: string, action: string): boolean => globMatches(pattern, action, true);
