import * as pulumi from "@pulumi/pulumi";
import { rdsCaCopy } from "../../k8s/pod";
import { LOG_INDEX_PREFIX } from "../logs";
import { SERVICE_ACCOUNTS } from "../workload-roles/platform";

/** A Helm chart, pinned: upgrading one is a reviewed change to this table. */
export interface ChartPin {
  readonly chart: string;
  readonly version: string;
  readonly repo: string;
  readonly namespace: string;
}

export const CHARTS = {
  loadBalancerController: {
    chart: "aws-load-balancer-controller",
    version: "1.8.1",
    repo: "https://aws.github.io/eks-charts",
    namespace: "kube-system",
  },
  ingressNginx: {
    chart: "ingress-nginx",
    version: "4.11.3",
    repo: "https://kubernetes.github.io/ingress-nginx",
    namespace: "ingress-nginx",
  },
  certManager: {
    chart: "cert-manager",
    version: "v1.16.1",
    repo: "https://charts.jetstack.io",
    namespace: "cert-manager",
  },
  externalSecrets: {
    chart: "external-secrets",
    version: "0.10.4",
    repo: "https://charts.external-secrets.io",
    namespace: "external-secrets",
  },
  kubePrometheusStack: {
    chart: "kube-prometheus-stack",
    version: "65.1.1",
    repo: "https://prometheus-community.github.io/helm-charts",
    namespace: "monitoring",
  },
  pushgateway: {
    chart: "prometheus-pushgateway",
    version: "2.14.0",
    repo: "https://prometheus-community.github.io/helm-charts",
    namespace: "monitoring",
  },
  postgresExporter: {
    chart: "prometheus-postgres-exporter",
    version: "6.4.0",
    repo: "https://prometheus-community.github.io/helm-charts",
    namespace: "monitoring",
  },
  timescaleExporter: {
    chart: "prometheus-postgres-exporter",
    version: "6.4.0",
    repo: "https://prometheus-community.github.io/helm-charts",
    namespace: "monitoring",
  },
  redisExporter: {
    chart: "prometheus-redis-exporter",
    version: "6.6.0",
    repo: "https://prometheus-community.github.io/helm-charts",
    namespace: "monitoring",
  },
  metricsServer: {
    chart: "metrics-server",
    version: "3.12.2",
    repo: "https://kubernetes-sigs.github.io/metrics-server/",
    namespace: "kube-system",
  },
  fluentBit: {
    chart: "fluent-bit",
    version: "0.47.10",
    repo: "https://fluent.github.io/helm-charts",
    namespace: "logging",
  },
} as const satisfies Record<string, ChartPin>;

/** What the add-ons' values are built from. */
export interface AddonInputs {
  readonly clusterName: pulumi.Input<string>;
  readonly region: string;
  readonly vpcId: pulumi.Input<string>;
  readonly highAvailability: boolean;
  readonly loadBalancerControllerRoleArn: pulumi.Input<string>;
  readonly externalSecretsRoleArn: pulumi.Input<string>;
  readonly logShipperRoleArn: pulumi.Input<string>;
  /** cert-manager's role: it answers DNS-01 challenges in the stack's zone. */
  readonly certManagerRoleArn: pulumi.Input<string>;
  /** The security group that admits CloudFront only, for the ingress controller's load balancer. */
  readonly originSecurityGroupId: pulumi.Input<string>;
  /** The name the ingress controller's load balancer is given, so that its DNS record can find it. */
  readonly originLoadBalancerName: string;
  readonly logDomainEndpoint: pulumi.Input<string>;
  /** Alertmanager's configuration (monitoring/generated/alertmanager-<stack>.yml), parsed. */
  readonly alertmanagerConfig: Record<string, unknown>;
  readonly storageClass: string;
  /** TimescaleDB's in-cluster address, for its exporter. */
  readonly timescaleHost: string;
  /** The services' image: it carries the RDS CA bundle the PostgreSQL exporter verifies RDS with. */
  readonly servicesImage: string;
  /** ElastiCache runs in cluster mode: its exporter must treat the endpoint as a cluster's. */
  readonly redisCluster: boolean;
}

/** A release's service account, named as its role's trust names it. */
const irsa = (roleArn: pulumi.Input<string>, account: { readonly name: string }) => ({
  create: true,
  name: account.name,
  annotations: { "eks.amazonaws.com/role-arn": roleArn },
});
const replicas = (inputs: AddonInputs) => (inputs.highAvailability ? 2 : 1);

/** Typed values of each add-on, from the platform's outputs. */
export function addonValues(inputs: AddonInputs): Record<keyof typeof CHARTS, Record<string, unknown>> {
  // `database-url` verifies RDS's certificate (sslmode=verify-full); lib/pq reads the CA from
  // PGSSLROOTCERT, and the exporter's image has no RDS CA of its own.
  const ca = rdsCaCopy(inputs.servicesImage);
  return {
    loadBalancerController: {
      clusterName: inputs.clusterName,
      region: inputs.region,
      // Pods cannot reach instance metadata (hop limit 1): the controller is told where it is.
      vpcId: inputs.vpcId,
      replicaCount: replicas(inputs),
      serviceAccount: irsa(inputs.loadBalancerControllerRoleArn, SERVICE_ACCOUNTS.loadBalancerController),
      enableServiceMutatorWebhook: false,
    },
    ingressNginx: {
      controller: {
        replicaCount: inputs.highAvailability ? 3 : 1,
        ingressClassResource: { name: "nginx", default: true },
        config: { "use-forwarded-headers": "true", "server-tokens": "false", "ssl-protocols": "TLSv1.2 TLSv1.3" },
        metrics: {
          enabled: true,
          serviceMonitor: { enabled: true, additionalLabels: { release: "kube-prometheus-stack" } },
        },
        service: {
          // An NLB passing TLS through to the controller (cert-manager's certificate), reachable
          // only from CloudFront's origin-facing ranges through the edge's security group.
          annotations: {
            "service.beta.kubernetes.io/aws-load-balancer-name": inputs.originLoadBalancerName,
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
            "service.beta.kubernetes.io/aws-load-balancer-security-groups": inputs.originSecurityGroupId,
            "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules": "true",
          },
        },
        podSecurityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      },
    },
    certManager: {
      crds: { enabled: true, keep: true },
      replicaCount: replicas(inputs),
      // DNS-01 in Route 53 with the controller's own IRSA role (ClusterIssuers use its ambient credentials).
      serviceAccount: irsa(inputs.certManagerRoleArn, SERVICE_ACCOUNTS.certManager),
      prometheus: { enabled: true, servicemonitor: { enabled: true, labels: { release: "kube-prometheus-stack" } } },
    },
    externalSecrets: {
      installCRDs: true,
      replicaCount: replicas(inputs),
      serviceAccount: irsa(inputs.externalSecretsRoleArn, SERVICE_ACCOUNTS.externalSecrets),
      serviceMonitor: { enabled: true, additionalLabels: { release: "kube-prometheus-stack" } },
    },
    kubePrometheusStack: {
      alertmanager: {
        config: inputs.alertmanagerConfig,
        alertmanagerSpec: {
          replicas: inputs.highAvailability ? 3 : 1,
          // Mounted at /etc/alertmanager/secrets/paimon-secrets: the PagerDuty, Slack and SMTP credentials.
          secrets: ["paimon-secrets"],
        },
      },
      prometheus: {
        prometheusSpec: {
          replicas: replicas(inputs),
          retention: "15d",
          serviceMonitorSelectorNilUsesHelmValues: false,
          ruleSelectorNilUsesHelmValues: false,
          storageSpec: {
            volumeClaimTemplate: {
              spec: {
                storageClassName: inputs.storageClass,
                accessModes: ["ReadWriteOnce"],
                resources: { requests: { storage: "100Gi" } },
              },
            },
          },
        },
      },
      grafana: {
        sidecar: { dashboards: { enabled: true, label: "grafana_dashboard", searchNamespace: "monitoring" } },
        persistence: { enabled: true, storageClassName: inputs.storageClass, size: "10Gi" },
      },
    },
    pushgateway: {
      serviceMonitor: { enabled: true, honorLabels: true, additionalLabels: { release: "kube-prometheus-stack" } },
      // The chart mounts the volume at `persistentVolume.mountPath` (/data) but starts the gateway
      // with no arguments but `extraArgs` (templates/_helpers.tpl at 2.14.0): without
      // `--persistence.file` everything pushed lives in memory, and a restart would clear every
      // backup's and drill's success until its next run — the backup and DR alerts silent meanwhile.
      persistentVolume: { enabled: true, storageClass: inputs.storageClass, size: "2Gi", mountPath: "/data" },
      extraArgs: ["--persistence.file=/data/pushgateway.data"],
    },
    postgresExporter: {
      config: {
        datasourceSecret: { name: "paimon-secrets", key: "database-url" },
      },
      initContainers: [ca.initContainer],
      extraVolumes: [ca.volume],
      extraVolumeMounts: [ca.mount],
      extraEnvs: [{ name: "PGSSLROOTCERT", value: ca.path }],
      serviceMonitor: {
        enabled: true,
        labels: { release: "kube-prometheus-stack" },
        relabelings: [{ targetLabel: "db", replacement: "postgres" }],
      },
    },
    timescaleExporter: {
      config: {
        datasource: {
          host: inputs.timescaleHost,
          user: "paimon",
          database: "metrics",
          sslmode: "disable",
          passwordSecret: { name: "paimon-secrets", key: "timescaledb-password" },
        },
      },
      serviceMonitor: {
        enabled: true,
        labels: { release: "kube-prometheus-stack" },
        relabelings: [{ targetLabel: "db", replacement: "timescaledb" }],
      },
    },
    redisExporter: {
      // `redis-url` is `rediss://:<token>@<endpoint>:6379`: the exporter takes the address, TLS and
      // the token from the URL itself (REDIS_ADDR), so no separate password is set.
      redisAddressConfig: { enabled: true, isSecret: true, source: { name: "paimon-secrets", key: "redis-url" } },
      auth: { enabled: false },
      // In cluster mode the endpoint is the configuration endpoint, which the exporter must read as
      // a cluster's (`--is-cluster`) to follow its shards.
      ...(inputs.redisCluster ? { extraArgs: { "is-cluster": true } } : {}),
      serviceMonitor: { enabled: true, labels: { release: "kube-prometheus-stack" } },
    },
    metricsServer: { replicas: replicas(inputs) },
    fluentBit: {
      serviceAccount: irsa(inputs.logShipperRoleArn, SERVICE_ACCOUNTS.logShipper),
      // JSON logs (spec §6.1) to the OpenSearch domain, signed with the role (spec §6.2's index name).
      config: {
        outputs: pulumi.interpolate`[OUTPUT]
    Name               opensearch
    Match              kube.*
    Host               ${inputs.logDomainEndpoint}
    Port               443
    tls                On
    AWS_Auth           On
    AWS_Region         ${inputs.region}
    Logstash_Format    On
    Logstash_Prefix    ${LOG_INDEX_PREFIX}
    Suppress_Type_Name On
    Retry_Limit        False
`,
      },
    },
  };
}
