import type * as pulumi from "@pulumi/pulumi";

/** What the mocks must know of the stack to answer like AWS would. */
export interface MockEnvironment {
  readonly region: string;
  readonly accountId: string;
}

/**
 * Availability zones the mocks report per region; any other region reports three (a, b, c).
 * Real AZ names come from `aws.getAvailabilityZones` where the CLI runs against AWS.
 */
const ZONE_LETTERS: Readonly<Record<string, string>> = {
  "us-east-1": "abcdef",
  "us-west-2": "abcd",
  "ap-northeast-1": "acd",
};

export function partitionOf(region: string): { partition: string; dnsSuffix: string } {
  if (region.startsWith("cn-")) return { partition: "aws-cn", dnsSuffix: "amazonaws.com.cn" };
  if (region.startsWith("us-gov-")) return { partition: "aws-us-gov", dnsSuffix: "amazonaws.com" };
  return { partition: "aws", dnsSuffix: "amazonaws.com" };
}

/**
 * Computed outputs per resource type that the program reads and that no input echoes. Each
 * value is a readable placeholder naming the resource and attribute, so that a reference like
 * `subnet.vpcId` shows in the plan as `<vpc:network-vpc.id>`.
 */
const COMPUTED_OUTPUTS: Readonly<Record<string, readonly string[]>> = {
  "aws:kms/key:Key": ["keyId"],
  "aws:ec2/natGateway:NatGateway": ["publicIp"],
  "aws:ec2/eip:Eip": ["publicIp", "allocationId"],
};

/** `<role:network-flow-logs.arn>`: the short type keeps same-named resources of two types apart. */
export function placeholder(type: string, name: string, attribute: string): string {
  const kind = type.split(":").pop() ?? type;
  return `<${kind.charAt(0).toLowerCase()}${kind.slice(1)}:${name}.${attribute}>`;
}

/** Invokes the program makes, answered as AWS would for the configured account and region. */
function answer(token: string, environment: MockEnvironment): pulumi.runtime.MockCallResult {
  const { partition, dnsSuffix } = partitionOf(environment.region);
  switch (token) {
    case "aws:index/getAvailabilityZones:getAvailabilityZones": {
      const letters = (ZONE_LETTERS[environment.region] ?? "abc").split("");
      return {
        id: environment.region,
        names: letters.map((letter) => `${environment.region}${letter}`),
        zoneIds: letters.map((_, index) => `${environment.region.replace(/-/g, "")}-az${index + 1}`),
        groupNames: [environment.region],
        state: "available",
      };
    }
    case "aws:index/getPartition:getPartition":
      return { id: partition, partition, dnsSuffix, reverseDnsPrefix: dnsSuffix.split(".").reverse().join(".") };
    case "aws:index/getRegion:getRegion":
      return {
        id: environment.region,
        name: environment.region,
        region: environment.region,
        endpoint: `ec2.${environment.region}.${dnsSuffix}`,
      };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        id: environment.accountId,
        accountId: environment.accountId,
        arn: `arn:${partition}:iam::${environment.accountId}:role/plan`,
        userId: "PLAN",
      };
    default:
      throw new Error(
        `the plan's mocks cannot answer the invoke ${token}; teach infra/planner/mocks.ts what AWS would return`,
      );
  }
}

/**
 * Mocks that echo every resource's inputs back as its state, and fill the outputs a real
 * provider would compute (id, arn, …) with placeholders: deterministic, and readable in a diff.
 */
export function createMocks(environment: MockEnvironment): pulumi.runtime.Mocks {
  return {
    newResource(args) {
      const computed: Record<string, string> = { arn: placeholder(args.type, args.name, "arn") };
      for (const attribute of COMPUTED_OUTPUTS[args.type] ?? [])
        computed[attribute] = placeholder(args.type, args.name, attribute);
      return {
        id: placeholder(args.type, args.name, "id"),
        state: { name: args.name, ...computed, ...(args.inputs as Record<string, unknown>) },
      };
    },
    call(args) {
      return answer(args.token, environment);
    },
  };
}
