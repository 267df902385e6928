import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceAccountRef } from "../../names";
import { irsaTrustPolicy } from "./irsa";

export interface WorkloadRoleArgs {
  /** Physical role name, e.g. `paimon-staging-rebalance-worker`. */
  readonly roleName: string;
  /** What the workload is, for the role's description. */
  readonly description: string;
  /** The cluster's IAM OIDC provider. */
  readonly oidcProviderArn: pulumi.Input<string>;
  /** The cluster's OIDC issuer without `https://`. */
  readonly oidcIssuer: pulumi.Input<string>;
  /** The one service account that may assume the role. */
  readonly serviceAccount: ServiceAccountRef;
  /**
   * The role's inline policy. Leave it out only when the policy names a resource that needs this
   * role first (the signing key names its signer), and call `grant` once that resource exists.
   */
  readonly policy?: pulumi.Input<aws.iam.PolicyDocument>;
  /** AWS-managed policies to attach, by ARN (for components whose vendor publishes one). @default [] */
  readonly managedPolicyArns?: readonly pulumi.Input<string>[];
}

/**
 * An IAM role for one Kubernetes service account (IRSA): least privilege, one role per
 * workload, assumable by nothing else.
 */
export class WorkloadRole extends pulumi.ComponentResource {
  readonly roleArn: pulumi.Output<string>;
  readonly roleName: pulumi.Output<string>;
  readonly serviceAccount: ServiceAccountRef;
  private readonly role: aws.iam.Role;
  private readonly logicalName: string;

  constructor(name: string, args: WorkloadRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:iam:WorkloadRole", name, {}, opts);
    this.logicalName = name;
    const child = { parent: this };
    const role = new aws.iam.Role(
      `${name}-role`,
      {
        name: args.roleName,
        description: args.description,
        maxSessionDuration: 3600,
        assumeRolePolicy: pulumi
          .all([args.oidcProviderArn, args.oidcIssuer])
          .apply(([arn, issuer]) => JSON.stringify(irsaTrustPolicy(arn, issuer, args.serviceAccount))),
      },
      child,
    );
    this.role = role;
    if (args.policy) this.grant(args.policy);
    (args.managedPolicyArns ?? []).forEach((policyArn, index) => {
      new aws.iam.RolePolicyAttachment(`${name}-managed-${index}`, { role: role.name, policyArn }, child);
    });
    this.roleArn = role.arn;
    this.roleName = role.name;
    this.serviceAccount = args.serviceAccount;
    this.registerOutputs({ roleArn: this.roleArn });
  }

  /** Attaches the role's inline policy (once: a role has one inline policy here). */
  grant(policy: pulumi.Input<aws.iam.PolicyDocument>): aws.iam.RolePolicy {
    return new aws.iam.RolePolicy(
      `${this.logicalName}-policy`,
      { role: this.role.id, policy: pulumi.output(policy).apply((document) => JSON.stringify(document)) },
      { parent: this },
    );
  }
}
