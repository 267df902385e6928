import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface OriginRecordArgs {
  /** The public hosted zone of the host. */
  readonly zoneId: pulumi.Input<string>;
  /** The origin host CloudFront calls and the ingress serves, e.g. `origin-api.paimon.fund`. */
  readonly host: string;
  /**
   * The load balancer's name, as the ingress controller's Service asks the AWS Load Balancer
   * Controller for it (`service.beta.kubernetes.io/aws-load-balancer-name`).
   */
  readonly loadBalancerName: string;
  /** What makes the load balancer: its lookup waits for these (the ingress controller's release). */
  readonly loadBalancerCreatedBy: readonly pulumi.Resource[];
}

/**
 * The origin host's DNS record: an alias to the network load balancer that the AWS Load Balancer
 * Controller creates for ingress-nginx. The load balancer is not a Pulumi resource, so it is found
 * by its configured name once the release that makes it is up; CloudFront's origin and
 * cert-manager's certificate both name this host.
 */
export class OriginRecord extends pulumi.ComponentResource {
  readonly fqdn: pulumi.Output<string>;
  /** The load balancer's own DNS name, for operators checking the origin directly. */
  readonly loadBalancerDnsName: pulumi.Output<string>;

  constructor(name: string, args: OriginRecordArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:edge:OriginRecord", name, {}, opts);
    if (
      args.loadBalancerName.length > 32 ||
      !/^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(args.loadBalancerName)
    ) {
      throw new pulumi.ResourceError(
        `loadBalancerName: "${args.loadBalancerName}" must be at most 32 letters, digits and inner hyphens (an ELB name)`,
        this,
      );
    }
    const loadBalancer = aws.lb.getLoadBalancerOutput(
      { name: args.loadBalancerName },
      { parent: this, dependsOn: [...args.loadBalancerCreatedBy] },
    );
    const record = new aws.route53.Record(
      `${name}-a`,
      {
        zoneId: args.zoneId,
        name: args.host,
        type: "A",
        aliases: [{ name: loadBalancer.dnsName, zoneId: loadBalancer.zoneId, evaluateTargetHealth: true }],
      },
      { parent: this },
    );
    this.fqdn = record.fqdn;
    this.loadBalancerDnsName = loadBalancer.dnsName;
    this.registerOutputs({ fqdn: this.fqdn });
  }
}
