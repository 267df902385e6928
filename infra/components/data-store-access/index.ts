import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface DataStoreAccessArgs {
  readonly description: string;
  readonly vpcId: pulumi.Input<string>;
  /** The one port the store listens on. */
  readonly port: number;
  /** The only security group whose members may connect (the cluster's nodes). */
  readonly clientSecurityGroupId: pulumi.Input<string>;
}

/**
 * The security group of a data store: one ingress rule, from the cluster's nodes on the
 * store's port, and no egress at all — a database answers connections, it never opens any.
 */
export class DataStoreAccess extends pulumi.ComponentResource {
  readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: DataStoreAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:network:DataStoreAccess", name, {}, opts);
    const child = { parent: this };
    const group = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      // Inline rule lists are left empty and managed by the rule resources below; an empty
      // egress list removes the allow-all rule AWS adds to every new group.
      { vpcId: args.vpcId, description: args.description, egress: [], revokeRulesOnDelete: true },
      child,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-from-cluster`,
      {
        securityGroupId: group.id,
        description: `port ${args.port} from the cluster's nodes`,
        ipProtocol: "tcp",
        fromPort: args.port,
        toPort: args.port,
        referencedSecurityGroupId: args.clientSecurityGroupId,
      },
      child,
    );
    this.securityGroupId = group.id;
    this.registerOutputs({ securityGroupId: this.securityGroupId });
  }
}
