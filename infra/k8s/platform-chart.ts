import { ApiObject, Chart, JsonPatch, type ChartProps } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { API } from "./api-chart";
import { BACKUP_JOB_KINDS, PUSHGATEWAY_URL, backupJobName } from "./backups-chart";
import { DR_DRILL } from "./dr-drill";
import { selectorLabels } from "./pod";
import { MIGRATE } from "./migrations-chart";
import { tcpPorts } from "./plus";
import { EVENT_LISTENER, WORKERS, workerName } from "./services-chart";
import { TIMESCALEDB } from "./timescaledb-chart";
import { PORTS, type WorkloadValues } from "./values";

export interface PlatformChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

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
    new kplus.Namespace(this, "namespace", {
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

    /** Pods of the fund's namespace by their `app.kubernetes.io/name`. */
    const pods = (id: string, ...names: string[]) =>
      kplus.Pods.select(this, id, { expressions: [kplus.LabelExpression.in("app.kubernetes.io/name", names)] });
    const labelled = (id: string, labels: Record<string, string>) => kplus.Pods.select(this, id, { labels });
    /** Pods of another namespace by their labels. */
    const podsIn = (namespaceName: string, labels: Record<string, string>) =>
      kplus.Pods.select(this, `${namespaceName}-${Object.values(labels).join("-")}`, {
        labels,
        namespaces: kplus.Namespaces.select(this, `${namespaceName}-${Object.values(labels).join("-")}-namespace`, {
          labels: { [kplus.Namespace.NAME_LABEL]: namespaceName },
        }),
      });
    const policy = (name: string, props: Omit<kplus.NetworkPolicyProps, "metadata">) =>
      new kplus.NetworkPolicy(this, `policy-${name}`, { metadata: { name, namespace }, ...props });
    const workloads = [API, EVENT_LISTENER, ...WORKERS.map(workerName)];
    const backups = BACKUP_JOB_KINDS.map(backupJobName);
    const allPods = kplus.Pods.all(this, "all-pods");

    const deny = policy("default-deny", {
      selector: allPods,
      ingress: { default: kplus.NetworkPolicyTrafficDefault.DENY },
      egress: { default: kplus.NetworkPolicyTrafficDefault.DENY },
    });
    // cdk8s-plus lists Egress first; the policy has always read, and is checked as, Ingress then Egress.
    ApiObject.of(deny).addJsonPatch(JsonPatch.replace("/spec/policyTypes", ["Ingress", "Egress"]));
    policy("allow-dns", {
      selector: allPods,
      egress: {
        rules: [
          {
            peer: podsIn("kube-system", { "k8s-app": "kube-dns" }),
            ports: [kplus.NetworkPolicyPort.udp(53), kplus.NetworkPolicyPort.tcp(53)],
          },
        ],
      },
    });
    policy("allow-ingress-controller-to-api", {
      selector: labelled("api", selectorLabels(API)),
      ingress: {
        rules: [
          { peer: podsIn("ingress-nginx", { "app.kubernetes.io/name": "ingress-nginx" }), ports: tcpPorts(PORTS.api) },
        ],
      },
    });
    policy("allow-prometheus-scrapes", {
      selector: pods("scraped", ...workloads),
      ingress: {
        rules: [
          {
            peer: podsIn("monitoring", { "app.kubernetes.io/name": "prometheus" }),
            ports: tcpPorts(PORTS.api, PORTS.eventListener, PORTS.workers),
          },
        ],
      },
    });
    policy("allow-data-stores", {
      selector: pods("data-store-clients", ...workloads, backupJobName("postgres"), MIGRATE, DR_DRILL),
      egress: {
        rules: values.databaseCidrs.map((cidr, index) => ({
          peer: kplus.NetworkPolicyIpBlock.ipv4(this, `database-${String(index)}`, cidr),
          ports: tcpPorts(PORTS.postgres, PORTS.redis),
        })),
      },
    });
    const timescale = labelled("timescaledb", selectorLabels(TIMESCALEDB));
    policy("allow-timescaledb-clients", {
      selector: timescale,
      ingress: {
        rules: [
          {
            peer: pods("timescaledb-clients", ...workloads, backupJobName("timescaledb"), MIGRATE, DR_DRILL),
            ports: tcpPorts(PORTS.timescaledb),
          },
          // Its exporter, in the monitoring namespace.
          {
            peer: podsIn("monitoring", { "app.kubernetes.io/instance": "timescaledb-exporter" }),
            ports: tcpPorts(PORTS.timescaledb),
          },
        ],
      },
    });
    policy("allow-to-timescaledb", {
      selector: pods("timescaledb-clients-out", ...workloads, backupJobName("timescaledb"), MIGRATE, DR_DRILL),
      egress: { rules: [{ peer: timescale, ports: tcpPorts(PORTS.timescaledb) }] },
    });
    // The chain's RPC and AWS's APIs (KMS, S3, Secrets Manager, ElastiCache) are HTTPS endpoints
    // outside the VPC; NetworkPolicy cannot name hosts, so the port and the outside are the limit.
    policy("allow-https-out", {
      selector: pods("https-clients", EVENT_LISTENER, ...WORKERS.map(workerName), ...backups, DR_DRILL),
      egress: {
        rules: [
          {
            peer: kplus.NetworkPolicyIpBlock.ipv4(this, "internet", "0.0.0.0/0", [values.vpcCidr]),
            ports: tcpPorts(443),
          },
        ],
      },
    });
    // The backups and the DR drill report their successes there; the scheduler reads them back to
    // check their ages.
    policy("allow-to-pushgateway", {
      selector: pods("pushgateway-clients", ...backups, DR_DRILL, workerName("scheduler")),
      egress: {
        rules: [
          {
            peer: podsIn("monitoring", { "app.kubernetes.io/name": "prometheus-pushgateway" }),
            ports: tcpPorts(Number(new URL(PUSHGATEWAY_URL).port)),
          },
        ],
      },
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
