import type * as pulumi from "@pulumi/pulumi";
import { partitionOf } from "../aws-partition";
import { secretValue } from "./signatures";

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

/** Computes outputs from `at(attribute)` (the resource's placeholder for it), its name and inputs. */
type Computed = (
  at: (attribute: string) => string,
  inputs: Record<string, unknown>,
  name: string,
) => Record<string, unknown>;

/**
 * Outputs a provider computes that the program reads and no input echoes, per resource type.
 * Values are readable placeholders naming the resource and attribute, so that a reference like
 * `subnet.vpcId` shows in the plan as `<vpc:network-vpc.id>`.
 */
const COMPUTED_OUTPUTS: Readonly<Record<string, Computed>> = {
  "aws:kms/key:Key": (at) => ({ keyId: at("keyId") }),
  "aws:ec2/natGateway:NatGateway": (at) => ({
    publicIp: at("publicIp"),
  }),
  "aws:ec2/eip:Eip": (at) => ({ publicIp: at("publicIp") }),
  "aws:ec2/launchTemplate:LaunchTemplate": () => ({ latestVersion: 1 }),
  "aws:eks/cluster:Cluster": (at, inputs) => {
    return {
      endpoint: `https://${at("endpoint")}`,
      certificateAuthority: { data: at("certificateAuthority") },
      identities: [{ oidcs: [{ issuer: `https://${at("oidcIssuer")}` }] }],
      vpcConfig: { ...(inputs["vpcConfig"] as object), clusterSecurityGroupId: at("clusterSecurityGroupId") },
    };
  },
  "aws:rds/instance:Instance": (at) => ({
    address: at("address"),
    endpoint: at("endpoint"),
  }),
  "aws:elasticache/replicationGroup:ReplicationGroup": (at) => ({
    primaryEndpointAddress: at("primaryEndpointAddress"),
    configurationEndpointAddress: at("configurationEndpointAddress"),
  }),
  "aws:opensearch/domain:Domain": (at) => ({
    endpoint: at("endpoint"),
  }),
  "aws:cloudfront/distribution:Distribution": (at) => ({
    domainName: at("domainName"),
    // CloudFront's fixed hosted zone for alias records.
    hostedZoneId: "Z2FDTNDATAQYW2",
  }),
  "aws:acm/certificate:Certificate": (at, inputs, name) => ({
    domainValidationOptions: [
      {
        domainName: inputs["domainName"],
        resourceRecordName: `_${name}.${String(inputs["domainName"])}.`,
        resourceRecordType: "CNAME",
        resourceRecordValue: at("validationTarget"),
      },
    ],
  }),
  "aws:route53/record:Record": (_at, inputs) => ({ fqdn: inputs["name"] }),
  "pagerduty:index/serviceIntegration:ServiceIntegration": (at) => ({
    integrationKey: secretValue(at("integrationKey")),
  }),
  // The engine keeps these secret (the provider SDK lists them as additional secret outputs).
  "random:index/randomPassword:RandomPassword": (at) => ({
    result: secretValue(at("result")),
    bcryptHash: secretValue(at("bcryptHash")),
  }),
};

/** `<role:network-flow-logs.arn>`: the short type keeps same-named resources of two types apart. */
export function placeholder(type: string, name: string, attribute: string): string {
  const kind = type.split(":").pop() ?? type;
  return `<${kind.charAt(0).toLowerCase()}${kind.slice(1)}:${name}.${attribute}>`;
}

/** Invokes the program makes, answered as AWS would for the configured account and region. */
function answer(
  token: string,
  inputs: Record<string, unknown>,
  environment: MockEnvironment,
): pulumi.runtime.MockCallResult {
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
    case "aws:route53/getZone:getZone": {
      const zone = String(inputs["name"]);
      return { id: `<zone:${zone}.id>`, zoneId: `<zone:${zone}.id>`, name: zone, privateZone: false };
    }
    case "aws:ec2/getManagedPrefixList:getManagedPrefixList": {
      const list = String(inputs["name"]);
      return { id: `<prefixList:${list}.id>`, name: list, addressFamily: "IPv4", maxEntries: 55, entries: [] };
    }
    case "aws:lb/getLoadBalancer:getLoadBalancer": {
      const lb = String(inputs["name"]);
      return {
        id: `<loadBalancer:${lb}.arn>`,
        arn: `<loadBalancer:${lb}.arn>`,
        name: lb,
        loadBalancerType: "network",
        dnsName: `<loadBalancer:${lb}.dnsName>`,
        zoneId: `<loadBalancer:${lb}.zoneId>`,
      };
    }
    case "pagerduty:index/getUser:getUser": {
      const email = String(inputs["email"]);
      return { id: `<user:${email}.id>`, email, name: email.split("@")[0] };
    }
    case "tls:index/getCertificate:getCertificate":
      return {
        id: String(inputs["url"]),
        url: inputs["url"],
        certificates: [{ sha1Fingerprint: `<certificate:${String(inputs["url"])}.rootSha1Fingerprint>`, isCa: true }],
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
      const inputs = args.inputs as Record<string, unknown>;
      const at = (attribute: string) => placeholder(args.type, args.name, attribute);
      const computed = COMPUTED_OUTPUTS[args.type]?.(at, inputs, args.name) ?? {};
      return {
        id: placeholder(args.type, args.name, "id"),
        state: { name: args.name, arn: placeholder(args.type, args.name, "arn"), ...inputs, ...computed },
      };
    },
    call(args) {
      return answer(args.token, args.inputs as Record<string, unknown>, environment);
    },
  };
}
