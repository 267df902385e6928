import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../../planner/policy";
import type { RecordedResource } from "../../planner/record";
import { expectCase, manifest, resource, urnOf } from "../testing";
import { reachabilityRules } from "./ingress";

const [dns, acme] = reachabilityRules as [(typeof reachabilityRules)[number], (typeof reachabilityRules)[number]];
const RECORD = "aws:route53/record:Record";
const GROUP = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const ROLE = "aws:iam/role:Role";
const HOST = "origin-api.paimon.fund";

const ingress = manifest({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: {
    name: "paimon-api",
    namespace: "paimon",
    annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
  },
  spec: {
    ingressClassName: "nginx",
    tls: [{ hosts: [HOST], secretName: "paimon-api-tls" }],
    rules: [{ host: HOST, http: { paths: [] } }],
  },
});
const record = (name: string, type = "A") => resource(RECORD, `record-${name}`, { name, type, zoneId: "Z1" });

describe("paimon-ingress-hosts-have-dns", () => {
  it("when no record resolves the host an Ingress serves, then it fires; an A record or a wildcard answers", () => {
    expectCase(dns, { failing: [ingress, record("api.paimon.fund")], passing: [ingress, record(HOST)] });
    expectCase(dns, { failing: [ingress, record(HOST, "TXT")], passing: [ingress, record("*.paimon.fund", "CNAME")] });
    expect(evaluatePolicies([dns], [ingress], { environment: "production" })[0]?.message).toBe(
      `Ingress paimon/paimon-api serves ${HOST}, which no A, AAAA or CNAME record of the stack resolves`,
    );
  });
});

/** The origin's security group, admitting HTTPS from CloudFront's prefix list — and port 80 from the world if asked. */
const originGroup = (openPort80: boolean): RecordedResource[] => [
  resource(GROUP, "origin-sg", { description: "origin", egress: [] }),
  resource(
    INGRESS_RULE,
    "origin-from-cloudfront",
    { ipProtocol: "tcp", fromPort: 443, toPort: 443, prefixListId: "pl-cloudfront" },
    { dependsOn: { securityGroupId: [urnOf(GROUP, "origin-sg")] } },
  ),
  ...(openPort80
    ? [
        resource(
          INGRESS_RULE,
          "origin-http",
          { ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: "0.0.0.0/0" },
          { dependsOn: { securityGroupId: [urnOf(GROUP, "origin-sg")] } },
        ),
      ]
    : []),
];
const nginx = resource(
  "kubernetes:helm.sh/v3:Release",
  "ingress-nginx",
  {
    chart: "ingress-nginx",
    namespace: "ingress-nginx",
    values: { controller: { ingressClassResource: { name: "nginx" }, service: { annotations: { sg: "<computed>" } } } },
  },
  { dependsOn: { values: [urnOf(GROUP, "origin-sg")] } },
);
const issuer = (solver: Record<string, unknown>) =>
  manifest({
    apiVersion: "cert-manager.io/v1",
    kind: "ClusterIssuer",
    metadata: { name: "letsencrypt" },
    spec: { acme: { server: "https://acme", privateKeySecretRef: { name: "key" }, solvers: [solver] } },
  });
const http01 = issuer({ http01: { ingress: { ingressClassName: "nginx" } } });
const dns01 = issuer({ selector: { dnsZones: ["paimon.fund"] }, dns01: { route53: { region: "ap-southeast-1" } } });

const certManager = resource("kubernetes:helm.sh/v3:Release", "cert-manager", {
  chart: "cert-manager",
  namespace: "cert-manager",
  values: { serviceAccount: { create: true, name: "cert-manager" } },
});
const certManagerRole = (actions: string[]): RecordedResource[] => [
  resource(ROLE, "cert-manager-role", {
    name: "paimon-test-cert-manager",
    assumeRolePolicy: JSON.stringify({
      Statement: [
        {
          Effect: "Allow",
          Principal: { Federated: "arn:oidc" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: { StringEquals: { "oidc:sub": "system:serviceaccount:cert-manager:cert-manager" } },
        },
      ],
    }),
  }),
  resource(
    "aws:iam/rolePolicy:RolePolicy",
    "cert-manager-policy",
    {
      policy: JSON.stringify({
        Statement: [{ Effect: "Allow", Action: actions, Resource: "arn:aws:route53:::hostedzone/Z1" }],
      }),
    },
    { dependsOn: { role: [urnOf(ROLE, "cert-manager-role")] } },
  ),
];

describe("paimon-acme-solvers-reachable", () => {
  it("when HTTP-01 is solved behind a load balancer that admits only HTTPS from CloudFront, then it fires", () => {
    expectCase(acme, {
      failing: [http01, nginx, ...originGroup(false)],
      passing: [http01, nginx, ...originGroup(true)],
    });
    expect(
      evaluatePolicies([acme], [http01, nginx, ...originGroup(false)], { environment: "production" })[0]?.message,
    ).toMatch(
      /ClusterIssuer letsencrypt solver 0 solves HTTP-01 through ingress-nginx, but its load balancer's security group origin-sg does not admit port 80 from the internet/,
    );
  });

  it("when HTTP-01 names a class no controller serves, or one whose security groups are unknown, then it fires", () => {
    const unknownGroups = resource("kubernetes:helm.sh/v3:Release", "ingress-nginx", nginx.inputs);
    expectCase(acme, { failing: [http01, ...originGroup(true)], passing: [http01, nginx, ...originGroup(true)] });
    expectCase(acme, {
      failing: [http01, unknownGroups, ...originGroup(true)],
      passing: [http01, nginx, ...originGroup(true)],
    });
  });

  it("when DNS-01 in Route 53 has no role of cert-manager's that may write records, then it fires", () => {
    const passing = [dns01, certManager, ...certManagerRole(["route53:ChangeResourceRecordSets", "route53:GetChange"])];
    expectCase(acme, { failing: [dns01, certManager], passing });
    expectCase(acme, { failing: [dns01, certManager, ...certManagerRole(["route53:GetChange"])], passing });
    expectCase(acme, { failing: [dns01, ...certManagerRole(["route53:*"])], passing });
  });

  it("when a DNS-01 provider no check knows is used, then it fires rather than guess", () => {
    expectCase(acme, {
      failing: [issuer({ dns01: { cloudflare: { apiTokenSecretRef: { name: "t", key: "k" } } } })],
      passing: [dns01, certManager, ...certManagerRole(["route53:*"])],
    });
  });
});
