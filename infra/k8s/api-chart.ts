import { Chart, type ChartProps } from "cdk8s";
import { k8s } from "cdk8s-plus-28";
import type { Construct } from "constructs";
import {
  containerSecurityContext,
  disruptionBudget,
  httpProbe,
  plainEnv,
  podSecurityContext,
  port,
  redisEnv,
  resources,
  secretEnv,
  selectorLabels,
  serviceMonitor,
  spread,
  tmpMount,
  tmpVolume,
} from "./pod";
import { waitForMigrations } from "./migrations-chart";
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
  { path: "/v1", pathType: "Prefix" },
  { path: "/health", pathType: "Exact" },
  { path: "/health/ready", pathType: "Exact" },
  { path: "/openapi.json", pathType: "Exact" },
] as const;

export class ApiChart extends Chart {
  constructor(scope: Construct, id: string, props: ApiChartProps) {
    super(scope, id, { ...props, namespace: props.values.namespace });
    const { values } = props;
    const labels = selectorLabels(API);
    const env = [
      ...plainEnv({ ENVIRONMENT: values.environment, PORT: String(PORTS.api) }),
      secretEnv("DATABASE_URL", "database-url"),
      secretEnv("METRICS_DATABASE_URL", "metrics-database-url"),
      secretEnv("REDIS_URL", "redis-url"),
      ...redisEnv(values.redisCluster, { queues: false }),
      secretEnv("JWT_SECRET", "jwt-secret"),
      secretEnv("ORIGIN_VERIFY_SECRET", "origin-verify"),
    ];

    new k8s.KubeServiceAccount(this, "service-account", {
      metadata: { name: API, labels },
      automountServiceAccountToken: false,
    });
    new k8s.KubeDeployment(this, "deployment", {
      metadata: { name: API, labels },
      spec: {
        replicas: values.api.autoscaling ? values.api.autoscaling.minReplicas : values.api.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: labels },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: port(0), maxSurge: port(1) } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: API,
            automountServiceAccountToken: false,
            securityContext: podSecurityContext,
            terminationGracePeriodSeconds: GRACE_PERIOD_SECONDS,
            ...(values.highAvailability ? { topologySpreadConstraints: spread(API) } : {}),
            volumes: [tmpVolume],
            initContainers: [waitForMigrations(values.image, env)],
            containers: [
              {
                name: "api",
                image: values.image,
                args: ["api"],
                ports: [{ name: "http", containerPort: PORTS.api }],
                env,
                resources: resources({ memory: "512Mi", cpu: "250m" }, { memory: "1Gi", cpu: "500m" }),
                livenessProbe: httpProbe("/health", PORTS.api, 30, 10),
                readinessProbe: httpProbe("/health/ready", PORTS.api, 5, 5),
                lifecycle: {
                  preStop: { exec: { command: ["node", "-e", `setTimeout(() => {}, ${PRE_STOP_SECONDS * 1000})`] } },
                },
                securityContext: containerSecurityContext,
                volumeMounts: [tmpMount],
              },
            ],
          },
        },
      },
    });
    new k8s.KubeService(this, "service", {
      metadata: { name: API, labels },
      spec: {
        type: "ClusterIP",
        selector: labels,
        ports: [{ name: "http", port: 80, targetPort: k8s.IntOrString.fromString("http") }],
      },
    });
    new k8s.KubeIngress(this, "ingress", {
      metadata: {
        name: API,
        labels,
        annotations: {
          "cert-manager.io/cluster-issuer": values.tlsIssuer,
          "nginx.ingress.kubernetes.io/ssl-redirect": "true",
          "nginx.ingress.kubernetes.io/proxy-body-size": "1m",
        },
      },
      spec: {
        ingressClassName: "nginx",
        tls: [{ hosts: [values.host], secretName: `${API}-tls` }],
        rules: [
          {
            host: values.host,
            http: {
              paths: PUBLIC_PATHS.map(({ path, pathType }) => ({
                path,
                pathType,
                backend: { service: { name: API, port: { name: "http" } } },
              })),
            },
          },
        ],
      },
    });
    serviceMonitor(this, API, labels, "http");
    if (values.highAvailability) disruptionBudget(this, API, labels);
    if (values.api.autoscaling) {
      const { minReplicas, maxReplicas, targetCpuPercent } = values.api.autoscaling;
      new k8s.KubeHorizontalPodAutoscalerV2(this, "autoscaler", {
        metadata: { name: API, labels },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: API },
          minReplicas,
          maxReplicas,
          metrics: [
            {
              type: "Resource",
              resource: { name: "cpu", target: { type: "Utilization", averageUtilization: targetCpuPercent } },
            },
          ],
        },
      });
    }
  }
}
