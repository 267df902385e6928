import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** CloudFront and its WAF are global: their certificate and web ACL live in us-east-1. */
const GLOBAL_REGION = "us-east-1";
/** The header CloudFront adds to every origin request; the ingress refuses requests without it. */
export const ORIGIN_VERIFY_HEADER = "X-Origin-Verify";
/** AWS-managed CloudFront policies: an API is never cached, and sees the viewer's headers. */
const CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const ALL_VIEWER_EXCEPT_HOST_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac";
/** AWS managed rule groups every public endpoint gets (CKV_AWS_192 wants KnownBadInputs: Log4j). */
export const MANAGED_RULE_GROUPS = [
  "AWSManagedRulesCommonRuleSet",
  "AWSManagedRulesKnownBadInputsRuleSet",
  "AWSManagedRulesAmazonIpReputationList",
] as const;

export interface EdgeArgs {
  /** Physical name prefix, e.g. `paimon-production`. */
  readonly namePrefix: string;
  /** The public hosted zone holding the records. */
  readonly zoneName: string;
  /** The API's public host, served by CloudFront. */
  readonly apiDomain: string;
  /** The load balancer's host, which only CloudFront calls. */
  readonly originDomain: string;
  readonly vpcId: pulumi.Input<string>;
  /** The VPC's range: the load balancer forwards only into it. */
  readonly vpcCidr: string;
  /** Requests one IP may make per 5 minutes before WAF blocks it. */
  readonly rateLimitPer5Minutes: number;
  readonly priceClass: string;
  /** Days WAF logs are kept. @default 90 */
  readonly wafLogRetentionDays?: number;
}

/**
 * The edge of §1.1: Route 53 → CloudFront (HTTPS only, TLS 1.2+, never caching the API) with an
 * AWS WAF web ACL (managed common, known-bad-inputs and IP-reputation groups, and a per-IP rate
 * limit) → the load balancer. The origin is reachable only through CloudFront: its security group
 * admits only CloudFront's origin-facing ranges, and CloudFront adds a secret header the ingress
 * checks.
 */
export class Edge extends pulumi.ComponentResource {
  readonly distributionDomainName: pulumi.Output<string>;
  readonly webAclArn: pulumi.Output<string>;
  /** For the load balancer's service annotation: admits CloudFront only. */
  readonly originSecurityGroupId: pulumi.Output<string>;
  /** The public hosted zone holding the API's and the origin's records. */
  readonly zoneId: pulumi.Output<string>;
  /** The header value CloudFront sends and the ingress requires, secret. */
  readonly originVerifySecret: pulumi.Output<string>;

  constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:edge:Edge", name, {}, opts);
    for (const [field, host] of [
      ["apiDomain", args.apiDomain],
      ["originDomain", args.originDomain],
    ] as const) {
      if (!host.endsWith(`.${args.zoneName}`)) {
        throw new pulumi.ResourceError(`${field}: ${host} is not inside the zone ${args.zoneName}`, this);
      }
    }
    const child = { parent: this };
    const zone = aws.route53.getZoneOutput({ name: args.zoneName, privateZone: false }, { parent: this });
    this.zoneId = zone.zoneId;

    // CloudFront's certificate. The origin's comes from cert-manager (DNS-01 in this zone), on the
    // ingress controller that terminates TLS behind a pass-through load balancer.
    const certificate = (suffix: string, domainName: string, region: string) => {
      const cert = new aws.acm.Certificate(
        `${name}-${suffix}`,
        { domainName, validationMethod: "DNS", keyAlgorithm: "EC_prime256v1", region },
        child,
      );
      const option = cert.domainValidationOptions.apply((options) => options[0]);
      const record = new aws.route53.Record(
        `${name}-${suffix}-validation`,
        {
          zoneId: zone.zoneId,
          name: option.apply((o) => o?.resourceRecordName ?? ""),
          type: option.apply((o) => o?.resourceRecordType ?? "CNAME"),
          records: [option.apply((o) => o?.resourceRecordValue ?? "")],
          ttl: 300,
          allowOverwrite: true,
        },
        child,
      );
      return new aws.acm.CertificateValidation(
        `${name}-${suffix}`,
        { certificateArn: cert.arn, validationRecordFqdns: [record.fqdn], region },
        child,
      );
    };
    const apiCertificate = certificate("api-cert", args.apiDomain, GLOBAL_REGION);

    const visibility = (metricName: string) => ({
      cloudwatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName,
    });
    const webAcl = new aws.wafv2.WebAcl(
      `${name}-waf`,
      {
        name: `${args.namePrefix}-api`,
        description: `${args.apiDomain}: AWS managed protections and a per-IP rate limit`,
        scope: "CLOUDFRONT",
        region: GLOBAL_REGION,
        defaultAction: { allow: {} },
        rules: [
          {
            name: "rate-limit-per-ip",
            priority: 0,
            action: { block: {} },
            statement: {
              rateBasedStatement: {
                limit: args.rateLimitPer5Minutes,
                aggregateKeyType: "IP",
                evaluationWindowSec: 300,
              },
            },
            visibilityConfig: visibility("rate-limit-per-ip"),
          },
          ...MANAGED_RULE_GROUPS.map((group, index) => ({
            name: group,
            priority: 10 * (index + 1),
            overrideAction: { none: {} },
            statement: { managedRuleGroupStatement: { vendorName: "AWS", name: group } },
            visibilityConfig: visibility(group),
          })),
        ],
        visibilityConfig: visibility(`${args.namePrefix}-api`),
      },
      child,
    );
    this.webAclArn = webAcl.arn;
    // WAF only delivers to log groups whose names start with `aws-waf-logs-`. The group lives in
    // us-east-1, out of reach of the regional data key, so CloudWatch's own encryption at rest
    // covers it (the policy pack's log-group-kms rule is advisory for this reason).
    const wafLogs = new aws.cloudwatch.LogGroup(
      `${name}-waf-logs`,
      {
        name: `aws-waf-logs-${args.namePrefix}-api`,
        region: GLOBAL_REGION,
        retentionInDays: args.wafLogRetentionDays ?? 90,
      },
      child,
    );
    new aws.wafv2.WebAclLoggingConfiguration(
      `${name}-waf-logs`,
      {
        region: GLOBAL_REGION,
        resourceArn: webAcl.arn,
        logDestinationConfigs: [wafLogs.arn],
        redactedFields: [{ singleHeader: { name: "authorization" } }, { singleHeader: { name: "cookie" } }],
      },
      child,
    );

    const originSecret = new random.RandomPassword(`${name}-origin-verify`, { length: 48, special: false }, child);
    this.originVerifySecret = pulumi.secret(originSecret.result);

    const distribution = new aws.cloudfront.Distribution(
      `${name}-cdn`,
      {
        enabled: true,
        comment: `${args.apiDomain} → ${args.originDomain}`,
        aliases: [args.apiDomain],
        httpVersion: "http2and3",
        isIpv6Enabled: true,
        priceClass: args.priceClass,
        webAclId: webAcl.arn,
        origins: [
          {
            originId: "api",
            domainName: args.originDomain,
            customOriginConfig: {
              httpPort: 80,
              httpsPort: 443,
              originProtocolPolicy: "https-only",
              originSslProtocols: ["TLSv1.2"],
              originReadTimeout: 30,
              originKeepaliveTimeout: 5,
            },
            customHeaders: [{ name: ORIGIN_VERIFY_HEADER, value: this.originVerifySecret }],
          },
        ],
        defaultCacheBehavior: {
          targetOriginId: "api",
          viewerProtocolPolicy: "https-only",
          allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
          cachedMethods: ["GET", "HEAD"],
          cachePolicyId: CACHING_DISABLED_POLICY_ID,
          originRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_POLICY_ID,
          compress: true,
        },
        viewerCertificate: {
          acmCertificateArn: apiCertificate.certificateArn,
          sslSupportMethod: "sni-only",
          minimumProtocolVersion: "TLSv1.2_2021",
        },
        restrictions: { geoRestriction: { restrictionType: "none" } },
      },
      child,
    );
    this.distributionDomainName = distribution.domainName;
    for (const type of ["A", "AAAA"]) {
      new aws.route53.Record(
        `${name}-api-${type.toLowerCase()}`,
        {
          zoneId: zone.zoneId,
          name: args.apiDomain,
          type,
          aliases: [{ name: distribution.domainName, zoneId: distribution.hostedZoneId, evaluateTargetHealth: false }],
        },
        child,
      );
    }

    const cloudFrontRanges = aws.ec2.getManagedPrefixListOutput(
      { name: "com.amazonaws.global.cloudfront.origin-facing" },
      { parent: this },
    );
    const originGroup = new aws.ec2.SecurityGroup(
      `${name}-origin-sg`,
      {
        vpcId: args.vpcId,
        description: `${args.originDomain}: HTTPS from CloudFront only`,
        egress: [],
        revokeRulesOnDelete: true,
      },
      child,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-origin-from-cloudfront`,
      {
        securityGroupId: originGroup.id,
        description: "HTTPS from CloudFront's origin-facing ranges",
        ipProtocol: "tcp",
        fromPort: 443,
        toPort: 443,
        prefixListId: cloudFrontRanges.id,
      },
      child,
    );
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-origin-to-vpc`,
      {
        securityGroupId: originGroup.id,
        description: "to the ingress controller's pods, inside the VPC",
        ipProtocol: "tcp",
        fromPort: 0,
        toPort: 65535,
        cidrIpv4: args.vpcCidr,
      },
      child,
    );
    this.originSecurityGroupId = originGroup.id;

    this.registerOutputs({
      zoneId: this.zoneId,
      distributionDomainName: this.distributionDomainName,
      webAclArn: this.webAclArn,
      originSecurityGroupId: this.originSecurityGroupId,
    });
  }
}
