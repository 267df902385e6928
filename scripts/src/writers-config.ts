/**
 * Which writers a restore stops: the Deployments of a cluster (in a pod of it, or with a
 * kubeconfig), the processes of `pnpm dev`, or none — a restore into a scratch database, which no
 * service writes to. `--writers` says so explicitly; without it the target and the environment
 * decide.
 */
import path from "node:path";
import { AppError } from "@paimon/core/errors";
import { WRITER_DEPLOYMENTS } from "@paimon/core/workloads";
import { kubernetesWriters, loadKubeConfig } from "./kubernetes";
import { devWriters } from "./writers-dev";
import { noWriters, type Writers } from "./writers";

/** A configuration problem, named by its variable: the CLI's exit 64. */
export const configurationError = (problem: string): AppError =>
  new AppError("invalid_configuration", `invalid configuration: ${problem}`, { details: { problems: [problem] } });

export const WRITERS_CHOICES = ["kubernetes", "dev", "none"] as const;
export type WritersChoice = (typeof WRITERS_CHOICES)[number];

/** What the choice reads from the environment. */
export interface WritersEnvironment {
  /** Set by Kubernetes in every pod: the command runs inside the cluster. */
  readonly KUBERNETES_SERVICE_HOST?: string | undefined;
  /** A kubeconfig file (one; kubectl's list of several is not merged here). */
  readonly KUBECONFIG?: string | undefined;
  /** The fund's namespace, when the context does not name it. */
  readonly KUBERNETES_NAMESPACE?: string | undefined;
  readonly HOME?: string | undefined;
}

/** The choice when `--writers` is not given. */
export function defaultWriters(env: WritersEnvironment, target: "services" | "other"): WritersChoice {
  if (target === "other") return "none";
  return env.KUBERNETES_SERVICE_HOST !== undefined || env.KUBECONFIG !== undefined ? "kubernetes" : "dev";
}

export function openWriters(options: {
  readonly choice: WritersChoice;
  readonly env: WritersEnvironment;
  /** The database restored into: `pnpm dev`'s writers are found by its name. */
  readonly targetUrl: string;
  readonly log?: (line: string) => void;
}): Writers {
  const { env } = options;
  switch (options.choice) {
    case "none":
      return noWriters;
    case "dev":
      return devWriters({
        database: decodeURIComponent(new URL(options.targetUrl).pathname.replace(/^\//, "")),
        ...(options.log ? { log: options.log } : {}),
      });
    case "kubernetes": {
      const namespace = env.KUBERNETES_NAMESPACE;
      const file = env.KUBECONFIG ?? (env.HOME === undefined ? undefined : path.join(env.HOME, ".kube", "config"));
      if (file?.includes(path.delimiter)) throw configurationError(`KUBECONFIG: name one file, not a list (${file})`);
      const source =
        env.KUBERNETES_SERVICE_HOST !== undefined
          ? { inCluster: true as const, namespace }
          : file === undefined
            ? undefined
            : { file, namespace };
      if (source === undefined)
        throw configurationError("KUBECONFIG: missing (not in a cluster, and no HOME for ~/.kube/config)");
      const loaded = loadKubeConfig(source);
      return kubernetesWriters({
        ...loaded,
        deployments: WRITER_DEPLOYMENTS,
        ...(options.log ? { log: options.log } : {}),
      });
    }
  }
}
