/**
 * The writers in a cluster: the listener's and the workers' Deployments, scaled to zero through
 * their `scale` subresource (the one thing the ops role may change about them: not their pod
 * template, which would let it run anything as their service accounts), their pods watched until
 * the last has gone — a pod that is still terminating may still hold its lock and write — and
 * scaled back to the replicas each had.
 */
import { setTimeout as delay } from "node:timers/promises";
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, Watch, setHeaderOptions } from "@kubernetes/client-node";
import { AppError } from "@paimon/core/errors";
import type { StoppedWriters, Writers } from "./writers";
import { WritersError } from "./writers";

/** How long a writer's pods may take to go: their grace period is 60 s, with room for the node. */
export const PODS_GONE_TIMEOUT_MS = 10 * 60_000;
const WATCH_RESTART_MS = 1_000;

export interface KubernetesWritersOptions {
  readonly kubeConfig: KubeConfig;
  /** The fund's namespace, where the Deployments live. */
  readonly namespace: string;
  /** The Deployments to stop, in order. */
  readonly deployments: readonly string[];
  /** @default PODS_GONE_TIMEOUT_MS */
  readonly podsGoneTimeoutMs?: number;
  /** Progress, one line at a time (the CLI's standard error). */
  readonly log?: (line: string) => void;
}

/** Where the configuration comes from: the pod's service account, or a kubeconfig file. */
export type KubeConfigSource =
  | { readonly inCluster: true; readonly namespace?: string | undefined }
  | { readonly file: string; readonly namespace?: string | undefined };

/**
 * The client configuration and the namespace: KUBERNETES_NAMESPACE when given, else the pod's own
 * namespace in a cluster, else the kubeconfig's current context's.
 */
export function loadKubeConfig(source: KubeConfigSource): { kubeConfig: KubeConfig; namespace: string } {
  const kubeConfig = new KubeConfig();
  if ("inCluster" in source) kubeConfig.loadFromCluster();
  else {
    try {
      kubeConfig.loadFromFile(source.file);
    } catch (error) {
      throw invalid(`KUBECONFIG: cannot read ${source.file}: ${(error as Error).message}`);
    }
  }
  const namespace = source.namespace ?? kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  if (namespace === undefined || namespace === "")
    throw invalid("KUBERNETES_NAMESPACE: missing (the current context names no namespace): the fund's namespace");
  return { kubeConfig, namespace };
}

const invalid = (problem: string) =>
  new AppError("invalid_configuration", `invalid configuration: ${problem}`, { details: { problems: [problem] } });

interface Recorded {
  readonly deployment: string;
  readonly replicas: number;
}

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** The Deployments of `deployments` as writers that the restore stops. */
export function kubernetesWriters(options: KubernetesWritersOptions): Writers {
  const apps = options.kubeConfig.makeApiClient(AppsV1Api);
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const watch = new Watch(options.kubeConfig);
  const { namespace } = options;
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.podsGoneTimeoutMs ?? PODS_GONE_TIMEOUT_MS;

  const scale = async (deployment: string, replicas: number) => {
    await apps.patchNamespacedDeploymentScale(
      { name: deployment, namespace, body: { spec: { replicas } } },
      mergePatch,
    );
  };

  const startAgain = async (recorded: readonly Recorded[]) => {
    const failures: string[] = [];
    for (const { deployment, replicas } of recorded) {
      if (replicas === 0) continue;
      try {
        await scale(deployment, replicas);
        log(`${deployment}: scaled back to ${replicas}`);
      } catch (error) {
        failures.push(`${deployment} (to ${replicas}): ${describe(error)}`);
      }
    }
    if (failures.length > 0)
      throw new WritersError(`could not scale back in namespace ${namespace}: ${failures.join("; ")}`);
  };

  return {
    where: `Deployments in namespace ${namespace}`,
    async stop(): Promise<StoppedWriters> {
      const recorded: Recorded[] = [];
      try {
        for (const deployment of options.deployments) {
          const current = await apps.readNamespacedDeploymentScale({ name: deployment, namespace });
          const replicas = current.spec?.replicas ?? 0;
          const selector = current.status?.selector;
          if (selector === undefined || selector === "")
            throw new WritersError(`${deployment}: its scale has no pod selector`);
          // Recorded before it changes: a failure from here on scales it back.
          recorded.push({ deployment, replicas });
          // Printed first, so that an interrupted restore leaves the counts to scale back to.
          log(
            replicas === 0
              ? `${deployment}: already at 0 replicas; it stays at 0 afterwards`
              : `${deployment}: scaling ${replicas} → 0`,
          );
          if (replicas !== 0) await scale(deployment, 0);
          await podsGone(deployment, selector);
        }
      } catch (error) {
        await startAgain(recorded).catch((startError: unknown) => {
          log(`could not scale back after the failed stop: ${(startError as Error).message}`);
        });
        throw error instanceof WritersError
          ? error
          : new WritersError(`stopping the writers in namespace ${namespace}: ${describe(error)}`, { cause: error });
      }
      return {
        stopped: recorded.map(({ deployment, replicas }) => `${deployment}: ${replicas} → 0`),
        start: () => startAgain(recorded),
      };
    },
  };

  /**
   * Resolves once no pod matches `selector`: listed, then watched from the list's resource
   * version, so that no deletion between the two is missed. A watch the server ends (its timeout,
   * or 410 Gone) is listed and watched again.
   */
  async function podsGone(deployment: string, selector: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = await core.listNamespacedPod({ namespace, labelSelector: selector });
      const pods = new Set(list.items.map((pod) => pod.metadata?.name ?? ""));
      if (pods.size === 0) {
        log(`${deployment}: no pods left`);
        return;
      }
      log(`${deployment}: waiting for ${[...pods].sort().join(", ")} to go`);
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new WritersError(
          `${deployment}: pods ${[...pods].sort().join(", ")} still there ${Math.round(timeoutMs / 1000)} s after scaling to 0`,
        );
      const gone = await new Promise<boolean>((resolve, reject) => {
        let controller: AbortController | undefined;
        let settled = false;
        const settle = (outcome: boolean | Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          controller?.abort();
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        };
        const timer = setTimeout(() => {
          settle(false);
        }, remaining);
        void watch
          .watch(
            `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
            {
              labelSelector: selector,
              resourceVersion: list.metadata?.resourceVersion,
              allowWatchBookmarks: true,
            },
            (type, object: { metadata?: { name?: string } }) => {
              const name = object.metadata?.name ?? "";
              if (type === "ADDED") pods.add(name);
              if (type === "DELETED") pods.delete(name);
              if (pods.size === 0) settle(true);
            },
            // The stream ended (the server's timeout, an error, 410 Gone): list again.
            () => {
              settle(false);
            },
          )
          .then(
            (started) => {
              controller = started;
              if (settled) started.abort();
            },
            (error: unknown) => {
              settle(error instanceof Error ? error : new Error(String(error)));
            },
          );
      });
      if (gone) {
        log(`${deployment}: no pods left`);
        return;
      }
      // The server ended the watch (its timeout, 410 Gone): a breath before listing again, so
      // that a server ending every watch at once is not asked in a tight loop.
      await delay(WATCH_RESTART_MS);
    }
  }
}

/** An API error's status and the server's message. */
function describe(error: unknown): string {
  const { code, body } = error as { code?: number; body?: unknown };
  if (typeof code === "number") {
    let message = typeof body === "string" ? body : "";
    try {
      message = (JSON.parse(message) as { message?: string }).message ?? message;
    } catch {
      // The body is not a Status object: keep it as it is.
    }
    return `HTTP ${code}${message ? `: ${message}` : ""}`;
  }
  return (error as Error).message;
}
