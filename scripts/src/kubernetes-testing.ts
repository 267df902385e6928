/**
 * A local server speaking the part of the Kubernetes API a restore uses — a Deployment's `scale`
 * subresource (GET, merge PATCH) and pods (list, and watch as a stream of events from a resource
 * version) — behind a bearer token, for tests that drive the real client against it. It behaves
 * as a cluster does: scaling down marks the surplus pods terminating (a MODIFIED event with a
 * deletion timestamp) and removes them later (DELETED), scaling up creates pods (ADDED); how long
 * a pod takes to terminate is the test's to decide (`holdTermination`), as the kubelet's would be.
 */
import { once, EventEmitter } from "node:events";
import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

interface Pod {
  readonly name: string;
  readonly deployment: string;
  terminating: boolean;
  resourceVersion: number;
}

interface Deployment {
  readonly name: string;
  replicas: number;
  readonly labels: Readonly<Record<string, string>>;
  created: number;
}

interface WatchEvent {
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly pod: Pod;
  readonly resourceVersion: number;
}

export interface FakeCluster {
  readonly url: string;
  readonly namespace: string;
  /** Every request as `METHOD path?query`, in order. */
  readonly requests: readonly string[];
  replicas(deployment: string): number;
  /** The Deployment's pods that exist, terminating ones included. */
  pods(deployment: string): string[];
  /** While held, scaled-down pods stay terminating until `release()`. */
  holdTermination(hold: boolean): void;
  /** Lets every terminating pod go. */
  release(): void;
  /** Resolves when a PATCH sets the Deployment's replicas to `replicas`. */
  scaledTo(deployment: string, replicas: number): Promise<void>;
  /** A kubeconfig file for this server, with its token and the namespace as the context's. */
  kubeconfig(directory: string, options?: { readonly namespace?: string | null; readonly token?: string }): string;
  stop(): Promise<void>;
}

const status = (code: number, reason: string, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  code,
});

/** Starts the server with these Deployments (name → replicas), each with running pods. */
export async function startFakeCluster(options: {
  readonly namespace: string;
  readonly deployments: Readonly<Record<string, number>>;
  readonly token?: string;
}): Promise<FakeCluster> {
  const token = options.token ?? "test-token";
  const { namespace } = options;
  const requests: string[] = [];
  const events: WatchEvent[] = [];
  const emitter = new EventEmitter();
  let version = 1;
  let hold = false;
  const deployments = new Map<string, Deployment>();
  const pods = new Map<string, Pod>();
  const watchers = new Set<ServerResponse>();

  const record = (type: WatchEvent["type"], pod: Pod) => {
    version += 1;
    pod.resourceVersion = version;
    const event = { type, pod: { ...pod }, resourceVersion: version };
    events.push(event);
    emitter.emit("event", event);
  };
  const podObject = (pod: Pod) => {
    const deployment = deployments.get(pod.deployment);
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: pod.name,
        namespace,
        resourceVersion: String(pod.resourceVersion),
        labels: { ...deployment?.labels, "pod-template-hash": "5d8f7c9b6" },
        ...(pod.terminating ? { deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: 60 } : {}),
      },
      status: { phase: "Running" },
    };
  };
  const remove = (pod: Pod) => {
    pods.delete(pod.name);
    record("DELETED", pod);
  };
  const reconcile = (deployment: Deployment) => {
    const own = [...pods.values()].filter((pod) => pod.deployment === deployment.name && !pod.terminating);
    for (const pod of own.slice(deployment.replicas)) {
      pod.terminating = true;
      record("MODIFIED", pod);
      if (!hold)
        setImmediate(() => {
          remove(pod);
        });
    }
    for (let index = own.length; index < deployment.replicas; index++) {
      deployment.created += 1;
      const pod: Pod = {
        name: `${deployment.name}-5d8f7c9b6-${String(deployment.created).padStart(5, "0")}`,
        deployment: deployment.name,
        terminating: false,
        resourceVersion: 0,
      };
      pods.set(pod.name, pod);
      record("ADDED", pod);
    }
  };
  for (const [name, replicas] of Object.entries(options.deployments)) {
    const deployment: Deployment = {
      name,
      replicas,
      labels: { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "paimon" },
      created: 0,
    };
    deployments.set(name, deployment);
    reconcile(deployment);
  }

  const matches = (pod: Pod, selector: string | null) => {
    const labels = deployments.get(pod.deployment)?.labels ?? {};
    if (selector === null || selector === "") return true;
    return selector.split(",").every((term) => {
      const [key = "", value] = term.split("=");
      return labels[key] === value;
    });
  };
  const scaleObject = (deployment: Deployment) => ({
    apiVersion: "autoscaling/v1",
    kind: "Scale",
    metadata: { name: deployment.name, namespace, resourceVersion: String(version) },
    spec: { replicas: deployment.replicas },
    status: {
      replicas: [...pods.values()].filter((pod) => pod.deployment === deployment.name).length,
      selector: Object.entries(deployment.labels)
        .map(([key, value]) => `${key}=${value}`)
        .join(","),
    },
  });
  const send = (response: ServerResponse, code: number, body: unknown) => {
    response.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  const readBody = async (request: IncomingMessage) => {
    let text = "";
    for await (const chunk of request) text += (chunk as Buffer).toString("utf8");
    return text;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    requests.push(`${request.method ?? ""} ${url.pathname}${url.search}`);
    if (request.headers.authorization !== `Bearer ${token}`) {
      send(response, 401, status(401, "Unauthorized", "Unauthorized"));
      return;
    }
    const scale = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)\/scale$/.exec(url.pathname);
    const podList = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (scale) {
      const [, space, name = ""] = scale;
      const deployment = space === namespace ? deployments.get(name) : undefined;
      if (!deployment) {
        send(response, 404, status(404, "NotFound", `deployments.apps "${name}" not found`));
        return;
      }
      if (request.method === "GET") {
        send(response, 200, scaleObject(deployment));
        return;
      }
      if (request.method === "PATCH") {
        if (request.headers["content-type"] !== "application/merge-patch+json") {
          send(response, 415, status(415, "UnsupportedMediaType", `the body of the request was in an unknown format`));
          return;
        }
        const patch = JSON.parse(await readBody(request)) as { spec?: { replicas?: unknown } };
        const replicas = patch.spec?.replicas;
        if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
          send(response, 422, status(422, "Invalid", `Scale.autoscaling "${name}" is invalid: spec.replicas`));
          return;
        }
        deployment.replicas = replicas;
        reconcile(deployment);
        send(response, 200, scaleObject(deployment));
        emitter.emit("scaled", name, replicas);
        return;
      }
      send(response, 405, status(405, "MethodNotAllowed", "the server does not allow this method"));
      return;
    }
    if (podList && request.method === "GET") {
      if (podList[1] !== namespace) {
        send(response, 200, {
          apiVersion: "v1",
          kind: "PodList",
          metadata: { resourceVersion: String(version) },
          items: [],
        });
        return;
      }
      const selector = url.searchParams.get("labelSelector");
      if (url.searchParams.get("watch") !== "true") {
        send(response, 200, {
          apiVersion: "v1",
          kind: "PodList",
          metadata: { resourceVersion: String(version) },
          items: [...pods.values()].filter((pod) => matches(pod, selector)).map(podObject),
        });
        return;
      }
      const from = Number(url.searchParams.get("resourceVersion") ?? version);
      response.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
      const write = (event: WatchEvent) => {
        if (event.resourceVersion > from && matches(event.pod, selector))
          response.write(`${JSON.stringify({ type: event.type, object: podObject(event.pod) })}\n`);
      };
      for (const event of events) write(event);
      emitter.on("event", write);
      watchers.add(response);
      response.on("close", () => {
        emitter.off("event", write);
        watchers.delete(response);
      });
      return;
    }
    send(response, 404, status(404, "NotFound", "the server could not find the requested resource"));
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      send(response, 500, status(500, "InternalError", String(error)));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;

  return {
    url,
    namespace,
    requests,
    replicas: (name) => deployments.get(name)?.replicas ?? Number.NaN,
    pods: (name) =>
      [...pods.values()]
        .filter((pod) => pod.deployment === name)
        .map((pod) => pod.name)
        .sort(),
    holdTermination(value) {
      hold = value;
    },
    release() {
      for (const pod of [...pods.values()]) if (pod.terminating) remove(pod);
    },
    scaledTo(name, replicas) {
      return new Promise((resolve) => {
        const listener = (scaled: string, to: number) => {
          if (scaled !== name || to !== replicas) return;
          emitter.off("scaled", listener);
          resolve();
        };
        emitter.on("scaled", listener);
      });
    },
    kubeconfig(directory, config = {}) {
      const file = path.join(directory, "kubeconfig.json");
      const contextNamespace = config.namespace === undefined ? namespace : config.namespace;
      writeFileSync(
        file,
        JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          // Plain HTTP on loopback: the client allows it only with verification off.
          clusters: [{ name: "local", cluster: { server: url, "insecure-skip-tls-verify": true } }],
          users: [{ name: "ops", user: { token: config.token ?? token } }],
          contexts: [
            {
              name: "local",
              context: {
                cluster: "local",
                user: "ops",
                ...(contextNamespace === null ? {} : { namespace: contextNamespace }),
              },
            },
          ],
          "current-context": "local",
        }),
      );
      return file;
    },
    async stop() {
      for (const watcher of watchers) watcher.end();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
