import type { PolicyResource } from "@pulumi/policy";
import {
  admits,
  describe,
  isKind,
  kindOf,
  namespaceOf,
  podSpecOf,
  resolveRole,
  serviceAccounts,
  subjectOf,
  trustedSubjects,
  type Props,
} from "../kubernetes";
import { get, stackRule, text } from "../rule";

type Finding = { message: string; urn: string };

/** Every `serviceAccountRef` under a store's provider (AWS's `auth.jwt`, and any other provider's). */
function serviceAccountRefs(value: unknown): { name?: unknown; namespace?: unknown }[] {
  if (Array.isArray(value)) return value.flatMap(serviceAccountRefs);
  if (!value || typeof value !== "object") return [];
  return Object.entries(value as Props).flatMap(([key, child]) =>
    key === "serviceAccountRef" && child && typeof child === "object"
      ? [child as { name?: unknown; namespace?: unknown }]
      : serviceAccountRefs(child),
  );
}

/** Who names a service account: an IRSA trust, a secret store, a pod. */
function references(
  resources: readonly PolicyResource[],
): { namespace: string; name: string; by: string; urn: string }[] {
  return resources.flatMap((resource) => {
    if (resource.type === "aws:iam/role:Role") {
      return trustedSubjects(resource)
        .map((subject) => /^system:serviceaccount:([^:*?]+):([^:*?]+)$/.exec(subject))
        .filter((match): match is RegExpExecArray => match !== null)
        .map(([subject, namespace = "", name = ""]) => ({
          namespace,
          name,
          by: `role ${text(resource.props["name"] ?? resource.name)} trusts ${subject}`,
          urn: resource.urn,
        }));
    }
    if (isKind(resource, "ClusterSecretStore", "SecretStore")) {
      const cluster = isKind(resource, "ClusterSecretStore");
      return serviceAccountRefs(get(resource.props, "spec", "provider")).flatMap((ref) => {
        const name = typeof ref.name === "string" ? ref.name : "";
        const namespace = typeof ref.namespace === "string" ? ref.namespace : undefined;
        // A ClusterSecretStore's reference without a namespace is resolved in each ExternalSecret's
        // namespace; a SecretStore's always in its own.
        if (cluster && namespace === undefined) return [];
        return [
          {
            namespace: namespace ?? namespaceOf(resource.props),
            name,
            by: `${describe(resource)} authenticates as ${namespace ?? namespaceOf(resource.props)}/${name}`,
            urn: resource.urn,
          },
        ];
      });
    }
    const pod = podSpecOf(resource.type, resource.props);
    const account = pod?.serviceAccountName;
    if (account === undefined || account === "default") return [];
    return [
      {
        namespace: namespaceOf(resource.props),
        name: account,
        by: `${describe(resource)} runs as ${account}`,
        urn: resource.urn,
      },
    ];
  });
}

/** External Secrets refuses a namespaced store that authenticates as another namespace's account. */
function crossNamespaceStores(resources: readonly PolicyResource[]): Finding[] {
  return resources
    .filter((resource) => isKind(resource, "SecretStore"))
    .flatMap((store) =>
      serviceAccountRefs(get(store.props, "spec", "provider"))
        .filter((ref) => typeof ref.namespace === "string" && ref.namespace !== namespaceOf(store.props))
        .map((ref) => ({
          message:
            `${describe(store)} names service account ${text(ref.namespace)}/${text(ref.name)}: a SecretStore may only ` +
            "use a service account of its own namespace (use a ClusterSecretStore, or an account in the store's namespace)",
          urn: store.urn,
        })),
    );
}

/** Service accounts annotated with an IRSA role, and the role each names. */
function irsaMismatches(resources: readonly PolicyResource[]): Finding[] {
  return serviceAccounts(resources).flatMap((account) => {
    if (account.roleArn === undefined) return [];
    const where = `service account ${account.namespace}/${account.name} (${kindOf(account.owner.type) ?? account.owner.type} ${account.owner.name})`;
    const role = resolveRole(resources, account.roleArn, account.owner, account.property);
    if (role === undefined) {
      // A value the cloud computes that no single role of the stack produced cannot be followed.
      return typeof account.roleArn === "string" && account.roleArn.startsWith("arn:")
        ? [{ message: `${where} assumes ${account.roleArn}, which this stack does not create`, urn: account.owner.urn }]
        : [];
    }
    const subjects = trustedSubjects(role);
    if (subjects.length === 0 || subjects.some((subject) => admits(subject, account))) return [];
    return [
      {
        message: `${where} assumes role ${text(role.props["name"] ?? role.name)}, whose trust names ${subjects.join(", ")}, not ${subjectOf(account)}`,
        urn: account.owner.urn,
      },
    ];
  });
}

export const serviceAccountRules = [
  stackRule({
    name: "paimon-service-accounts-exist",
    description:
      "Every service account an IRSA trust, a secret store or a pod names exists, in the namespace it is named in; " +
      "a namespaced SecretStore names no other namespace's account.",
    enforcement: "mandatory",
    check: (resources) => {
      const accounts = serviceAccounts(resources);
      const missing = references(resources)
        .filter((reference) => !accounts.some((account) => admits(subjectOf(reference), account)))
        .map((reference) => ({
          message: `${reference.by}, but no service account ${reference.name} exists in namespace ${reference.namespace}`,
          urn: reference.urn,
        }));
      return [...crossNamespaceStores(resources), ...missing];
    },
  }),
  stackRule({
    name: "paimon-irsa-annotation-matches-trust",
    description: "Every service account annotated with an IRSA role names a role of this stack whose trust names it.",
    enforcement: "mandatory",
    check: irsaMismatches,
  }),
];
