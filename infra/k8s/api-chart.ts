import { ApiObject, Chart, Duration, JsonPatch, type ChartProps } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { disruptionBudget, redisValues, selectorLabels, serviceMonitor, spread } from "./pod";
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

export const API = "paimon-api";
/** Endpoints are removed as SIGTERM arrives: keep serving this long before shutting down. */
const PRE_STOP_SECONDS = 10;
/** preStop, then in-flight requests finish (the API drains within 20 s), with margin. */
export const GRACE_PERIOD_SECONDS = 45;

export interface ApiChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

/**
 * The seed's §2.1 API: Deployment, Service and TLS Ingress; a rolling update that never drops a
 * ready replica, a preStop delay inside a grace period that lets requests finish, and in
 * production an autoscaler, a PodDisruptionBudget and zone spreading.
 */
/**
 * What the public host serves: the API, its health (the deploy's smoke test reads readiness through
 * the edge) and its OpenAPI document. `/metrics` is not among them: Prometheus scrapes it inside
 * the cluster, and the fund's internal figures are nobody's business at the edge.
 */
export const PUBLIC_PATHS = [
  { path: "/v1", pathType: kplus.HttpIngressPathType.PREFIX },
  { path: "/health", pathType: kplus.HttpIngressPathType.EXACT },
  { path: "/health/ready", pathType: kplus.HttpIngressPathType.EXACT },
  { path: "/openapi.json", pathType: kplus.HttpIngressPathType.EXACT },
] as const;

export class ApiChart extends Chart {
  constructor(scope: Construct, id: string, props: ApiChartProps) {
    super(scope, id, { ...props, namespace: props.values.namespace });
    const { values } = props;
    const labels = selectorLabels(API);
    const secret = syncedSecret(this);
    const env: Record<string, kplus.EnvValue> = {
      ...plainValues({ ENVIRONMENT: values.environment, PORT: String(PORTS.api) }),
      DATABASE_URL: fromSecret(secret, "database-url"),
      METRICS_DATABASE_URL: fromSecret(secret, "metrics-database-url"),
      REDIS_URL: fromSecret(secret, "redis-url"),
      ...plainValues(redisValues(values.redisCluster, { queues: false })),
      JWT_SECRET: fromSecret(secret, "jwt-secret"),
      ORIGIN_VERIFY_SECRET: fromSecret(secret, "origin-verify"),
    };

    const serviceAccount = new kplus.ServiceAccount(this, "service-account", {
      metadata: { name: API, labels },
      automountToken: false,
    });
    const deployment = new kplus.Deployment(this, "deployment", {
      metadata: { name: API, labels },
      select: false,
      podMetadata: { labels },
      // With an autoscaler, cdk8s-plus leaves the count to it (the first rollout's is patched below).
      ...(values.api.autoscaling ? {} : { replicas: values.api.replicas }),
      strategy: kplus.DeploymentStrategy.rollingUpdate({
        maxUnavailable: kplus.PercentOrAbsolute.absolute(0),
        maxSurge: kplus.PercentOrAbsolute.absolute(1),
      }),
      serviceAccount: asAccount(serviceAccount),
      automountServiceAccountToken: false,
      securityContext: podSecurity,
      terminationGracePeriod: Duration.seconds(GRACE_PERIOD_SECONDS),
    });
    const tmp = tmpDirectory(deployment);
    deployment.addInitContainer(waitForMigrations(values.image, env, tmp));
    deployment.addContainer({
      name: "api",
      image: values.image,
      imagePullPolicy: IMAGE_PULL_POLICY,
      args: ["api"],
      ports: [{ name: "http", number: PORTS.api }],
      envVariables: env,
      resources: containerResources({ memoryMi: 512, cpuMillis: 250 }, { memoryMi: 1024, cpuMillis: 500 }),
      liveness: httpGetProbe("/health", PORTS.api, 30, 10),
      readiness: httpGetProbe("/health/ready", PORTS.api, 5, 5),
      lifecycle: {
        preStop: kplus.Handler.fromCommand(["node", "-e", `setTimeout(() => {}, ${PRE_STOP_SECONDS * 1000})`]),
      },
      securityContext: containerSecurity,
      volumeMounts: [tmp],
    });
    const template = "/spec/template";
    selectExactly(deployment, labels, template);
    restrictPod(deployment, template);
    // Not modelled by cdk8s-plus-28: the revision history, and zone spreading that refuses to
    // schedule rather than crowd one zone (its `spread` is a soft anti-affinity).
    const deploymentObject = ApiObject.of(deployment);
    deploymentObject.addJsonPatch(JsonPatch.add("/spec/revisionHistoryLimit", 5));
    if (values.highAvailability) {
      deploymentObject.addJsonPatch(JsonPatch.add(`${template}/spec/topologySpreadConstraints`, spread(API)));
    }
    const service = clusterService(this, "service", { name: API, labels }, [
      { name: "http", port: 80, targetPort: PORTS.api },
    ]);
    const ingress = new kplus.Ingress(this, "ingress", {
      metadata: {
        name: API,
        labels,
        annotations: {
          "cert-manager.io/cluster-issuer": values.tlsIssuer,
          "nginx.ingress.kubernetes.io/ssl-redirect": "true",
          "nginx.ingress.kubernetes.io/proxy-body-size": "1m",
        },
      },
      className: "nginx",
      tls: [{ hosts: [values.host], secret: kplus.Secret.fromSecretName(this, "tls-secret", `${API}-tls`) }],
    });
    for (const { path, pathType } of PUBLIC_PATHS) {
      ingress.addHostRule(values.host, path, kplus.IngressBackend.fromService(service), pathType);
    }
    serviceMonitor(this, API, labels, "http");
    if (values.highAvailability) disruptionBudget(this, API, labels);
    if (values.api.autoscaling) {
      const { minReplicas, maxReplicas, targetCpuPercent } = values.api.autoscaling;
      // A rollout before the autoscaler's first decision starts at its floor.
      deploymentObject.addJsonPatch(JsonPatch.add("/spec/replicas", minReplicas));
      // Kubernetes's own scaling behaviour (cdk8s-plus's defaults are slower both ways).
      const every15Seconds = (replicas: kplus.Replicas) => ({ replicas, duration: Duration.seconds(15) });
      new kplus.HorizontalPodAutoscaler(this, "autoscaler", {
        metadata: { name: API, labels },
        target: deployment,
        minReplicas,
        maxReplicas,
        metrics: [kplus.Metric.resourceCpu(kplus.MetricTarget.averageUtilization(targetCpuPercent))],
        scaleUp: {
          strategy: kplus.ScalingStrategy.MAX_CHANGE,
          stabilizationWindow: Duration.seconds(0),
          policies: [every15Seconds(kplus.Replicas.percent(100)), every15Seconds(kplus.Replicas.absolute(4))],
        },
        scaleDown: {
          strategy: kplus.ScalingStrategy.MAX_CHANGE,
          stabilizationWindow: Duration.minutes(5),
          policies: [every15Seconds(kplus.Replicas.percent(100))],
        },
      });
    }
  }
}
