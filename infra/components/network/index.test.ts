import { beforeAll, describe, expect, it } from "vitest";
import { recordComponents, policyOf, type Recorded } from "../../testing/record";
import { Network, type NetworkArgs } from "./index";

const base: Omit<NetworkArgs, "availabilityZones" | "natGateways"> = {
  namePrefix: "paimon-test",
  cidrBlock: "10.20.0.0/16",
  region: "ap-southeast-1",
  accountId: "123456789012",
  flowLogKmsKeyArn: "arn:aws:kms:ap-southeast-1:123456789012:key/data",
  flowLogRetentionDays: 90,
};
const zones = ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"];

let recorded: Recorded;
beforeAll(async () => {
  recorded = await recordComponents(() => {
    new Network("shared", { ...base, availabilityZones: zones, natGateways: "single" });
    new Network("perzone", { ...base, cidrBlock: "10.30.0.0/16", availabilityZones: zones, natGateways: "one-per-az" });
  });
});

const within = (component: string) => (name: string) => name.startsWith(`${component}-`);

describe("Network", () => {
  it("when three AZs are given, then each gets a public, a private and a database subnet", () => {
    const subnets = recorded.ofType("aws:ec2/subnet:Subnet").filter((s) => within("shared")(s.name));
    expect(subnets).toHaveLength(9);
    for (const tier of ["public", "private", "database"]) {
      const inTier = subnets.filter((s) => (s.inputs["tags"] as Record<string, string>)["tier"] === tier);
      expect(inTier.map((s) => s.inputs["availabilityZone"]).sort()).toEqual(zones);
    }
    expect(subnets.every((s) => s.inputs["mapPublicIpOnLaunch"] === false)).toBe(true);
  });

  it("when NAT is single, then one gateway serves every private route table", () => {
    const nats = recorded.ofType("aws:ec2/natGateway:NatGateway").filter((n) => within("shared")(n.name));
    expect(nats.map((n) => n.name)).toEqual(["shared-nat-ap-southeast-1a"]);
    const routes = recorded.ofType("aws:ec2/route:Route").filter((r) => r.name.startsWith("shared-private-default-"));
    expect(routes).toHaveLength(3);
    expect(new Set(routes.map((r) => r.inputs["natGatewayId"]))).toEqual(
      new Set(["<natGateway:shared-nat-ap-southeast-1a.id>"]),
    );
  });

  it("when NAT is one per AZ, then each AZ's private routes leave through its own gateway", () => {
    const nats = recorded.ofType("aws:ec2/natGateway:NatGateway").filter((n) => within("perzone")(n.name));
    expect(nats).toHaveLength(3);
    for (const zone of zones) {
      const route = recorded.named(`perzone-private-default-${zone}`, "aws:ec2/route:Route");
      expect(route.inputs["natGatewayId"]).toBe(`<natGateway:perzone-nat-${zone}.id>`);
      const nat = recorded.named(`perzone-nat-${zone}`, "aws:ec2/natGateway:NatGateway");
      expect(nat.inputs["subnetId"]).toBe(`<subnet:perzone-public-${zone}.id>`);
    }
  });

  it("then the database tier has no route out of the VPC, and only the public tier reaches the internet gateway", () => {
    const routes = recorded.ofType("aws:ec2/route:Route").filter((r) => within("shared")(r.name));
    expect(routes.filter((r) => r.inputs["routeTableId"] === "<routeTable:shared-database-rt.id>")).toEqual([]);
    const viaIgw = routes.filter((r) => r.inputs["gatewayId"] !== undefined);
    expect(viaIgw.map((r) => r.inputs["routeTableId"])).toEqual(["<routeTable:shared-public-rt.id>"]);
  });

  it("then the default security group is emptied of rules", () => {
    const sg = recorded.named("shared-default-sg", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup");
    expect(sg.inputs["ingress"]).toEqual([]);
    expect(sg.inputs["egress"]).toEqual([]);
  });

  it("then all traffic is flow-logged to an encrypted group with the configured retention", () => {
    const flowLog = recorded.named("shared-flow-log", "aws:ec2/flowLog:FlowLog");
    expect(flowLog.inputs).toMatchObject({ trafficType: "ALL", logDestinationType: "cloud-watch-logs" });
    const group = recorded.named("shared-flow-logs", "aws:cloudwatch/logGroup:LogGroup");
    expect(group.inputs).toMatchObject({ retentionInDays: 90, kmsKeyId: base.flowLogKmsKeyArn });
    const trust = policyOf(recorded.named("shared-flow-logs", "aws:iam/role:Role"), "assumeRolePolicy");
    expect(trust.Statement[0]).toMatchObject({
      Principal: { Service: "vpc-flow-logs.amazonaws.com" },
      Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
    });
    const delivery = policyOf(recorded.named("shared-flow-logs", "aws:iam/rolePolicy:RolePolicy"));
    expect(delivery.Statement[0]!["Resource"]).toEqual([
      "<logGroup:shared-flow-logs.arn>",
      "<logGroup:shared-flow-logs.arn>:*",
    ]);
  });

  it("then S3 traffic from private and database subnets stays on the gateway endpoint", () => {
    const endpoint = recorded.named("shared-s3", "aws:ec2/vpcEndpoint:VpcEndpoint");
    expect(endpoint.inputs["serviceName"]).toBe("com.amazonaws.ap-southeast-1.s3");
    expect(endpoint.inputs["routeTableIds"]).toHaveLength(4);
  });
});
