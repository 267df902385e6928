import { Chart, Duration, type ChartProps } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { selectorLabels } from "./pod";
import {
  IMAGE_PULL_POLICY,
  asAccount,
  containerResources,
  containerSecurity,
  fromSecret,
  podSecurity,
  restrictPod,
  syncedSecret,
  tmpDirectory,
  withoutAddressLabel,
} from "./plus";
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
 *
 * It reads the workload's own environment and mounts its /tmp.
 */
export function waitForMigrations(
  image: string,
  env: Readonly<Record<string, kplus.EnvValue>>,
  tmp: kplus.VolumeMount,
): kplus.ContainerProps {
  return {
    name: "wait-for-migrations",
    image,
    imagePullPolicy: IMAGE_PULL_POLICY,
    args: [...WAIT_FOR_MIGRATIONS_ARGS],
    envVariables: Object.fromEntries(Object.entries(env).filter(([name]) => DATABASE_VARIABLES.includes(name))),
    resources: containerResources({ memoryMi: 64, cpuMillis: 10 }, { memoryMi: 128, cpuMillis: 100 }),
    securityContext: containerSecurity,
    volumeMounts: [tmp],
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
    const secret = syncedSecret(this);
    const serviceAccount = new kplus.ServiceAccount(this, "service-account", {
      metadata: { name: MIGRATE, labels },
      automountToken: false,
    });
    const job = new kplus.Job(this, "job", {
      metadata: { name: MIGRATE, labels },
      podMetadata: { labels },
      backoffLimit: 4,
      activeDeadline: Duration.seconds(1800),
      serviceAccount: asAccount(serviceAccount),
      automountServiceAccountToken: false,
      restartPolicy: kplus.RestartPolicy.NEVER,
      securityContext: podSecurity,
    });
    job.addContainer({
      name: "migrate",
      image: values.image,
      imagePullPolicy: IMAGE_PULL_POLICY,
      args: [...MIGRATE_ARGS],
      envVariables: {
        DATABASE_URL: fromSecret(secret, "database-url"),
        METRICS_DATABASE_URL: fromSecret(secret, "metrics-database-url"),
      },
      resources: containerResources({ memoryMi: 256, cpuMillis: 100 }, { memoryMi: 512, cpuMillis: 500 }),
      securityContext: containerSecurity,
      volumeMounts: [tmpDirectory(job)],
    });
    withoutAddressLabel(job, "/spec/template");
    restrictPod(job, "/spec/template");
  }
}
