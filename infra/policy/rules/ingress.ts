import type { PolicyResource } from "@pulumi/policy";
import { actionCovers, admits, describe, isKind, policiesOf, trustedSubjects, type Props } from "../kubernetes";
import { get, stackRule, statementsOf, text } from "../rule";
import { INGRESS_TYPES, ingressRules } from "./network";

const RECORD = "aws:route53/record:Record";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
const ADDRESS_RECORD_TYPES = new Set(["A", "AAAA", "CNAME"]);
const WORLD = new Set(["0.0.0.0/0", "::/0"]);
/** The port ACME's HTTP-01 validation connects to: 80, from addresses Let's Encrypt does not publish. */
const HTTP01_PORT = 80;

const host = (name: unknown) => String(name).toLowerCase().replace(/\.$/, "");

/** Whether a record of `name` answers for `target` (itself, or a wildcard one label up). */
const answers = (name: string, target: string) =>
  name === target || (name.startsWith("*.") && target.slice(target.indexOf(".") + 1) === name.slice(2));

/** The hosts an Ingress serves: its rules' and its TLS sections'. */
function ingressHosts(ingress: PolicyResource): string[] {
  const rules = (get(ingress.props, "spec", "rules") as { host?: unknown }[] | undefined) ?? [];
  const tls = (get(ingress.props, "spec", "tls") as { hosts?: unknown[] }[] | undefined) ?? [];
  return [
    ...new Set(
      [...rules.map((rule) => rule.host), ...tls.flatMap((entry) => entry.hosts ?? [])]
        .filter((name): name is string => typeof name === "string" && name !== "")
        .map(host),
    ),
  ];
}

/** The ingress controller release that serves a class (ingress-nginx's `ingressClassResource`). */
function controllerOf(
  resources: readonly PolicyResource[],
  ingressClass: string | undefined,
): PolicyResource | undefined {
  return resources
    .filter((resource) => resource.type === RELEASE)
    .find((release) => {
      const resource = get(release.props, "values", "controller", "ingressClassResource") as Props | undefined;
      return ingressClass === undefined ? resource?.["default"] === true : resource?.["name"] === ingressClass;
    });
}

/** Whether a security group lets the whole internet reach `port` over TCP. */
function admitsWorld(resources: readonly PolicyResource[], group: PolicyResource, port: number): boolean {
  return resources
    .filter(
      (resource) =>
        INGRESS_TYPES.includes(resource.type) &&
        (resource.urn === group.urn ||
          (resource.propertyDependencies["securityGroupId"] ?? []).some((dependency) => dependency.urn === group.urn)),
    )
    .flatMap((resource) => ingressRules(resource.type, resource.props))
    .some(
      (rule) =>
        ["tcp", "6", "-1"].includes(rule.protocol) &&
        rule.cidrs.some((cidr) => WORLD.has(cidr)) &&
        (rule.fromPort === -1 || (rule.fromPort <= port && port <= rule.toPort)),
    );
}

/** Why an HTTP-01 solver's challenge cannot be fetched, if it cannot. */
function http01Problem(resources: readonly PolicyResource[], solver: Props): string | undefined {
  const ingress = get(solver, "http01", "ingress") as Props | undefined;
  if (ingress === undefined) return "solves HTTP-01 through something other than an Ingress, which no check follows";
  const className = ingress["ingressClassName"] ?? ingress["class"];
  const controller = controllerOf(resources, typeof className === "string" ? className : undefined);
  if (controller === undefined) {
    return `solves HTTP-01 through ingress class ${text(className ?? "(default)")}, which no ingress controller of the stack serves`;
  }
  // The security groups the controller's load balancer is given are inputs of its release's values.
  const groups = (controller.propertyDependencies["values"] ?? []).filter(
    (resource) => resource.type === SECURITY_GROUP,
  );
  if (groups.length === 0) {
    return `solves HTTP-01 through ${controller.name}, whose load balancer's security groups the stack does not name`;
  }
  return groups.every((group) => admitsWorld(resources, group, HTTP01_PORT))
    ? undefined
    : `solves HTTP-01 through ${controller.name}, but its load balancer's security group ` +
        `${groups.map((group) => group.name).join(", ")} does not admit port ${HTTP01_PORT} from the internet ` +
        "(ACME validates from addresses it does not publish): no certificate would be issued";
}

/** Why a Route 53 DNS-01 solver cannot write its challenge record, if it cannot. */
function route53Problem(resources: readonly PolicyResource[], route53: Props): string | undefined {
  // Explicit credentials or a role to assume are configured by hand, outside what the plan shows.
  if (
    ["accessKeyID", "accessKeyIDSecretRef", "secretAccessKeySecretRef", "role", "auth"].some((key) => key in route53)
  ) {
    return undefined;
  }
  const release = resources.find((resource) => resource.type === RELEASE && resource.props["chart"] === "cert-manager");
  if (release === undefined) return "solves DNS-01 in Route 53, but no cert-manager release is in the stack";
  const name = get(release.props, "values", "serviceAccount", "name");
  const account = {
    namespace: typeof release.props["namespace"] === "string" ? release.props["namespace"] : "default",
    name: typeof name === "string" ? name : "cert-manager",
  };
  const grants = resources
    .filter(
      (role) => role.type === "aws:iam/role:Role" && trustedSubjects(role).some((subject) => admits(subject, account)),
    )
    .flatMap((role) => policiesOf(resources, role))
    .flatMap((policy) => statementsOf(policy.props["policy"]))
    .filter((statement) => statement.Effect === "Allow");
  const granted = (action: string) => grants.some((statement) => statement.Action.some((a) => actionCovers(a, action)));
  const missing = ["route53:ChangeResourceRecordSets", "route53:GetChange"].filter((action) => !granted(action));
  return missing.length === 0
    ? undefined
    : `solves DNS-01 in Route 53 with cert-manager's own credentials, but no IRSA role of ${account.namespace}/${account.name} allows ${missing.join(", ")}`;
}

export const reachabilityRules = [
  stackRule({
    name: "paimon-ingress-hosts-have-dns",
    description: "Every host an Ingress serves has a Route 53 record in the stack.",
    enforcement: "mandatory",
    check: (resources) => {
      const records = resources
        .filter((resource) => resource.type === RECORD && ADDRESS_RECORD_TYPES.has(text(resource.props["type"])))
        .map((record) => host(record.props["name"]));
      return resources
        .filter((resource) => isKind(resource, "Ingress"))
        .flatMap((ingress) =>
          ingressHosts(ingress)
            .filter((name) => !records.some((record) => answers(record, name)))
            .map((name) => ({
              message: `${describe(ingress)} serves ${name}, which no A, AAAA or CNAME record of the stack resolves`,
              urn: ingress.urn,
            })),
        );
    },
  }),
  stackRule({
    name: "paimon-acme-solvers-reachable",
    description:
      "Every ACME issuer's solver can complete: HTTP-01 through security groups that admit port 80 from the internet, " +
      "DNS-01 in Route 53 with a role that may write the challenge record.",
    enforcement: "mandatory",
    check: (resources) =>
      resources
        .filter((resource) => isKind(resource, "ClusterIssuer", "Issuer"))
        .flatMap((issuer) =>
          ((get(issuer.props, "spec", "acme", "solvers") as Props[] | undefined) ?? []).flatMap((solver, index) => {
            const route53 = get(solver, "dns01", "route53") as Props | undefined;
            const problem =
              solver["http01"] !== undefined
                ? http01Problem(resources, solver)
                : route53 !== undefined
                  ? route53Problem(resources, route53)
                  : `solves ${Object.keys(solver["dns01"] ?? {}).join(", ") || "nothing"}, which no check follows`;
            return problem === undefined
              ? []
              : [{ message: `${describe(issuer)} solver ${index} ${problem}`, urn: issuer.urn }];
          }),
        ),
  }),
];
