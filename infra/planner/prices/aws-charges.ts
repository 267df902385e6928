import { at, count, fixed, list, plural, record, text, usage, type Estimator } from "./charges";

/** Charges of the AWS resources the platform uses, by Pulumi type. Unlisted types bill nothing (roles, routes…). */

/** The CloudFront edge group whose rate stands for a stack's viewers: those near its region. */
const EDGE_GROUP: Readonly<Record<string, string>> = {
  "ap-southeast-1": "asia-pacific",
  "ap-northeast-1": "japan",
};

const NOT_IN_PLAN = "not in the plan";

export const AWS_CHARGES: Readonly<Record<string, Estimator>> = {
  "aws:eks/cluster:Cluster": (_resource, context, region) => [
    fixed(
      {
        part: "control-plane",
        category: "EKS control plane",
        item: "eks.cluster",
        region,
        detail: "1 cluster, standard support",
      },
      context.hoursPerMonth,
      NOT_IN_PLAN,
    ),
  ],

  "aws:eks/nodeGroup:NodeGroup": (resource, context, region) => {
    const inputs = resource.inputs;
    const scaling = record(inputs["scalingConfig"]);
    const desired = count(scaling?.["desiredSize"]);
    const template = context.resolve(record(inputs["launchTemplate"])?.["id"], "aws:ec2/launchTemplate:LaunchTemplate");
    const type = text(list(inputs["instanceTypes"])[0]) ?? text(template?.inputs["instanceType"]);
    const spot = text(inputs["capacityType"]) === "SPOT";
    const range = `desired size; scales ${count(scaling?.["minSize"]) ?? "?"}–${count(scaling?.["maxSize"]) ?? "?"}`;
    const root = record(record(list(template?.inputs["blockDeviceMappings"])[0])?.["ebs"]);
    // Without a launch template, EKS sizes the root volume from `diskSize`.
    const rootSize = template ? count(root?.["volumeSize"]) : count(inputs["diskSize"]);
    const rootType = text(root?.["volumeType"]);
    return [
      fixed(
        {
          part: "instances",
          category: "Node groups",
          item: `ec2.instance${spot ? "-spot" : ""}:${type ?? "unknown"}`,
          region,
          detail: `${desired ?? "?"} × ${type ?? "?"}${spot ? " spot" : ""} (${range})`,
        },
        desired !== undefined && type !== undefined ? desired * context.hoursPerMonth : undefined,
        "instance type or desired size not in the plan",
      ),
      fixed(
        {
          part: "root-volumes",
          category: "EBS volumes",
          item: `ebs.volume:${rootType ?? "unknown"}`,
          region,
          detail: `node root volumes: ${desired ?? "?"} × ${rootSize ?? "?"} GB ${rootType ?? ""}`.trimEnd(),
        },
        desired !== undefined && rootSize !== undefined && rootType ? desired * rootSize : undefined,
        "root volume size or type not in the plan",
      ),
    ];
  },

  "aws:ec2/instance:Instance": (resource, context, region) => {
    const type = text(resource.inputs["instanceType"]);
    const root = record(resource.inputs["rootBlockDevice"]);
    const rootSize = count(root?.["volumeSize"]);
    const rootType = text(root?.["volumeType"]);
    return [
      fixed(
        {
          part: "instance",
          category: "EC2 instances",
          item: `ec2.instance:${type ?? "unknown"}`,
          region,
          detail: `1 × ${type ?? "?"}`,
        },
        type ? context.hoursPerMonth : undefined,
        "instance type not in the plan",
      ),
      fixed(
        {
          part: "root-volume",
          category: "EBS volumes",
          item: `ebs.volume:${rootType ?? "unknown"}`,
          region,
          detail: `root volume: ${rootSize ?? "?"} GB ${rootType ?? ""}`.trimEnd(),
        },
        rootType ? rootSize : undefined,
        "root volume size or type not in the plan",
      ),
    ];
  },

  "aws:ebs/volume:Volume": (resource, _context, region) => {
    const size = count(resource.inputs["size"]);
    const type = text(resource.inputs["type"]);
    return [
      fixed(
        {
          part: "volume",
          category: "EBS volumes",
          item: `ebs.volume:${type ?? "unknown"}`,
          region,
          detail: `${size ?? "?"} GB ${type ?? ""}`.trimEnd(),
        },
        type ? size : undefined,
        "size or type not in the plan",
      ),
    ];
  },

  "aws:ec2/natGateway:NatGateway": (_resource, context, region) => [
    fixed(
      { part: "hours", category: "NAT gateways", item: "nat.hour", region, detail: "1 gateway" },
      context.hoursPerMonth,
      NOT_IN_PLAN,
    ),
    usage({ part: "data", category: "NAT gateways", item: "nat.data", region, detail: "GB processed" }),
  ],

  // An Elastic IP costs the same attached or idle.
  "aws:ec2/eip:Eip": (_resource, context, region) => [
    fixed(
      { part: "address", category: "Public IPv4", item: "ipv4.address", region, detail: "1 address" },
      context.hoursPerMonth,
      NOT_IN_PLAN,
    ),
  ],

  "aws:ec2/vpcEndpoint:VpcEndpoint": (resource, context, region) => {
    const type = text(resource.inputs["vpcEndpointType"]) ?? "Gateway";
    // Gateway endpoints (S3, DynamoDB) are free.
    if (type === "Gateway") return [];
    const zones = list(resource.inputs["subnetIds"]).length;
    return [
      fixed(
        {
          part: "hours",
          category: "VPC endpoints",
          item: `vpc.endpoint:${type.toLowerCase()}`,
          region,
          detail: `${type} endpoint in ${plural(zones, "subnet")}`,
        },
        zones > 0 ? zones * context.hoursPerMonth : undefined,
        "its subnets are not in the plan",
      ),
    ];
  },

  "aws:lb/loadBalancer:LoadBalancer": (resource, context, region) => {
    const type = text(resource.inputs["loadBalancerType"]) ?? "application";
    return [
      fixed(
        {
          part: "hours",
          category: "Load balancers",
          item: `elb.${type}:hour`,
          region,
          detail: `1 ${type} load balancer`,
        },
        context.hoursPerMonth,
        NOT_IN_PLAN,
      ),
      usage({
        part: "capacity",
        category: "Load balancers",
        item: `elb.${type}:capacity-unit`,
        region,
        detail: "capacity units",
      }),
    ];
  },

  "aws:s3/bucket:Bucket": (_resource, _context, region) => [
    usage({ part: "storage", category: "S3", item: "s3.standard", region, detail: "GB stored (Standard)" }),
  ],

  "aws:kms/key:Key": (_resource, _context, region) => [
    fixed({ part: "key", category: "KMS keys", item: "kms.key", region, detail: "1 key" }, 1, NOT_IN_PLAN),
  ],

  "aws:secretsmanager/secret:Secret": (resource, _context, region) => {
    // Each replica region bills as a secret of its own.
    const copies = 1 + list(resource.inputs["replicas"]).length;
    return [
      fixed(
        {
          part: "secret",
          category: "Secrets Manager",
          item: "secretsmanager.secret",
          region,
          detail: plural(copies, "secret"),
        },
        copies,
        NOT_IN_PLAN,
      ),
    ];
  },

  "aws:cloudwatch/logGroup:LogGroup": (resource, _context, region) => {
    const infrequent = text(resource.inputs["logGroupClass"]) === "INFREQUENT_ACCESS" ? "-infrequent" : "";
    return [
      usage({
        part: "ingestion",
        category: "CloudWatch Logs",
        item: `logs.ingestion${infrequent}`,
        region,
        detail: "GB ingested",
      }),
      usage({ part: "storage", category: "CloudWatch Logs", item: "logs.storage", region, detail: "GB kept" }),
    ];
  },

  "aws:wafv2/webAcl:WebAcl": (resource, _context, region) => {
    // A CloudFront web ACL lives in us-east-1 but is billed at the global rates.
    const where = text(resource.inputs["scope"]) === "CLOUDFRONT" ? "global" : region;
    const rules = list(resource.inputs["rules"]);
    // Beyond the rule charge, these managed groups carry a subscription fee of their own.
    const paid = rules
      .map((rule) => text(at(rule, "statement.managedRuleGroupStatement.name")))
      .filter((name): name is string => name !== undefined && /BotControl|ATP|ACFP|AntiDDoS/.test(name));
    return [
      fixed(
        { part: "web-acl", category: "WAF", item: "waf.web-acl", region: where, detail: "1 web ACL" },
        1,
        NOT_IN_PLAN,
      ),
      fixed(
        {
          part: "rules",
          category: "WAF",
          item: "waf.rule",
          region: where,
          detail: `${plural(rules.length, "rule")} (a managed rule group counts as one)`,
        },
        rules.length,
        NOT_IN_PLAN,
      ),
      ...paid.map((name) =>
        fixed(
          {
            part: `subscription:${name}`,
            category: "WAF",
            item: `waf.managed-rule-group:${name.toLowerCase()}`,
            region: where,
            detail: `${name} subscription`,
          },
          1,
          NOT_IN_PLAN,
        ),
      ),
      usage({ part: "requests", category: "WAF", item: "waf.request", region: where, detail: "requests inspected" }),
    ];
  },

  "aws:cloudfront/distribution:Distribution": (_resource, _context, region) => {
    const edges = EDGE_GROUP[region ?? ""] ?? "unknown";
    return [
      usage({
        part: "transfer-out",
        category: "CloudFront",
        item: `cloudfront.transfer-out:${edges}`,
        region: "global",
        detail: `GB out to viewers, at the ${edges} edges' rate (viewers assumed near the stack's region)`,
      }),
      usage({
        part: "requests",
        category: "CloudFront",
        item: `cloudfront.request:${edges}`,
        region: "global",
        detail: "HTTPS requests",
      }),
    ];
  },

  "aws:route53/zone:Zone": () => [
    fixed(
      { part: "zone", category: "Route 53", item: "route53.zone", region: "global", detail: "1 hosted zone" },
      1,
      NOT_IN_PLAN,
    ),
  ],
};

/** Types billed like another. */
export const AWS_ALIASES: Readonly<Record<string, string>> = {
  "aws:s3/bucketV2:BucketV2": "aws:s3/bucket:Bucket",
  "aws:alb/loadBalancer:LoadBalancer": "aws:lb/loadBalancer:LoadBalancer",
};
