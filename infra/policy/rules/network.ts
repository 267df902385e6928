import { attachedTo, get, resourceRule, stackRule, text } from "../rule";

const WORLD = new Set(["0.0.0.0/0", "::/0"]);
/** The only ports the internet may reach directly: the edge's HTTP(S). */
const EDGE_PORTS = new Set([80, 443]);

export interface IngressRule {
  readonly cidrs: string[];
  /** `tcp`, `udp`, `-1` (all) or a protocol number, as written. */
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  readonly description?: string;
}

/** The ingress rules a security-group resource (or rule resource) declares. */
export function ingressRules(type: string, props: Record<string, unknown>): IngressRule[] {
  const port = (value: unknown) => (typeof value === "number" ? value : Number(value ?? -1));
  if (type === "aws:ec2/securityGroup:SecurityGroup" || type === "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup") {
    const rules = (props["ingress"] as Record<string, unknown>[] | undefined) ?? [];
    return rules.map((rule) => ({
      cidrs: [
        ...((rule["cidrBlocks"] as string[] | undefined) ?? []),
        ...((rule["ipv6CidrBlocks"] as string[] | undefined) ?? []),
      ],
      protocol: text(rule["protocol"] ?? "-1").toLowerCase(),
      fromPort: port(rule["fromPort"]),
      toPort: port(rule["toPort"]),
      ...(typeof rule["description"] === "string" ? { description: rule["description"] } : {}),
    }));
  }
  if (type === "aws:ec2/securityGroupRule:SecurityGroupRule" && props["type"] !== "ingress") return [];
  const cidrs = [
    ...((props["cidrBlocks"] as string[] | undefined) ?? []),
    ...((props["ipv6CidrBlocks"] as string[] | undefined) ?? []),
    ...[props["cidrIpv4"], props["cidrIpv6"]].filter((cidr): cidr is string => typeof cidr === "string"),
  ];
  return [
    {
      cidrs,
      protocol: text(props["ipProtocol"] ?? props["protocol"] ?? "-1").toLowerCase(),
      fromPort: port(props["fromPort"]),
      toPort: port(props["toPort"]),
      ...(typeof props["description"] === "string" ? { description: props["description"] } : {}),
    },
  ];
}

export const INGRESS_TYPES = [
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
  "aws:ec2/securityGroupRule:SecurityGroupRule",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
];

export const networkRules = [
  stackRule({
    name: "CKV2_AWS_11-vpc-flow-logs",
    description: "Every VPC records its traffic with a flow log.",
    enforcement: "mandatory",
    check: (resources) =>
      resources
        .filter((resource) => resource.type === "aws:ec2/vpc:Vpc")
        .filter((vpc) => attachedTo(resources, vpc, "aws:ec2/flowLog:FlowLog", "vpcId").length === 0)
        .map((vpc) => ({ message: `VPC ${vpc.name} has no flow log`, urn: vpc.urn })),
  }),
  stackRule({
    name: "CKV2_AWS_12-default-security-group-closed",
    description: "Every VPC's default security group is taken over and allows nothing.",
    enforcement: "mandatory",
    check: (resources) =>
      resources
        .filter((resource) => resource.type === "aws:ec2/vpc:Vpc")
        .flatMap((vpc) => {
          const defaults = attachedTo(resources, vpc, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "vpcId");
          if (defaults.length === 0)
            return [{ message: `VPC ${vpc.name} leaves its default security group open`, urn: vpc.urn }];
          return defaults
            .filter(
              (group) =>
                ((group.props["ingress"] as unknown[] | undefined) ?? []).length +
                  ((group.props["egress"] as unknown[] | undefined) ?? []).length >
                0,
            )
            .map((group) => ({ message: `default security group ${group.name} still has rules`, urn: group.urn }));
        }),
  }),
  resourceRule({
    name: "CKV_AWS_130-subnet-no-public-ip-on-launch",
    description: "No subnet hands out public IP addresses on launch.",
    enforcement: "mandatory",
    types: ["aws:ec2/subnet:Subnet"],
    check: ({ props }) => (props["mapPublicIpOnLaunch"] === true ? "mapPublicIpOnLaunch is true" : undefined),
  }),
  resourceRule({
    name: "CKV_AWS_277-no-internet-ingress-except-edge",
    description: "Nothing admits the whole internet, except HTTP(S) to the edge.",
    enforcement: "mandatory",
    types: INGRESS_TYPES,
    check: ({ type, props }) =>
      ingressRules(type, props)
        .filter((rule) => rule.cidrs.some((cidr) => WORLD.has(cidr)))
        .filter((rule) => !(rule.fromPort === rule.toPort && EDGE_PORTS.has(rule.fromPort)))
        .map((rule) => `ingress from the internet to ports ${rule.fromPort}-${rule.toPort}`),
  }),
  resourceRule({
    name: "CKV_AWS_23-security-group-rules-described",
    description: "Every security group rule says what it is for.",
    enforcement: "advisory",
    types: INGRESS_TYPES,
    check: ({ type, props }) =>
      ingressRules(type, props)
        .filter((rule) => !rule.description)
        .map((rule) => `ingress rule for ports ${rule.fromPort}-${rule.toPort} has no description`),
  }),
  resourceRule({
    name: "CKV_AWS_38-eks-public-endpoint-restricted",
    description: "The EKS API endpoint is private, or public only to allow-listed ranges.",
    enforcement: "mandatory",
    types: ["aws:eks/cluster:Cluster"],
    check: ({ props }) => {
      if (get(props, "vpcConfig", "endpointPublicAccess") === false) return undefined;
      const cidrs = (get(props, "vpcConfig", "publicAccessCidrs") as string[] | undefined) ?? [];
      if (cidrs.length === 0) return "the public endpoint is open to every address (no publicAccessCidrs)";
      return cidrs.filter((cidr) => WORLD.has(cidr)).map((cidr) => `publicAccessCidrs contains ${cidr}`);
    },
  }),
];
