import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { flowLogsAssumeRolePolicy, flowLogsDeliveryPolicy } from "./policies";
import { planSubnets } from "./subnets";

export type NatGatewayPolicy = "single" | "one-per-az";

export interface NetworkArgs {
  /** Name prefix for the physical names (`Name` tags, log group), e.g. `paimon-staging`. */
  readonly namePrefix: string;
  /** The VPC's IPv4 range, /16 to /20; see `planSubnets` for how it is divided. */
  readonly cidrBlock: string;
  /**
   * The availability zones to span, in order. At least two: RDS and ElastiCache subnet groups
   * need two, and Multi-AZ needs them to be real.
   */
  readonly availabilityZones: readonly string[];
  /**
   * `single` shares one NAT gateway (in the first AZ) between all private subnets; `one-per-az`
   * gives each AZ its own, so losing an AZ never cuts the others' egress.
   * @default "one-per-az"
   */
  readonly natGateways?: NatGatewayPolicy;
  /** The AWS region, for the S3 gateway endpoint's service name. */
  readonly region: string;
  /** The account that owns the VPC: flow-log delivery is only accepted on its behalf. */
  readonly accountId: string;
  /** The partition (`aws`, `aws-cn`, …) for ARNs. @default "aws" */
  readonly partition?: string;
  /** KMS key that encrypts the flow-log group. Its key policy must admit CloudWatch Logs. */
  readonly flowLogKmsKeyArn: pulumi.Input<string>;
  /** Days the flow-log group keeps records (a CloudWatch Logs retention value). */
  readonly flowLogRetentionDays: number;
}

/**
 * The VPC: public, private and database subnets in every AZ, NAT per the environment's policy,
 * an S3 gateway endpoint so that backups never cross the NAT, a default security group that
 * allows nothing, and flow logs of all traffic, encrypted, to CloudWatch Logs.
 */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateSubnetIds: pulumi.Output<string>[];
  readonly databaseSubnetIds: pulumi.Output<string>[];
  /** Public addresses the VPC egresses from: what third parties (RPC providers) allow-list. */
  readonly natPublicIps: pulumi.Output<string>[];
  readonly privateRouteTableIds: pulumi.Output<string>[];
  readonly flowLogGroupName: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:network:Network", name, {}, opts);
    const zones = args.availabilityZones;
    if (zones.length < 2) {
      throw new pulumi.ResourceError(
        `availabilityZones: got ${zones.length}, need at least 2 (database subnet groups span two AZs)`,
        this,
      );
    }
    if (new Set(zones).size !== zones.length) {
      throw new pulumi.ResourceError(`availabilityZones: ${zones.join(", ")} repeats a zone`, this);
    }
    let plan;
    try {
      plan = planSubnets(args.cidrBlock, zones.length);
    } catch (error) {
      throw new pulumi.ResourceError(`cidrBlock: ${(error as Error).message}`, this);
    }
    const partition = args.partition ?? "aws";
    const natPolicy = args.natGateways ?? "one-per-az";
    const child = { parent: this };
    const nameTag = (suffix: string) => ({ Name: `${args.namePrefix}-${suffix}` });

    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      { cidrBlock: args.cidrBlock, enableDnsHostnames: true, enableDnsSupport: true, tags: nameTag("vpc") },
      child,
    );
    this.vpcId = vpc.id;

    // Takes over the VPC's default security group and strips every rule from it (CKV2_AWS_12),
    // so nothing that forgets to name a group ends up with open intra-VPC traffic.
    new aws.ec2.DefaultSecurityGroup(
      `${name}-default-sg`,
      { vpcId: vpc.id, ingress: [], egress: [], tags: nameTag("default-deny") },
      child,
    );

    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: nameTag("igw") }, child);

    const publicRouteTable = new aws.ec2.RouteTable(
      `${name}-public-rt`,
      { vpcId: vpc.id, tags: nameTag("public") },
      child,
    );
    new aws.ec2.Route(
      `${name}-public-default`,
      { routeTableId: publicRouteTable.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
      child,
    );

    const publicSubnets = zones.map((zone, index) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-public-${zone}`,
        {
          vpcId: vpc.id,
          availabilityZone: zone,
          cidrBlock: plan.public[index],
          // Nothing launched here gets a public address by accident; load balancers and NAT
          // gateways bring their own.
          mapPublicIpOnLaunch: false,
          tags: { ...nameTag(`public-${zone}`), tier: "public", "kubernetes.io/role/elb": "1" },
        },
        child,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-public-${zone}`,
        { subnetId: subnet.id, routeTableId: publicRouteTable.id },
        child,
      );
      return subnet;
    });
    this.publicSubnetIds = publicSubnets.map((subnet) => subnet.id);

    const natZones = natPolicy === "single" ? zones.slice(0, 1) : zones;
    const natGateways = natZones.map((zone, index) => {
      const eip = new aws.ec2.Eip(`${name}-nat-${zone}`, { domain: "vpc", tags: nameTag(`nat-${zone}`) }, child);
      return new aws.ec2.NatGateway(
        `${name}-nat-${zone}`,
        {
          allocationId: eip.id,
          subnetId: (publicSubnets[index] as aws.ec2.Subnet).id,
          connectivityType: "public",
          tags: nameTag(`nat-${zone}`),
        },
        { ...child, dependsOn: [igw] },
      );
    });
    this.natPublicIps = natGateways.map((nat) => nat.publicIp);

    const privateRouteTables = zones.map((zone, index) => {
      const table = new aws.ec2.RouteTable(
        `${name}-private-rt-${zone}`,
        { vpcId: vpc.id, tags: nameTag(`private-${zone}`) },
        child,
      );
      const nat = natGateways[natPolicy === "single" ? 0 : index] as aws.ec2.NatGateway;
      new aws.ec2.Route(
        `${name}-private-default-${zone}`,
        { routeTableId: table.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id },
        child,
      );
      return table;
    });
    this.privateRouteTableIds = privateRouteTables.map((table) => table.id);

    const privateSubnets = zones.map((zone, index) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-private-${zone}`,
        {
          vpcId: vpc.id,
          availabilityZone: zone,
          cidrBlock: plan.private[index],
          mapPublicIpOnLaunch: false,
          tags: { ...nameTag(`private-${zone}`), tier: "private", "kubernetes.io/role/internal-elb": "1" },
        },
        child,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-private-${zone}`,
        { subnetId: subnet.id, routeTableId: (privateRouteTables[index] as aws.ec2.RouteTable).id },
        child,
      );
      return subnet;
    });
    this.privateSubnetIds = privateSubnets.map((subnet) => subnet.id);

    // The database tier has a route table with no default route: data stores can answer the
    // cluster but can never open a connection out of the VPC.
    const databaseRouteTable = new aws.ec2.RouteTable(
      `${name}-database-rt`,
      { vpcId: vpc.id, tags: nameTag("database") },
      child,
    );
    const databaseSubnets = zones.map((zone, index) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-database-${zone}`,
        {
          vpcId: vpc.id,
          availabilityZone: zone,
          cidrBlock: plan.database[index],
          mapPublicIpOnLaunch: false,
          tags: { ...nameTag(`database-${zone}`), tier: "database" },
        },
        child,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-database-${zone}`,
        { subnetId: subnet.id, routeTableId: databaseRouteTable.id },
        child,
      );
      return subnet;
    });
    this.databaseSubnetIds = databaseSubnets.map((subnet) => subnet.id);

    new aws.ec2.VpcEndpoint(
      `${name}-s3`,
      {
        vpcId: vpc.id,
        serviceName: `com.amazonaws.${args.region}.s3`,
        vpcEndpointType: "Gateway",
        routeTableIds: [...privateRouteTables.map((table) => table.id), databaseRouteTable.id],
        tags: nameTag("s3"),
      },
      child,
    );

    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-flow-logs`,
      {
        name: `/${args.namePrefix}/vpc-flow-logs`,
        retentionInDays: args.flowLogRetentionDays,
        kmsKeyId: args.flowLogKmsKeyArn,
      },
      child,
    );
    this.flowLogGroupName = logGroup.name;
    const role = new aws.iam.Role(
      `${name}-flow-logs`,
      {
        description: `Delivers ${args.namePrefix} VPC flow logs to CloudWatch Logs`,
        assumeRolePolicy: JSON.stringify(flowLogsAssumeRolePolicy(args.accountId, partition, args.region)),
      },
      child,
    );
    new aws.iam.RolePolicy(
      `${name}-flow-logs`,
      { role: role.id, policy: logGroup.arn.apply((arn) => JSON.stringify(flowLogsDeliveryPolicy(arn))) },
      child,
    );
    new aws.ec2.FlowLog(
      `${name}-flow-log`,
      {
        vpcId: vpc.id,
        trafficType: "ALL",
        logDestinationType: "cloud-watch-logs",
        logDestination: logGroup.arn,
        iamRoleArn: role.arn,
        maxAggregationInterval: 60,
        tags: nameTag("flow-log"),
      },
      child,
    );

    this.registerOutputs({
      vpcId: this.vpcId,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
      databaseSubnetIds: this.databaseSubnetIds,
      natPublicIps: this.natPublicIps,
      flowLogGroupName: this.flowLogGroupName,
    });
  }
}
