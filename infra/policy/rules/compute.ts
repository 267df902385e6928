import { get, isTrue, resourceRule, text } from "../rule";

const CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"];

export const computeRules = [
  resourceRule({
    name: "CKV_AWS_58-eks-secrets-encrypted",
    description: "EKS envelope-encrypts Kubernetes secrets with a KMS key.",
    enforcement: "mandatory",
    types: ["aws:eks/cluster:Cluster"],
    check: ({ props }) => {
      const resources = (get(props, "encryptionConfig", "resources") as string[] | undefined) ?? [];
      const key = get(props, "encryptionConfig", "provider", "keyArn");
      return resources.includes("secrets") && typeof key === "string" && key !== ""
        ? undefined
        : "secrets are not envelope-encrypted";
    },
  }),
  resourceRule({
    name: "CKV_AWS_37-eks-control-plane-logging",
    description: "Every EKS control-plane log type is enabled.",
    enforcement: "mandatory",
    types: ["aws:eks/cluster:Cluster"],
    check: ({ props }) => {
      const enabled = (props["enabledClusterLogTypes"] as string[] | undefined) ?? [];
      const missing = CONTROL_PLANE_LOGS.filter((type) => !enabled.includes(type));
      return missing.length > 0 ? `control-plane logs off: ${missing.join(", ")}` : undefined;
    },
  }),
  resourceRule({
    name: "paimon-eks-deletion-protection",
    description: "A production cluster refuses deletion.",
    enforcement: "mandatory",
    productionOnly: true,
    types: ["aws:eks/cluster:Cluster"],
    check: ({ props }) => (props["deletionProtection"] === true ? undefined : "deletionProtection is off"),
  }),
  resourceRule({
    name: "CKV_AWS_79-imdsv2-required",
    description: "Instances launched from a template accept only IMDSv2 (session tokens).",
    enforcement: "mandatory",
    types: ["aws:ec2/launchTemplate:LaunchTemplate"],
    check: ({ props }) =>
      get(props, "metadataOptions", "httpTokens") === "required"
        ? undefined
        : "metadataOptions.httpTokens is not required",
  }),
  resourceRule({
    name: "CKV_AWS_341-imds-hop-limit-one",
    description: "Pods cannot reach the node's metadata service (hop limit 1); they use IRSA.",
    enforcement: "advisory",
    types: ["aws:ec2/launchTemplate:LaunchTemplate"],
    check: ({ props }) => {
      const limit = get(props, "metadataOptions", "httpPutResponseHopLimit");
      return typeof limit === "number" && limit <= 1
        ? undefined
        : `httpPutResponseHopLimit is ${limit === undefined ? "unset (2 on EKS AMIs)" : text(limit)}`;
    },
  }),
  resourceRule({
    name: "CKV_AWS_8-launch-template-volumes-encrypted",
    description: "Every volume of a launch template is encrypted.",
    enforcement: "mandatory",
    types: ["aws:ec2/launchTemplate:LaunchTemplate"],
    check: ({ props }) => {
      const mappings = (props["blockDeviceMappings"] as Record<string, unknown>[] | undefined) ?? [];
      if (mappings.length === 0) return "no block device mapping: the root volume falls back to the AMI's, unencrypted";
      return mappings
        .filter((mapping) => !isTrue(get(mapping, "ebs", "encrypted")))
        .map((mapping) => `${text(mapping["deviceName"])} is not encrypted`);
    },
  }),
  resourceRule({
    name: "paimon-eks-node-group-launch-template",
    description: "Managed node groups use a launch template, so IMDSv2 and volume encryption apply to them.",
    enforcement: "mandatory",
    types: ["aws:eks/nodeGroup:NodeGroup"],
    check: ({ props }) =>
      get(props, "launchTemplate", "id") || get(props, "launchTemplate", "name") ? undefined : "no launch template",
  }),
];
