import { Chart, type ChartProps } from "cdk8s";
import { k8s } from "cdk8s-plus-28";
import type { Construct } from "constructs";
import {
  containerSecurityContext,
  podSecurityContext,
  resources,
  secretEnv,
  selectorLabels,
  tmpMount,
  tmpVolume,
} from "./pod";
import type { WorkloadValues } from "./values";

export const MIGRATE = "paimon-migrate";
/** The image's entrypoint: apply every migration it knows; wait until they are all applied. */
export const MIGRATE_ARGS = ["migrate"] as const;
export const WAIT_FOR_MIGRATIONS_ARGS = ["migrate", "--wait"] as const;
/** The databases a migration touches: the fund's, and the metrics database where it is set. */
const DATABASE_VARIABLES = ["DATABASE_URL", "METRICS_DATABASE_URL"];

/**
 * The init container of a Deployment that needs the schema: `migrate --wait` exits once every
 * database the workload reads (the same variables it has) holds every migration of this image,
 * so a new image's pods start only after its migration Job has run, and old pods keep serving
 * meanwhile (migrations are additive until the release after).
 */
export function waitForMigrations(image: string, env: readonly k8s.EnvVar[]): k8s.Container {
  return {
    name: "wait-for-migrations",
    image,
    args: [...WAIT_FOR_MIGRATIONS_ARGS],
    env: env.filter((variable) => DATABASE_VARIABLES.includes(variable.name)),
    resources: resources({ memory: "64Mi", cpu: "10m" }, { memory: "128Mi", cpu: "100m" }),
    securityContext: containerSecurityContext,
    volumeMounts: [tmpMount],
  };
}

export interface MigrationsChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

/**
 * The schema migrations as a Job of the services' image: `migrate` applies the fund database's
 * migrations and the metrics database's. A new image replaces the Job (its template is
 * immutable), so every rollout runs it once; `pulumi up` waits for it and fails when it fails,
 * and the Deployments' init containers hold their new pods until it has succeeded.
 */
export class MigrationsChart extends Chart {
  constructor(scope: Construct, id: string, props: MigrationsChartProps) {
    super(scope, id, { ...props, namespace: props.values.namespace });
    const { values } = props;
    const labels = selectorLabels(MIGRATE);
    new k8s.KubeServiceAccount(this, "service-account", {
      metadata: { name: MIGRATE, labels },
      automountServiceAccountToken: false,
    });
    new k8s.KubeJob(this, "job", {
      metadata: { name: MIGRATE, labels },
      spec: {
        backoffLimit: 4,
        activeDeadlineSeconds: 1800,
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: MIGRATE,
            automountServiceAccountToken: false,
            restartPolicy: "Never",
            securityContext: podSecurityContext,
            volumes: [tmpVolume],
            containers: [
              {
                name: "migrate",
                image: values.image,
                args: [...MIGRATE_ARGS],
                env: [
                  secretEnv("DATABASE_URL", "database-url"),
                  secretEnv("METRICS_DATABASE_URL", "metrics-database-url"),
                ],
                resources: resources({ memory: "256Mi", cpu: "100m" }, { memory: "512Mi", cpu: "500m" }),
                securityContext: containerSecurityContext,
                volumeMounts: [tmpMount],
              },
            ],
          },
        },
      },
    });
  }
}
