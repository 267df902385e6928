/**
 * The fund's background programs as a cluster runs them: each name is its Deployment's, Service's
 * and service account's (the charts name them from here), and what a restore scales to zero
 * before it touches the database. One table, so that a renamed Deployment cannot leave a restore
 * scaling something that is not there.
 */

export const EVENT_LISTENER = "paimon-event-listener";

/**
 * The workers of §2.3, one image, `--worker=<name>` each: the one list of them (the charts, the
 * workers' `--worker` flag, `pnpm dev`, a restore's writers). In the order a rebalance flows
 * through them — the risk monitor raises it, the scheduler raises the scheduled ones, the
 * rebalance worker sends it — which is also the order of `pnpm dev`'s health ports (8002, 8003,
 * 8004) and of the writers a restore stops.
 */
export const WORKERS = ["risk", "scheduler", "rebalance"] as const;
export type Worker = (typeof WORKERS)[number];
export const workerName = (worker: Worker) => `paimon-${worker}-worker` as const;

/**
 * The programs that write to the fund's database — the listener (its writer lock) and the workers
 * (the sender's lanes, settlements, assessments). The API stays up through a restore: it reads.
 */
export const WRITER_DEPLOYMENTS: readonly string[] = [EVENT_LISTENER, ...WORKERS.map(workerName)];

/**
 * The OpenSearch security Job's ConfigMap: the file listing, in order, each security API path and
 * the body file PUT to it — written by the logging chart, read by `ops opensearch-security apply`.
 */
export const OPENSEARCH_SECURITY_MANIFEST = "requests.json";

/**
 * The DR drill (`ops dr-drill --rds-source`, the CronJob paimon-dr-drill): the tag every scratch
 * instance it restores carries — its IAM role creates, changes and deletes only instances that do
 * — and how long one run may last (the CronJob's deadline). A scratch instance whose drill began
 * longer ago than that belongs to no running drill, so the next drill deletes it.
 */
export const DR_DRILL_SCRATCH_TAG = { key: "paimon:purpose", value: "dr-drill" } as const;
export const DR_DRILL_DEADLINE_SECONDS = 6 * 3600;
