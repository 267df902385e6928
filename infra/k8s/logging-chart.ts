import { createHash } from "node:crypto";
import { Chart, Duration, type ChartProps } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { LOG_INDEX_PREFIX } from "../components/logs";
import { SERVICE_ACCOUNTS } from "../components/workload-roles/platform";
import { SECURITY_CONFIG_LABEL } from "../policy/rules/log-access";
import { selectorLabels } from "./pod";
import {
  IMAGE_PULL_POLICY,
  asAccount,
  asConfigMap,
  containerResources,
  containerSecurity,
  plainValues,
  podSecurity,
  restrictPod,
  tmpDirectory,
  withoutAddressLabel,
} from "./plus";
import type { WorkloadValues } from "./values";
import { OPENSEARCH_SECURITY_MANIFEST } from "@paimon/core/workloads";

export const OPENSEARCH_SECURITY = "opensearch-security";
/** The OpenSearch role the log shipper writes with: its indices, nothing else. */
export const LOG_WRITER_ROLE = "paimon_log_writer";
const CONFIG_DIRECTORY = "/etc/opensearch-security";

/** What the security plugin's API is given: OpenSearch roles, and which IAM roles each maps. */
export interface LogDomainSecurity {
  readonly roles: Readonly<Record<string, Record<string, unknown>>>;
  readonly rolesmapping: Readonly<Record<string, { readonly backend_roles: readonly string[] }>>;
}

/**
 * The domain's fine-grained access, as data: the log shipper's IAM role may create and write the
 * log indices; the operators' role and the provisioner's own (the master user, listed so that a
 * PUT of the mapping never drops it) administer the domain.
 */
export function logDomainSecurity(values: WorkloadValues): LogDomainSecurity {
  const administrators = [values.roleArns.logDomainSecurity, values.logAdminRoleArn];
  return {
    roles: {
      [LOG_WRITER_ROLE]: {
        description: "Fluent Bit: creates and writes the platform's log indices",
        // `cluster_composite_ops` holds `indices:data/write/bulk`, the shipper's one call.
        cluster_permissions: ["cluster_monitor", "cluster_composite_ops"],
        index_permissions: [{ index_patterns: [`${LOG_INDEX_PREFIX}-*`], allowed_actions: ["crud", "create_index"] }],
      },
    },
    rolesmapping: {
      all_access: { backend_roles: administrators },
      security_manager: { backend_roles: administrators },
      [LOG_WRITER_ROLE]: { backend_roles: [values.roleArns.logShipper] },
    },
  };
}

/**
 * The manifest `ops opensearch-security apply --config-dir` reads (scripts/src/opensearch-security.ts):
 * the requests in the order they are made, each an API path and the file holding its body.
 */

/**
 * The ConfigMap's files: one JSON body per API path, and the manifest that orders them, roles
 * before the mappings that name them (a mapping of a role not yet created is refused). Labelled
 * with {@link SECURITY_CONFIG_LABEL}, the policy pack reads the `roles.*` and `rolesmapping.*`
 * files to check that every role that may write logs is mapped.
 */
function configFiles(security: LogDomainSecurity): Record<string, string> {
  const entries = [
    ...Object.entries(security.roles).map(([name, body]) => ({
      file: `roles.${name}.json`,
      path: `roles/${name}`,
      body,
    })),
    ...Object.entries(security.rolesmapping).map(([name, body]) => ({
      file: `rolesmapping.${name}.json`,
      path: `rolesmapping/${name}`,
      body,
    })),
  ];
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    [OPENSEARCH_SECURITY_MANIFEST]: json(entries.map(({ path, file }) => ({ path, file }))),
    ...Object.fromEntries(entries.map(({ file, body }) => [file, json(body)])),
  };
}

/**
 * What the Job's container runs after the image's entrypoint (`node --enable-source-maps
 * dist/main.js`): the operator's own command, which finds the domain's VPC endpoint and PUTs the
 * mounted configuration SigV4-signed as the provisioner's IRSA role, failing on any refusal.
 */
export const opensearchSecurityArgs = (configDirectory: string): string[] => [
  "ops",
  "--json",
  "opensearch-security",
  "apply",
  "--config-dir",
  configDirectory,
];

export interface LoggingChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

/**
 * Fine-grained access control of the log domain, as code: a Job in the log shipper's namespace
 * that, as the domain's master user, PUTs the OpenSearch roles and role mappings of
 * {@link logDomainSecurity} through the security plugin's API, with the operator's command in
 * the services' image (no shell). The pod template carries the
 * configuration's digest, so a changed mapping replaces the Job and is applied; `pulumi up`
 * waits for it.
 */
export class LoggingChart extends Chart {
  constructor(scope: Construct, id: string, props: LoggingChartProps) {
    const account = SERVICE_ACCOUNTS.logDomainSecurity;
    super(scope, id, { ...props, namespace: account.namespace });
    const { values } = props;
    const labels = selectorLabels(OPENSEARCH_SECURITY);
    const data = configFiles(logDomainSecurity(values));
    const digest = createHash("sha256").update(JSON.stringify(data)).digest("hex");

    const serviceAccount = new kplus.ServiceAccount(this, "service-account", {
      metadata: {
        name: account.name,
        labels,
        annotations: { "eks.amazonaws.com/role-arn": values.roleArns.logDomainSecurity },
      },
      automountToken: true,
    });
    const config = new kplus.ConfigMap(this, "config", {
      metadata: { name: OPENSEARCH_SECURITY, labels: { ...labels, [SECURITY_CONFIG_LABEL]: values.logDomain } },
      data,
    });
    const job = new kplus.Job(this, "job", {
      metadata: { name: OPENSEARCH_SECURITY, labels },
      podMetadata: { labels, annotations: { "paimon.fund/config-sha256": digest } },
      backoffLimit: 6,
      activeDeadline: Duration.seconds(1800),
      serviceAccount: asAccount(serviceAccount),
      automountServiceAccountToken: true,
      restartPolicy: kplus.RestartPolicy.NEVER,
      securityContext: podSecurity,
    });
    job.addContainer({
      name: "provision",
      // The services' image, by the same reference as the services and the backup jobs.
      image: values.image,
      imagePullPolicy: IMAGE_PULL_POLICY,
      args: opensearchSecurityArgs(CONFIG_DIRECTORY),
      envVariables: plainValues({ AWS_REGION: values.region, OPENSEARCH_DOMAIN: values.logDomain }),
      // Node and the services' bundle: more than the shell and curl it replaces.
      resources: containerResources({ memoryMi: 128, cpuMillis: 50 }, { memoryMi: 512, cpuMillis: 200 }),
      securityContext: containerSecurity,
      volumeMounts: [
        tmpDirectory(job),
        {
          path: CONFIG_DIRECTORY,
          volume: kplus.Volume.fromConfigMap(job, "config-volume", asConfigMap(config), { name: "config" }),
          readOnly: true,
        },
      ],
    });
    withoutAddressLabel(job, "/spec/template");
    restrictPod(job, "/spec/template");
  }
}
