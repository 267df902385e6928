import { attachedTo, get, resourceRule, stackRule, text } from "../rule";

const DISTRIBUTION = "aws:cloudfront/distribution:Distribution";
const WEB_ACL = "aws:wafv2/webAcl:WebAcl";
const behaviours = (props: Record<string, unknown>) => [
  props["defaultCacheBehavior"],
  ...((props["orderedCacheBehaviors"] as unknown[] | undefined) ?? []),
];
const ruleStatements = (props: Record<string, unknown>) =>
  ((props["rules"] as Record<string, unknown>[] | undefined) ?? []).map((rule) => rule["statement"]);

export const edgeRules = [
  resourceRule({
    name: "CKV_AWS_174-cloudfront-tls12",
    description: "CloudFront serves its own certificate with TLS 1.2 or newer.",
    enforcement: "mandatory",
    types: [DISTRIBUTION],
    check: ({ props }) => {
      if (get(props, "viewerCertificate", "cloudfrontDefaultCertificate") === true)
        return "uses the default certificate (TLS 1.0)";
      const version = text(get(props, "viewerCertificate", "minimumProtocolVersion"));
      return /^TLSv1\.2_20(19|21)$|^TLSv1\.3/.test(version)
        ? undefined
        : `minimumProtocolVersion is ${version || "unset"}`;
    },
  }),
  resourceRule({
    name: "CKV_AWS_34-cloudfront-https-only",
    description: "No CloudFront behaviour serves plain HTTP.",
    enforcement: "mandatory",
    types: [DISTRIBUTION],
    check: ({ props }) =>
      behaviours(props)
        .filter((behaviour) => get(behaviour, "viewerProtocolPolicy") === "allow-all")
        .map((behaviour) => `behaviour for ${text(get(behaviour, "pathPattern") ?? "*")} allows HTTP`),
  }),
  resourceRule({
    name: "CKV_AWS_68-cloudfront-waf",
    description: "CloudFront is fronted by a WAF web ACL.",
    enforcement: "mandatory",
    types: [DISTRIBUTION],
    check: ({ props }) => (props["webAclId"] ? undefined : "no webAclId"),
  }),
  resourceRule({
    name: "paimon-cloudfront-origin-tls12",
    description: "CloudFront reaches its origins over HTTPS with TLS 1.2 only.",
    enforcement: "mandatory",
    types: [DISTRIBUTION],
    check: ({ props }) =>
      ((props["origins"] as Record<string, unknown>[] | undefined) ?? []).flatMap((origin) => {
        const policy = get(origin, "customOriginConfig", "originProtocolPolicy");
        if (policy === undefined) return [];
        const protocols = (get(origin, "customOriginConfig", "originSslProtocols") as string[] | undefined) ?? [];
        return [
          ...(policy === "https-only" ? [] : [`origin ${text(origin["originId"])} allows ${text(policy)}`]),
          ...protocols.filter((p) => p !== "TLSv1.2").map((p) => `origin ${text(origin["originId"])} allows ${p}`),
        ];
      }),
  }),
  resourceRule({
    name: "CKV_AWS_192-waf-known-bad-inputs",
    description: "Web ACLs include AWS's known-bad-inputs group (Log4j and friends).",
    enforcement: "mandatory",
    types: [WEB_ACL],
    check: ({ props }) =>
      ruleStatements(props).some(
        (s) => get(s, "managedRuleGroupStatement", "name") === "AWSManagedRulesKnownBadInputsRuleSet",
      )
        ? undefined
        : "AWSManagedRulesKnownBadInputsRuleSet is missing",
  }),
  resourceRule({
    name: "paimon-waf-rate-limit",
    description: "Web ACLs rate-limit each client IP.",
    enforcement: "mandatory",
    types: [WEB_ACL],
    check: ({ props }) =>
      ruleStatements(props).some((s) => get(s, "rateBasedStatement") !== undefined) ? undefined : "no rate-based rule",
  }),
  stackRule({
    name: "CKV2_AWS_31-waf-logging",
    description: "Every web ACL logs its decisions.",
    enforcement: "advisory",
    check: (resources) =>
      resources
        .filter((resource) => resource.type === WEB_ACL)
        .filter(
          (acl) =>
            attachedTo(resources, acl, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "resourceArn")
              .length === 0,
        )
        .map((acl) => ({ message: `web ACL ${acl.name} has no logging configuration`, urn: acl.urn })),
  }),
  resourceRule({
    name: "CKV_AWS_158-log-group-kms",
    description: "Log groups are encrypted with the platform's KMS key.",
    enforcement: "advisory",
    types: ["aws:cloudwatch/logGroup:LogGroup"],
    exemptions: {
      "edge-waf-logs":
        "lives in us-east-1 with CloudFront's WAF, out of reach of the regional data key; CloudWatch encrypts it at rest",
    },
    check: ({ props }) => (props["kmsKeyId"] ? undefined : "no kmsKeyId"),
  }),
  resourceRule({
    name: "CKV_AWS_338-log-retention",
    description: "Production log groups keep a year; staging at least a week.",
    enforcement: "advisory",
    types: ["aws:cloudwatch/logGroup:LogGroup"],
    check: ({ props, config }) => {
      const minimum = config.environment === "production" ? 365 : 7;
      const days = Number(props["retentionInDays"] ?? 0);
      return days === 0 || days >= minimum ? undefined : `retentionInDays ${days} < ${minimum}`;
    },
  }),
];
