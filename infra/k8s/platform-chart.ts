import { ApiObject, Chart, type ChartProps } from "cdk8s";
import { k8s } from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { API } from "./api-chart";
import { BACKUP_JOB_KINDS, PUSHGATEWAY_URL, backupJobName } from "./backups-chart";
import { selectorLabels } from "./pod";
import { MIGRATE } from "./migrations-chart";
import { EVENT_LISTENER, WORKERS, workerName } from "./services-chart";
import { TIMESCALEDB } from "./timescaledb-chart";
import { PORTS, type WorkloadValues } from "./values";

export interface PlatformChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

const tcp = (portNumber: number): k8s.NetworkPolicyPort => ({
  protocol: "TCP",
  port: k8s.IntOrString.fromNumber(portNumber),
});
const inNamespace = (name: string): k8s.NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } },
});
const pods = (...names: string[]): k8s.LabelSelector => ({
  matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: names }],
});

/**
 * The fund's namespace under the restricted Pod Security Standard, its network policies — deny
 * everything, then allow only: the ingress controller to the API, Prometheus to metrics ports,
 * every pod to DNS, the services to PostgreSQL and Redis (database subnets) and TimescaleDB,
 * the chain and AWS over HTTPS for those that need them, the backups and the scheduler to the
 * Pushgateway — and the cert-manager ClusterIssuers, which solve DNS-01 in the stack's Route 53
 * zone with cert-manager's own IRSA role: the origin's load balancer admits only HTTPS from
 * CloudFront, so no ACME server could ever reach an HTTP-01 challenge there.
 */
export class PlatformChart extends Chart {
  constructor(scope: Construct, id: string, props: PlatformChartProps) {
    super(scope, id, props);
    const { values } = props;
    const namespace = values.namespace;
    new k8s.KubeNamespace(this, "namespace", {
      metadata: {
        name: namespace,
        labels: {
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "latest",
          "pod-security.kubernetes.io/warn": "restricted",
          "pod-security.kubernetes.io/audit": "restricted",
        },
      },
    });

    const policy = (name: string, spec: k8s.NetworkPolicySpec) =>
      new k8s.KubeNetworkPolicy(this, `policy-${name}`, { metadata: { name, namespace }, spec });
    const workloads = [API, EVENT_LISTENER, ...WORKERS.map(workerName)];
    const backups = BACKUP_JOB_KINDS.map(backupJobName);
    const internet = { ipBlock: { cidr: "0.0.0.0/0", except: [values.vpcCidr] } };

    policy("default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    policy("allow-dns", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        {
          to: [{ ...inNamespace("kube-system"), podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
          ports: [
            { protocol: "UDP", port: k8s.IntOrString.fromNumber(53) },
            { protocol: "TCP", port: k8s.IntOrString.fromNumber(53) },
          ],
        },
      ],
    });
    policy("allow-ingress-controller-to-api", {
      podSelector: { matchLabels: selectorLabels(API) },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            {
              ...inNamespace("ingress-nginx"),
              podSelector: { matchLabels: { "app.kubernetes.io/name": "ingress-nginx" } },
            },
          ],
          ports: [tcp(PORTS.api)],
        },
      ],
    });
    policy("allow-prometheus-scrapes", {
      podSelector: pods(...workloads),
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            { ...inNamespace("monitoring"), podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } } },
          ],
          ports: [tcp(PORTS.api), tcp(PORTS.eventListener), tcp(PORTS.workers)],
        },
      ],
    });
    policy("allow-data-stores", {
      podSelector: pods(...workloads, backupJobName("postgres"), MIGRATE),
      policyTypes: ["Egress"],
      egress: [
        {
          to: values.databaseCidrs.map((cidr) => ({ ipBlock: { cidr } })),
          ports: [tcp(PORTS.postgres), tcp(PORTS.redis)],
        },
      ],
    });
    policy("allow-timescaledb-clients", {
      podSelector: { matchLabels: selectorLabels(TIMESCALEDB) },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            { podSelector: pods(...workloads, backupJobName("timescaledb"), MIGRATE) },
            // Its exporter, in the monitoring namespace.
            {
              ...inNamespace("monitoring"),
              podSelector: { matchLabels: { "app.kubernetes.io/instance": "timescaledb-exporter" } },
            },
          ],
          ports: [tcp(PORTS.timescaledb)],
        },
      ],
    });
    policy("allow-to-timescaledb", {
      podSelector: pods(...workloads, backupJobName("timescaledb"), MIGRATE),
      policyTypes: ["Egress"],
      egress: [
        { to: [{ podSelector: { matchLabels: selectorLabels(TIMESCALEDB) } }], ports: [tcp(PORTS.timescaledb)] },
      ],
    });
    // The chain's RPC and AWS's APIs (KMS, S3, Secrets Manager, ElastiCache) are HTTPS endpoints
    // outside the VPC; NetworkPolicy cannot name hosts, so the port and the outside are the limit.
    policy("allow-https-out", {
      podSelector: pods(EVENT_LISTENER, ...WORKERS.map(workerName), ...backups),
      policyTypes: ["Egress"],
      egress: [{ to: [internet], ports: [tcp(443)] }],
    });
    // The backups report their successes there; the scheduler reads them back to check their ages.
    policy("allow-to-pushgateway", {
      podSelector: pods(...backups, workerName("scheduler")),
      policyTypes: ["Egress"],
      egress: [
        {
          to: [
            {
              ...inNamespace("monitoring"),
              podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus-pushgateway" } },
            },
          ],
          ports: [tcp(Number(new URL(PUSHGATEWAY_URL).port))],
        },
      ],
    });

    for (const [name, server] of [
      ["letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory"],
      ["letsencrypt-prod", "https://acme-v02.api.letsencrypt.org/directory"],
    ] as const) {
      new ApiObject(this, `issuer-${name}`, {
        apiVersion: "cert-manager.io/v1",
        kind: "ClusterIssuer",
        metadata: { name },
        spec: {
          acme: {
            server,
            email: values.acmeEmail,
            privateKeySecretRef: { name: `${name}-account-key` },
            solvers: [{ selector: { dnsZones: [values.zoneName] }, dns01: { route53: { region: values.region } } }],
          },
        },
      });
    }
  }
}
