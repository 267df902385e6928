import { ApiObject, Chart, Duration, JsonPatch, type ChartProps } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { EVENT_LISTENER, WORKERS, workerName } from "@paimon/core/workloads";
import { PUSHGATEWAY_URL } from "./backups-chart";
import { disruptionBudget, redisValues, selectorLabels, serviceMonitor } from "./pod";
import { waitForMigrations } from "./migrations-chart";
import {
  IMAGE_PULL_POLICY,
  asAccount,
  clusterService,
  containerResources,
  containerSecurity,
  fromSecret,
  httpGetProbe,
  plainValues,
  podSecurity,
  restrictPod,
  selectExactly,
  syncedSecret,
  tmpDirectory,
} from "./plus";
import { PORTS, type WorkloadValues } from "./values";

// The names are shared with the operator's commands, which scale these Deployments for a restore.
export { EVENT_LISTENER, WORKERS, workerName };

export interface ServicesChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

type Env = Record<string, kplus.EnvValue>;

interface BackgroundService {
  readonly name: string;
  readonly args: readonly string[];
  readonly port: number;
  readonly env: Env;
  /** Only the rebalance worker talks to AWS (KMS, with its transaction sender), through its IRSA role. */
  readonly roleArn?: string;
  readonly resources: kplus.ContainerResources;
  readonly recreate: boolean;
  readonly livenessDelaySeconds: number;
  readonly livenessPeriodSeconds: number;
}

/** The Deployment's pod template, where the raw patches apply. */
const TEMPLATE = "/spec/template";

/**
 * The seed's §2.2 event listener (one replica, `Recreate`; the advisory lock, not the strategy,
 * guarantees a single writer) and §2.3 workers (risk and scheduler with the metrics database,
 * rebalance with its own role), each with health and metrics on its own port.
 */
export class ServicesChart extends Chart {
  constructor(scope: Construct, id: string, props: ServicesChartProps) {
    super(scope, id, { ...props, namespace: props.values.namespace });
    const { values } = props;
    const secret = syncedSecret(this);
    const common: Env = {
      ...plainValues({ ENVIRONMENT: values.environment }),
      DATABASE_URL: fromSecret(secret, "database-url"),
      REDIS_URL: fromSecret(secret, "redis-url"),
      ...plainValues(redisValues(values.redisCluster, { queues: true })),
    };
    const chain: Env = {
      BSC_RPC_URL: fromSecret(secret, "bsc-rpc-url"),
      BSC_WS_URL: fromSecret(secret, "bsc-ws-url"),
    };
    const metricsDatabase: Env = { METRICS_DATABASE_URL: fromSecret(secret, "metrics-database-url") };
    const workerEnv: Record<(typeof WORKERS)[number], Env> = {
      risk: metricsDatabase,
      // The backup jobs' last successes are read where they report them.
      scheduler: { ...metricsDatabase, ...plainValues({ PUSHGATEWAY_URL }) },
      // The operator's sender: the chain it sends to, and the KMS key it signs with through the
      // IRSA role the key's policy names as its only signer.
      rebalance: {
        BSC_RPC_URL: fromSecret(secret, "bsc-rpc-url"),
        AWS_KMS_KEY_ID: fromSecret(secret, "kms-key-id"),
        ...plainValues({
          CHAIN_ID: String(values.chain.chainId),
          FUND_ADDRESS: values.chain.fundAddress,
          FINALITY_DEPTH: String(values.chain.finalityDepth),
          SIGNER: "kms",
          AWS_REGION: values.region,
        }),
      },
    };
    const services: BackgroundService[] = [
      {
        name: EVENT_LISTENER,
        args: ["event-listener"],
        port: PORTS.eventListener,
        env: {
          ...common,
          ...chain,
          ...plainValues({
            CHAIN_ID: String(values.chain.chainId),
            FUND_ADDRESS: values.chain.fundAddress,
            FUND_DEPLOY_BLOCK: String(values.chain.deployBlock),
            FINALITY_DEPTH: String(values.chain.finalityDepth),
            HEALTH_PORT: String(PORTS.eventListener),
          }),
        },
        resources: containerResources({ memoryMi: 256, cpuMillis: 100 }, { memoryMi: 512, cpuMillis: 200 }),
        recreate: true,
        livenessDelaySeconds: 30,
        livenessPeriodSeconds: 30,
      },
      ...WORKERS.map((worker): BackgroundService => ({
        name: workerName(worker),
        args: ["workers", `--worker=${worker}`],
        port: PORTS.workers,
        env: { ...common, ...plainValues({ HEALTH_PORT: String(PORTS.workers) }), ...workerEnv[worker] },
        ...(worker === "rebalance" ? { roleArn: values.roleArns.rebalanceWorker } : {}),
        resources: containerResources({ memoryMi: 256, cpuMillis: 100 }, { memoryMi: 512, cpuMillis: 500 }),
        recreate: false,
        livenessDelaySeconds: 30,
        livenessPeriodSeconds: 30,
      })),
    ];
    for (const service of services) this.backgroundService(service, values);
  }

  private backgroundService(service: BackgroundService, values: WorkloadValues): void {
    const labels = selectorLabels(service.name);
    // Only a pod with an AWS role needs a (projected, audience-bound) token.
    const automount = service.roleArn !== undefined;
    const serviceAccount = new kplus.ServiceAccount(this, `${service.name}-sa`, {
      metadata: {
        name: service.name,
        labels,
        ...(service.roleArn ? { annotations: { "eks.amazonaws.com/role-arn": service.roleArn } } : {}),
      },
      automountToken: automount,
    });
    const deployment = new kplus.Deployment(this, `${service.name}-deployment`, {
      metadata: { name: service.name, labels },
      select: false,
      podMetadata: { labels },
      replicas: 1,
      strategy: service.recreate ? kplus.DeploymentStrategy.recreate() : kplus.DeploymentStrategy.rollingUpdate(),
      serviceAccount: asAccount(serviceAccount),
      automountServiceAccountToken: automount,
      securityContext: podSecurity,
      terminationGracePeriod: Duration.seconds(60),
    });
    const tmp = tmpDirectory(deployment);
    // Every background service reads the fund's database.
    deployment.addInitContainer(waitForMigrations(values.image, service.env, tmp));
    deployment.addContainer({
      name: service.name.replace(/^paimon-/, ""),
      image: values.image,
      imagePullPolicy: IMAGE_PULL_POLICY,
      args: [...service.args],
      ports: [{ name: "health", number: service.port }],
      envVariables: { ...service.env },
      resources: service.resources,
      liveness: httpGetProbe("/health", service.port, service.livenessDelaySeconds, service.livenessPeriodSeconds),
      readiness: httpGetProbe("/health/ready", service.port, 10, 10),
      securityContext: containerSecurity,
      volumeMounts: [tmp],
    });
    selectExactly(deployment, labels, TEMPLATE);
    restrictPod(deployment, TEMPLATE);
    // Not modelled by cdk8s-plus-28.
    ApiObject.of(deployment).addJsonPatch(JsonPatch.add("/spec/revisionHistoryLimit", 5));
    clusterService(this, `${service.name}-service`, { name: service.name, labels }, [
      { name: "health", port: service.port, targetPort: service.port },
    ]);
    serviceMonitor(this, service.name, labels, "health");
    if (values.highAvailability) disruptionBudget(this, service.name, labels);
  }
}
