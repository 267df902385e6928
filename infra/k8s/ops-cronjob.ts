import { Cron, Duration, type CronOptions, type Size } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { selectorLabels } from "./pod";
import {
  CRON_JOB_TEMPLATE,
  IMAGE_PULL_POLICY,
  asAccount,
  containerSecurity,
  finishedJobsTtl,
  podSecurity,
  restrictPod,
  tmpDirectory,
  withoutAddressLabel,
} from "./plus";

export interface OpsCronJobProps {
  /** The CronJob's name; its pods' `app.kubernetes.io/name`, and the labels of all it creates. */
  readonly name: string;
  /** The services' image, by the services' own reference: it carries the operator's commands. */
  readonly image: string;
  /** When it runs, in UTC. */
  readonly schedule: CronOptions;
  /** How late past a scheduled time a run may still start; later, that run is skipped. At least 10 s. */
  readonly startingDeadline: Duration;
  /** How many failed Jobs (and their pods' logs) are kept besides the last three successful ones. */
  readonly failedJobsRetained: number;
  /** Retries of a failed run, each a new pod, within `activeDeadline`. */
  readonly backoffLimit: number;
  /** The deadline of the whole Job, retries included: past it the Job fails and its pod is stopped. */
  readonly activeDeadline: Duration;
  /**
   * From SIGTERM (the deadline, a drain, an eviction) to SIGKILL.
   * @default Duration.seconds(30), Kubernetes' own
   */
  readonly terminationGrace?: Duration;
  /** How long a finished Job is kept, whatever the history limits keep. */
  readonly finishedJobsTtl: Duration;
  /** The account the pods run as. */
  readonly serviceAccount: {
    readonly name: string;
    /**
     * The IRSA role the pods assume, for a job that calls AWS.
     * @default none: the account carries no role and the pods mount no token
     */
    readonly awsRoleArn?: string;
  };
  /** The one container. */
  readonly container: {
    readonly name: string;
    /** What it runs after the image's entrypoint. */
    readonly args: readonly string[];
    readonly env: Readonly<Record<string, kplus.EnvValue>>;
    readonly resources: kplus.ContainerResources;
    /**
     * The size of its writable /tmp.
     * @default 256 MiB (plus.ts's `tmpDirectory`)
     */
    readonly tmpSize?: Size;
  };
}

/**
 * An operations CronJob (a backup, the daily checklist, the DR drill): one container of the
 * services' image running an operator's command, with its own service account. What every such
 * job shares is fixed here:
 *
 * - Schedules are in `Etc/UTC`, whatever the controller manager's zone, so that the times the
 *   charts give (and the order of the night's backups, the drill and the morning's check) hold.
 * - `Forbid`: a run never overlaps the one before it (two dumps into one prefix, two drills'
 *   scratches, two checks pushing the same statuses); a run still going skips the next.
 * - Restart `Never`: a failed command fails its pod, kept with its logs, and any retry is a new pod
 *   counted against `backoffLimit`, so a failed run ends as a failed Job, which the alerts see.
 * - The last three successful Jobs are kept (cdk8s-plus's and Kubernetes' default, written out),
 *   and finished Jobs are deleted after `finishedJobsTtl` through plus.ts's `finishedJobsTtl`.
 * - The restricted Pod Security profile at pod and container level, the seccomp profile included,
 *   and a read-only root with a writable /tmp; pods carry only the job's labels, which the
 *   network policies select by.
 * - The image is pulled as the services' (`IMAGE_PULL_POLICY`): the same pinned reference.
 * - The account mounts a token, and the pod too, exactly when it carries an IRSA role: as every
 *   pod with an AWS role (services-chart.ts), since IRSA's web-identity token has been reported
 *   unreadable in pods that mount none; a job that calls no AWS API needs no Kubernetes token.
 */
export function opsCronJob(scope: Construct, id: string, props: OpsCronJobProps): kplus.CronJob {
  const { name, serviceAccount: account, container } = props;
  const labels = selectorLabels(name);
  const roleArn = account.awsRoleArn;
  const mountsToken = roleArn !== undefined;
  const serviceAccount = new kplus.ServiceAccount(scope, `${id}-service-account`, {
    metadata: {
      name: account.name,
      labels,
      ...(roleArn === undefined ? {} : { annotations: { "eks.amazonaws.com/role-arn": roleArn } }),
    },
    automountToken: mountsToken,
  });
  const cronJob = new kplus.CronJob(scope, `${id}-cronjob`, {
    metadata: { name, labels },
    podMetadata: { labels },
    schedule: Cron.schedule(props.schedule),
    timeZone: "Etc/UTC",
    concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID,
    startingDeadline: props.startingDeadline,
    successfulJobsRetained: 3,
    failedJobsRetained: props.failedJobsRetained,
    backoffLimit: props.backoffLimit,
    activeDeadline: props.activeDeadline,
    terminationGracePeriod: props.terminationGrace ?? Duration.seconds(30),
    serviceAccount: asAccount(serviceAccount),
    automountServiceAccountToken: mountsToken,
    restartPolicy: kplus.RestartPolicy.NEVER,
    securityContext: podSecurity,
  });
  cronJob.addContainer({
    name: container.name,
    image: props.image,
    imagePullPolicy: IMAGE_PULL_POLICY,
    args: [...container.args],
    envVariables: { ...container.env },
    resources: container.resources,
    securityContext: containerSecurity,
    volumeMounts: [tmpDirectory(cronJob, container.tmpSize)],
  });
  withoutAddressLabel(cronJob, CRON_JOB_TEMPLATE);
  restrictPod(cronJob, CRON_JOB_TEMPLATE);
  finishedJobsTtl(cronJob, props.finishedJobsTtl);
  return cronJob;
}
