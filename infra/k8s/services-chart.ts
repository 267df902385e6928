import { Chart, type ChartProps } from "cdk8s";
import { k8s } from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { EVENT_LISTENER, WORKERS, workerName } from "@paimon/core/workloads";
import { PUSHGATEWAY_URL } from "./backups-chart";
import {
  containerSecurityContext,
  disruptionBudget,
  httpProbe,
  plainEnv,
  podSecurityContext,
  redisEnv,
  resources,
  secretEnv,
  selectorLabels,
  serviceMonitor,
  tmpMount,
  tmpVolume,
} from "./pod";
import { waitForMigrations } from "./migrations-chart";
import { PORTS, type WorkloadValues } from "./values";

// The names are shared with the operator's commands, which scale these Deployments for a restore.
export { EVENT_LISTENER, WORKERS, workerName };

export interface ServicesChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

interface BackgroundService {
  readonly name: string;
  readonly args: readonly string[];
  readonly port: number;
  readonly env: readonly k8s.EnvVar[];
  /** Only the rebalance worker talks to AWS (KMS, with its transaction sender), through its IRSA role. */
  readonly roleArn?: string;
  readonly resources: k8s.ResourceRequirements;
  readonly recreate: boolean;
  readonly livenessDelaySeconds: number;
  readonly livenessPeriodSeconds: number;
}

/**
 * The seed's §2.2 event listener (one replica, `Recreate`; the advisory lock, not the strategy,
 * guarantees a single writer) and §2.3 workers (risk and scheduler with the metrics database,
 * rebalance with its own role), each with health and metrics on its own port.
 */
export class ServicesChart extends Chart {
  constructor(scope: Construct, id: string, props: ServicesChartProps) {
    super(scope, id, { ...props, namespace: props.values.namespace });
    const { values } = props;
    const common = [
      ...plainEnv({ ENVIRONMENT: values.environment }),
      secretEnv("DATABASE_URL", "database-url"),
      secretEnv("REDIS_URL", "redis-url"),
      ...redisEnv(values.redisCluster, { queues: true }),
    ];
    const chain = [secretEnv("BSC_RPC_URL", "bsc-rpc-url"), secretEnv("BSC_WS_URL", "bsc-ws-url")];
    const metricsDatabase = secretEnv("METRICS_DATABASE_URL", "metrics-database-url");
    const workerEnv: Record<(typeof WORKERS)[number], k8s.EnvVar[]> = {
      risk: [metricsDatabase],
      // The backup jobs' last successes are read where they report them.
      scheduler: [metricsDatabase, ...plainEnv({ PUSHGATEWAY_URL })],
      // The operator's sender: the chain it sends to, and the KMS key it signs with through the
      // IRSA role the key's policy names as its only signer.
      rebalance: [
        secretEnv("BSC_RPC_URL", "bsc-rpc-url"),
        secretEnv("AWS_KMS_KEY_ID", "kms-key-id"),
        ...plainEnv({
          CHAIN_ID: String(values.chain.chainId),
          FUND_ADDRESS: values.chain.fundAddress,
          FINALITY_DEPTH: String(values.chain.finalityDepth),
          SIGNER: "kms",
          AWS_REGION: values.region,
        }),
      ],
    };
    const services: BackgroundService[] = [
      {
        name: EVENT_LISTENER,
        args: ["event-listener"],
        port: PORTS.eventListener,
        env: [
          ...common,
          ...chain,
          ...plainEnv({
            CHAIN_ID: String(values.chain.chainId),
            FUND_ADDRESS: values.chain.fundAddress,
            FUND_DEPLOY_BLOCK: String(values.chain.deployBlock),
            FINALITY_DEPTH: String(values.chain.finalityDepth),
            HEALTH_PORT: String(PORTS.eventListener),
          }),
        ],
        resources: resources({ memory: "256Mi", cpu: "100m" }, { memory: "512Mi", cpu: "200m" }),
        recreate: true,
        livenessDelaySeconds: 30,
        livenessPeriodSeconds: 30,
      },
      ...WORKERS.map((worker): BackgroundService => ({
        name: workerName(worker),
        args: ["workers", `--worker=${worker}`],
        port: PORTS.workers,
        env: [...common, ...plainEnv({ HEALTH_PORT: String(PORTS.workers) }), ...workerEnv[worker]],
        ...(worker === "rebalance" ? { roleArn: values.roleArns["rebalanceWorker"] ?? "" } : {}),
        resources: resources({ memory: "256Mi", cpu: "100m" }, { memory: "512Mi", cpu: "500m" }),
        recreate: false,
        livenessDelaySeconds: 30,
        livenessPeriodSeconds: 30,
      })),
    ];
    for (const service of services) this.backgroundService(service, values);
  }

  private backgroundService(service: BackgroundService, values: WorkloadValues): void {
    const labels = selectorLabels(service.name);
    new k8s.KubeServiceAccount(this, `${service.name}-sa`, {
      metadata: {
        name: service.name,
        labels,
        ...(service.roleArn ? { annotations: { "eks.amazonaws.com/role-arn": service.roleArn } } : {}),
      },
      // Only a pod with an AWS role needs a (projected, audience-bound) token.
      automountServiceAccountToken: service.roleArn !== undefined,
    });
    new k8s.KubeDeployment(this, `${service.name}-deployment`, {
      metadata: { name: service.name, labels },
      spec: {
        replicas: 1,
        revisionHistoryLimit: 5,
        selector: { matchLabels: labels },
        strategy: service.recreate ? { type: "Recreate" } : { type: "RollingUpdate" },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: service.name,
            automountServiceAccountToken: service.roleArn !== undefined,
            securityContext: podSecurityContext,
            terminationGracePeriodSeconds: 60,
            volumes: [tmpVolume],
            // Every background service reads the fund's database.
            initContainers: [waitForMigrations(values.image, service.env)],
            containers: [
              {
                name: service.name.replace(/^paimon-/, ""),
                image: values.image,
                args: [...service.args],
                ports: [{ name: "health", containerPort: service.port }],
                env: [...service.env],
                resources: service.resources,
                livenessProbe: httpProbe(
                  "/health",
                  service.port,
                  service.livenessDelaySeconds,
                  service.livenessPeriodSeconds,
                ),
                readinessProbe: httpProbe("/health/ready", service.port, 10, 10),
                securityContext: containerSecurityContext,
                volumeMounts: [tmpMount],
              },
            ],
          },
        },
      },
    });
    new k8s.KubeService(this, `${service.name}-service`, {
      metadata: { name: service.name, labels },
      spec: {
        type: "ClusterIP",
        selector: labels,
        ports: [{ name: "health", port: service.port, targetPort: k8s.IntOrString.fromString("health") }],
      },
    });
    serviceMonitor(this, service.name, labels, "health");
    if (values.highAvailability) disruptionBudget(this, service.name, labels);
  }
}
