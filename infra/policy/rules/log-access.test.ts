import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../../planner/policy";
import type { RecordedResource } from "../../planner/record";
import { expectCase, manifest, resource, urnOf } from "../testing";
import { SECURITY_CONFIG_LABEL, logAccessRules } from "./log-access";

const [mapped] = logAccessRules as [(typeof logAccessRules)[number]];
const ROLE = "aws:iam/role:Role";
const DOMAIN_ARN = "arn:aws:es:ap-southeast-1:111111111111:domain/paimon-test-logs";
const arn = (name: string) => `arn:aws:iam::111111111111:role/${name}`;

const domain = resource(
  "aws:opensearch/domain:Domain",
  "logs-domain",
  {
    domainName: "paimon-test-logs",
    advancedSecurityOptions: { enabled: true, masterUserOptions: { masterUserArn: "<computed>" } },
  },
  { dependsOn: { advancedSecurityOptions: [urnOf(ROLE, "security-role")] } },
);
/** A role and its inline policy allowing `actions` on `resources`. */
const role = (key: string, name: string, actions: string[], resources: string[]): RecordedResource[] => [
  resource(ROLE, `${key}-role`, { name }),
  resource(
    "aws:iam/rolePolicy:RolePolicy",
    `${key}-policy`,
    { policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: actions, Resource: resources }] }) },
    { dependsOn: { role: [urnOf(ROLE, `${key}-role`)] } },
  ),
];
const shipper = role(
  "shipper",
  "paimon-test-log-shipper",
  ["es:ESHttpPost", "es:ESHttpPut"],
  [DOMAIN_ARN, `${DOMAIN_ARN}/*`],
);
const security = role(
  "security",
  "paimon-test-log-domain-security",
  ["es:ESHttpPut"],
  [`${DOMAIN_ARN}/_plugins/_security/api/*`],
);

const configMap = (mappings: Record<string, string[]>, roles: Record<string, unknown> = {}) =>
  manifest({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "opensearch-security",
      namespace: "logging",
      labels: { [SECURITY_CONFIG_LABEL]: "paimon-test-logs" },
    },
    data: {
      ...Object.fromEntries(Object.entries(roles).map(([name, body]) => [`roles.${name}.json`, JSON.stringify(body)])),
      ...Object.fromEntries(
        Object.entries(mappings).map(([name, backends]) => [
          `rolesmapping.${name}.json`,
          JSON.stringify({ backend_roles: backends }),
        ]),
      ),
    },
  });
const writer = {
  paimon_log_writer: {
    index_permissions: [{ index_patterns: ["paimon-logs-*"], allowed_actions: ["crud", "create_index"] }],
  },
};
const reader = {
  paimon_log_writer: { index_permissions: [{ index_patterns: ["paimon-logs-*"], allowed_actions: ["read"] }] },
};
const job = manifest({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name: "opensearch-security", namespace: "logging" },
  spec: {
    template: {
      spec: {
        volumes: [{ name: "config", configMap: { name: "opensearch-security" } }],
        containers: [{ name: "provision", image: "tools:1" }],
      },
    },
  },
});
const platform = (config: RecordedResource, withJob = true) => [
  domain,
  ...shipper,
  ...security,
  config,
  ...(withJob ? [job] : []),
];
const fitting = platform(configMap({ paimon_log_writer: [arn("paimon-test-log-shipper")] }, writer));

describe("paimon-opensearch-writers-mapped", () => {
  it("when the log shipper's role is mapped to no OpenSearch role (only the master is), then it fires", () => {
    const broken = platform(configMap({ all_access: [arn("paimon-platform-admin")] }));
    expectCase(mapped, { failing: broken, passing: fitting });
    expect(evaluatePolicies([mapped], broken, { environment: "production" }).map((v) => v.message)).toEqual([
      "role paimon-test-log-shipper may write to paimon-test-logs, but no OpenSearch role that writes maps it: " +
        "fine-grained access control would refuse every document it sends",
    ]);
  });

  it("when there is no security configuration at all, then every writer is reported", () => {
    expectCase(mapped, { failing: [domain, ...shipper, ...security], passing: fitting });
  });

  it("when the shipper is mapped to a role that may only read, then it fires", () => {
    expectCase(mapped, {
      failing: platform(configMap({ paimon_log_writer: [arn("paimon-test-log-shipper")] }, reader)),
      passing: fitting,
    });
  });

  it("when no Job applies the configuration, then it fires", () => {
    expectCase(mapped, {
      failing: platform(configMap({ paimon_log_writer: [arn("paimon-test-log-shipper")] }, writer), false),
      passing: fitting,
    });
  });

  it("when a role may use only the security API, then it needs no mapping; the master user is mapped by being master", () => {
    expect(evaluatePolicies([mapped], fitting, { environment: "production" })).toEqual([]);
    const masterWrites = platform(configMap({ paimon_log_writer: [arn("paimon-test-log-shipper")] }, writer)).map(
      (candidate) =>
        candidate.name === "security-policy"
          ? resource(
              candidate.type,
              candidate.name,
              {
                policy: JSON.stringify({
                  Statement: [{ Effect: "Allow", Action: "es:*", Resource: `${DOMAIN_ARN}/*` }],
                }),
              },
              { dependsOn: { role: [urnOf(ROLE, "security-role")] } },
            )
          : candidate,
    );
    expect(evaluatePolicies([mapped], masterWrites, { environment: "production" })).toEqual([]);
  });
});
