import type { PolicyResource } from "@pulumi/policy";
import {
  actionCovers,
  globMatches,
  isKind,
  nameOf,
  namespaceOf,
  podSpecOf,
  resolveRole,
  roleNameOf,
  roleOfPolicy,
  type Props,
} from "../kubernetes";
import { get, stackRule, statementsOf, text } from "../rule";

const DOMAIN = "aws:opensearch/domain:Domain";
/** Labels the ConfigMap holding a domain's security configuration (infra/k8s/logging-chart.ts). */
export const SECURITY_CONFIG_LABEL = "paimon.fund/opensearch-domain";
/** The HTTP verbs that write documents. */
const WRITE_ACTIONS = ["es:ESHttpPost", "es:ESHttpPut"];
/** Index actions that let a role write documents (OpenSearch's action groups, or the raw actions). */
const WRITE_PERMISSIONS = ["crud", "write", "index", "indices_all", "unlimited", "indices:data/write/*"];

/** Whether a statement's resources reach `domain`'s documents (its security API is not a document). */
function writesTo(statementResources: readonly string[], domain: string): boolean {
  return statementResources.some((resource) => {
    if (resource === "*") return true;
    const match = /:domain\/([^/]+)(?:\/(.*))?$/.exec(resource);
    if (!match?.[1] || !globMatches(match[1], domain)) return false;
    return !(match[2] ?? "").startsWith("_plugins/_security");
  });
}

/** What a domain's security configuration maps: IAM role name → the OpenSearch roles it gets. */
interface Mapping {
  readonly writers: Set<string>;
  /** The ConfigMaps that hold it, and whether a Job applies each. */
  readonly sources: { readonly configMap: PolicyResource; readonly applied: boolean }[];
}

function parse(value: unknown): Props | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return parsed && typeof parsed === "object" ? (parsed as Props) : undefined;
  } catch {
    return undefined;
  }
}

function mappingOf(resources: readonly PolicyResource[], domain: PolicyResource): Mapping {
  const name = text(domain.props["domainName"]);
  const writers = new Set<string>();
  // The master user holds all_access.
  const master = resolveRole(
    resources,
    get(domain.props, "advancedSecurityOptions", "masterUserOptions", "masterUserArn"),
    domain,
    "advancedSecurityOptions",
  );
  const masterName = master ? text(master.props["name"]) : undefined;
  if (masterName) writers.add(masterName);
  const configMaps = resources.filter(
    (resource) =>
      isKind(resource, "ConfigMap") && get(resource.props, "metadata", "labels", SECURITY_CONFIG_LABEL) === name,
  );
  for (const configMap of configMaps) {
    const data = (configMap.props["data"] ?? {}) as Record<string, unknown>;
    const roles = new Map<string, Props>();
    for (const [file, body] of Object.entries(data)) {
      const role = /^roles\.(.+)\.json$/.exec(file)?.[1];
      const parsed = parse(body);
      if (role && parsed) roles.set(role, parsed);
    }
    const canWrite = (role: string) =>
      role === "all_access" ||
      ((roles.get(role)?.["index_permissions"] as { allowed_actions?: unknown[] }[] | undefined) ?? []).some(
        (permission) => (permission.allowed_actions ?? []).some((action) => WRITE_PERMISSIONS.includes(String(action))),
      );
    for (const [file, body] of Object.entries(data)) {
      const role = /^rolesmapping\.(.+)\.json$/.exec(file)?.[1];
      if (!role || !canWrite(role)) continue;
      for (const arn of (parse(body)?.["backend_roles"] as unknown[] | undefined) ?? []) {
        const mapped = roleNameOf(arn);
        if (mapped) writers.add(mapped);
      }
    }
  }
  const sources = configMaps.map((configMap) => ({
    configMap,
    applied: resources.some(
      (resource) =>
        isKind(resource, "Job", "CronJob") &&
        namespaceOf(resource.props) === namespaceOf(configMap.props) &&
        (podSpecOf(resource.type, resource.props)?.volumes ?? []).some(
          (volume) => volume.configMap?.name === nameOf(configMap.props),
        ),
    ),
  }));
  return { writers, sources };
}

export const logAccessRules = [
  stackRule({
    name: "paimon-opensearch-writers-mapped",
    description:
      "Every IAM role that may write to a fine-grained-access OpenSearch domain is mapped to an OpenSearch role " +
      "that writes, by a security configuration a Job applies.",
    enforcement: "mandatory",
    check: (resources) =>
      resources
        .filter(
          (resource) => resource.type === DOMAIN && get(resource.props, "advancedSecurityOptions", "enabled") === true,
        )
        .flatMap((domain) => {
          const name = text(domain.props["domainName"]);
          const mapping = mappingOf(resources, domain);
          const unapplied = mapping.sources
            .filter((source) => !source.applied)
            .map((source) => ({
              message: `ConfigMap ${nameOf(source.configMap.props)} holds ${name}'s security configuration, but no Job applies it`,
              urn: source.configMap.urn,
            }));
          const writers = resources
            .filter((resource) => resource.type === "aws:iam/rolePolicy:RolePolicy")
            .filter((policy) =>
              statementsOf(policy.props["policy"]).some(
                (statement) =>
                  statement.Effect === "Allow" &&
                  statement.Action.some((action) => WRITE_ACTIONS.some((write) => actionCovers(action, write))) &&
                  writesTo(statement.Resource, name),
              ),
            )
            .flatMap((policy) => {
              const role = roleOfPolicy(policy);
              return role ? [{ role: text(role.props["name"]), urn: role.urn }] : [];
            });
          const unmapped = writers
            .filter((writer) => !mapping.writers.has(writer.role))
            .map((writer) => ({
              message:
                `role ${writer.role} may write to ${name}, but no OpenSearch role that writes maps it: ` +
                "fine-grained access control would refuse every document it sends",
              urn: writer.urn,
            }));
          return [...unapplied, ...unmapped];
        }),
  }),
];
