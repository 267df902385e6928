import { describe, expect, it } from "vitest";
import type { StackConfig } from "../config";
import { readStackConfigs } from "../planner/stack-configs";
import { listStacks } from "../planner/stacks";
import { API } from "./api-chart";
import { PUSHGATEWAY_URL } from "./backups-chart";
import { synthesizeStack } from "./main";
import { selectorLabels } from "./pod";
import { EVENT_LISTENER, WORKERS, workerName } from "./services-chart";
import { TIMESCALEDB, metricsDatabaseUrl } from "./timescaledb-chart";

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
} & Record<string, unknown>;
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  securityContext?: Record<string, unknown>;
  env?: EnvVar[];
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface NetworkPolicySpec {
  podSelector: { matchExpressions?: { key: string; operator: string; values: string[] }[] };
  egress?: { to: Record<string, unknown>[]; ports: { port: number }[] }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
}

const configs: Record<string, StackConfig> = Object.fromEntries(
  readStackConfigs().map((config) => [config.stack, config]),
);
const manifests = (stack: string): Manifest[] =>
  synthesizeStack(configs[stack]!).flatMap((chart) => chart.objects as Manifest[]);

interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: PodSpec;
}

function podOf(object: Manifest): { spec: PodSpec; labels: Record<string, string> } | undefined {
  const spec = object.spec as { template?: PodTemplate; jobTemplate?: { spec: { template: PodTemplate } } } | undefined;
  const template =
    object.kind === "Deployment" || object.kind === "StatefulSet" || object.kind === "Job"
      ? spec?.template
      : object.kind === "CronJob"
        ? spec?.jobTemplate?.spec.template
        : undefined;
  return template ? { spec: template.spec, labels: template.metadata.labels } : undefined;
}

/** The kubernetes-models module that validates an object of this apiVersion and kind. */
function modelPath({ apiVersion, kind }: Manifest): string {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  if (group === "cert-manager.io") return `@kubernetes-models/cert-manager/${apiVersion}/${kind}`;
  if (group === "external-secrets.io") return `@kubernetes-models/external-secrets/${apiVersion}/${kind}`;
  return `kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}`;
}

describe.each(listStacks())("the %s charts", (stack) => {
  const objects = manifests(stack);

  it("then every object validates against the Kubernetes or CRD schema of its kind", async () => {
    expect(objects.length).toBeGreaterThan(40);
    for (const object of objects) {
      const module = (await import(modelPath(object))) as Record<string, new (value: unknown) => { validate(): void }>;
      const Model = module[object.kind];
      if (!Model) throw new Error(`no model for ${object.apiVersion} ${object.kind}`);
      expect(() => {
        new Model(object).validate();
      }, `${object.kind}/${object.metadata.name}`).not.toThrow();
    }
  });

  it("then every pod runs under the restricted profile as uid 1001 with a read-only root and no capabilities", () => {
    for (const object of objects) {
      const pod = podOf(object);
      if (!pod) continue;
      expect(pod.spec.securityContext, object.metadata.name).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1001,
        runAsGroup: 1001,
        seccompProfile: { type: "RuntimeDefault" },
      });
      for (const container of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
        expect(container.securityContext, `${object.metadata.name}/${container.name}`).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        });
      }
    }
  });

  it("then every long-running container has liveness and readiness probes", () => {
    for (const object of objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")) {
      for (const container of podOf(object)!.spec.containers) {
        expect(container.livenessProbe, `${object.metadata.name}/${container.name}`).toBeDefined();
        expect(container.readinessProbe, `${object.metadata.name}/${container.name}`).toBeDefined();
      }
    }
  });

  it("then only pods that call AWS mount a service-account token, and their account names an IRSA role", () => {
    const accounts = new Map(objects.filter((o) => o.kind === "ServiceAccount").map((o) => [o.metadata.name, o]));
    for (const object of objects) {
      const pod = podOf(object);
      if (!pod) continue;
      if (pod.spec.automountServiceAccountToken !== false) {
        const account = accounts.get(pod.spec.serviceAccountName ?? "");
        expect(account?.metadata.annotations?.["eks.amazonaws.com/role-arn"], object.metadata.name).toMatch(
          /^arn:aws:iam::\d{12}:role\/paimon-/,
        );
      }
    }
  });

  it("then every Service port is backed by a container port of the pods it selects", () => {
    const pods = objects.flatMap((object) => (podOf(object) ? [podOf(object)!] : []));
    for (const service of objects.filter((o) => o.kind === "Service")) {
      const spec = service.spec as { selector: Record<string, string>; ports: { targetPort: string | number }[] };
      const selected = pods.filter((pod) =>
        Object.entries(spec.selector).every(([key, value]) => pod.labels[key] === value),
      );
      expect(selected.length, service.metadata.name).toBeGreaterThan(0);
      for (const { targetPort } of spec.ports) {
        const backed = selected.every((pod) =>
          pod.spec.containers.some((container) =>
            (container.ports ?? []).some((p) => p.name === targetPort || p.containerPort === targetPort),
          ),
        );
        expect(backed, `${service.metadata.name} → ${targetPort}`).toBe(true);
      }
    }
  });

  it("then the namespace enforces the restricted Pod Security Standard and denies all traffic by default", () => {
    const namespace = objects.find((o) => o.kind === "Namespace");
    expect(namespace?.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(objects.find((o) => o.kind === "NetworkPolicy" && o.metadata.name === "default-deny")?.spec).toEqual({
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
    });
  });

  it("then paimon-secrets is synced from this stack's Secrets Manager prefix, and no Secret is written", () => {
    expect(objects.filter((o) => o.kind === "Secret")).toEqual([]);
    const external = objects.find((o) => o.kind === "ExternalSecret");
    const data = (external?.spec as { data: { remoteRef: { key: string } }[] }).data;
    expect(data.every((entry) => entry.remoteRef.key.startsWith(`paimon/${stack}/`))).toBe(true);
  });
  it("then the API, risk and scheduler read the metrics database's synced URL and may reach TimescaleDB, the scheduler the Pushgateway", () => {
    const envOf = (name: string) => {
      const deployment = objects.find((o) => o.kind === "Deployment" && o.metadata.name === name)!;
      return (podOf(deployment)!.spec.containers[0] as unknown as { env: EnvVar[] }).env;
    };
    const readers = [API, workerName("risk"), workerName("scheduler")];
    for (const name of readers) {
      expect(envOf(name), name).toContainEqual({
        name: "METRICS_DATABASE_URL",
        valueFrom: { secretKeyRef: { name: "paimon-secrets", key: "metrics-database-url" } },
      });
    }
    expect(envOf(workerName("scheduler"))).toContainEqual({ name: "PUSHGATEWAY_URL", value: PUSHGATEWAY_URL });
    const external = objects.find((o) => o.kind === "ExternalSecret" && o.metadata.namespace === "paimon")!;
    const synced = (external.spec as { data: { secretKey: string }[] }).data.map((entry) => entry.secretKey);
    expect(synced).toContain("metrics-database-url");

    const egress = objects.filter((o) => o.kind === "NetworkPolicy");
    const allowed = (name: string, to: (peer: Record<string, unknown>) => boolean, port: number) =>
      egress.some((policy) => {
        const spec = policy.spec as unknown as NetworkPolicySpec;
        const selected = spec.podSelector.matchExpressions?.some(
          (e) => e.key === "app.kubernetes.io/name" && e.operator === "In" && e.values.includes(name),
        );
        return (
          selected === true &&
          (spec.egress ?? []).some((rule) => rule.to.some(to) && rule.ports.some((p) => p.port === port))
        );
      });
    const timescale = (peer: Record<string, unknown>) =>
      JSON.stringify(peer) === JSON.stringify({ podSelector: { matchLabels: selectorLabels(TIMESCALEDB) } });
    const pushgateway = (peer: Record<string, unknown>) => JSON.stringify(peer).includes('"prometheus-pushgateway"');
    for (const name of readers) expect(allowed(name, timescale, 5432), name).toBe(true);
    expect(allowed(workerName("scheduler"), pushgateway, 9091)).toBe(true);
    expect(allowed(workerName("risk"), pushgateway, 9091)).toBe(false);
  });
});

describe.each(listStacks())("the %s services' Redis clients", (stack) => {
  const objects = manifests(stack);
  const envOf = (deployment: Manifest) => (podOf(deployment)!.spec.containers[0] as unknown as { env: EnvVar[] }).env;

  it("then every Deployment that reads REDIS_URL gets REDIS_CLUSTER where ElastiCache is sharded, and every queue user the hash-tagged prefix", () => {
    const clients = objects.filter((o) => o.kind === "Deployment" && envOf(o).some((v) => v.name === "REDIS_URL"));
    expect(clients.map((o) => o.metadata.name).sort()).toEqual(
      [API, EVENT_LISTENER, ...WORKERS.map(workerName)].sort(),
    );
    const clusterMode = configs[stack]!.cache.clusterMode;
    for (const client of clients) {
      const env = envOf(client);
      if (client.metadata.name === API) {
        expect(
          env.find((v) => v.name === "QUEUE_PREFIX"),
          API,
        ).toBeUndefined();
      } else {
        expect(env, client.metadata.name).toContainEqual({ name: "QUEUE_PREFIX", value: "{paimon}" });
      }
      expect(
        env.find((v) => v.name === "REDIS_CLUSTER"),
        client.metadata.name,
      ).toEqual(clusterMode ? { name: "REDIS_CLUSTER", value: "true" } : undefined);
    }
  });
});

describe("the metrics database's URL", () => {
  it("then it names the StatefulSet's pod in the namespace, the metrics database, the encoded password and no TLS", () => {
    expect(metricsDatabaseUrl("paimon", "p@ss/word")).toBe(
      "postgresql://paimon:p%40ss%2Fword@paimon-timescaledb-0.paimon-timescaledb.paimon.svc:5432/metrics?sslmode=disable",
    );
    const url = new URL(metricsDatabaseUrl("paimon", "p@ss/word"));
    expect(decodeURIComponent(url.password)).toBe("p@ss/word");
  });
});

describe("schema validation", () => {
  it("when a Deployment is malformed, then its schema refuses it", async () => {
    const { Deployment } = await import("kubernetes-models/apps/v1/Deployment");
    const broken = new Deployment({ metadata: { name: "x" }, spec: { replicas: "three", template: {} } } as never);
    expect(() => {
      broken.validate();
    }).toThrow();
  });
});

describe("production against staging", () => {
  const production = manifests("production");
  const staging = manifests("staging");
  const images = (objects: Manifest[]) => objects.flatMap((o) => podOf(o)?.spec.containers.map((c) => c.image) ?? []);

  it("then production runs every image by digest, and nothing anywhere runs latest", () => {
    expect(images(production).every((image) => /@sha256:[a-f0-9]{64}$/.test(image))).toBe(true);
    expect([...images(production), ...images(staging)].some((image) => /:latest\b/.test(image))).toBe(false);
  });

  it("then in production every Deployment is selected by a PodDisruptionBudget, and the API autoscales across zones", () => {
    const budgets = production.filter((o) => o.kind === "PodDisruptionBudget");
    for (const deployment of production.filter((o) => o.kind === "Deployment")) {
      const labels = podOf(deployment)!.labels;
      const covered = budgets.some((budget) =>
        Object.entries(
          (budget.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
        ).every(([k, v]) => labels[k] === v),
      );
      expect(covered, deployment.metadata.name).toBe(true);
    }
    expect(production.find((o) => o.kind === "HorizontalPodAutoscaler")?.spec).toMatchObject({
      minReplicas: 3,
      maxReplicas: 10,
    });
    const api = production.find((o) => o.kind === "Deployment" && o.metadata.name === "paimon-api")!;
    expect(
      (podOf(api)!.spec as unknown as { topologySpreadConstraints: unknown[] }).topologySpreadConstraints,
    ).toHaveLength(2);
  });

  it("then staging runs one API replica behind letsencrypt-staging, production three behind letsencrypt-prod", () => {
    const api = (objects: Manifest[]) =>
      objects.find((o) => o.kind === "Deployment" && o.metadata.name === "paimon-api")!;
    expect((api(staging).spec as { replicas: number }).replicas).toBe(1);
    expect((api(production).spec as { replicas: number }).replicas).toBe(3);
    const issuer = (objects: Manifest[]) =>
      objects.find((o) => o.kind === "Ingress")!.metadata.annotations!["cert-manager.io/cluster-issuer"];
    expect([issuer(staging), issuer(production)]).toEqual(["letsencrypt-staging", "letsencrypt-prod"]);
    expect(staging.filter((o) => o.kind === "PodDisruptionBudget" || o.kind === "HorizontalPodAutoscaler")).toEqual([]);
  });

  it("then no Ingress reaches /metrics from the edge, and a catch-all path would", () => {
    type IngressPath = { path: string; pathType: string };
    const reaches = (paths: readonly IngressPath[], target: string) =>
      paths.some(({ path, pathType }) =>
        pathType === "Exact"
          ? target === path
          : target === path || target.startsWith(path.endsWith("/") ? path : `${path}/`),
      );
    const pathsOf = (objects: Manifest[]) =>
      objects
        .filter((o) => o.kind === "Ingress")
        .flatMap((o) =>
          (o.spec as { rules: { http: { paths: IngressPath[] } }[] }).rules.flatMap((rule) => rule.http.paths),
        );
    for (const objects of [staging, production]) {
      const paths = pathsOf(objects);
      expect(paths.length).toBeGreaterThan(0);
      expect(reaches(paths, "/metrics")).toBe(false);
      for (const served of ["/v1/fund", "/v1/redemptions/abc", "/health/ready", "/openapi.json"])
        expect(reaches(paths, served), served).toBe(true);
    }
    expect(reaches([{ path: "/", pathType: "Prefix" }], "/metrics")).toBe(true);
    expect(reaches([{ path: "/v1", pathType: "Prefix" }], "/v1metrics")).toBe(false);
  });

  it("then the two stacks hold the same objects but for production's budgets and autoscaler", () => {
    const names = (objects: Manifest[]) =>
      objects
        .filter((o) => !["PodDisruptionBudget", "HorizontalPodAutoscaler"].includes(o.kind))
        .map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names(production)).toEqual(names(staging));
  });

  it("then the event listener recreates its single pod and the rebalance worker alone has a role and the KMS key id", () => {
    const listener = production.find((o) => o.kind === "Deployment" && o.metadata.name === "paimon-event-listener")!;
    expect(listener.spec).toMatchObject({ replicas: 1, strategy: { type: "Recreate" } });
    const services = [API, EVENT_LISTENER, ...WORKERS.map(workerName)];
    const withRole = production.filter(
      (o) =>
        o.kind === "ServiceAccount" &&
        services.includes(o.metadata.name) &&
        o.metadata.annotations?.["eks.amazonaws.com/role-arn"] !== undefined,
    );
    expect(withRole.map((o) => o.metadata.name)).toEqual(["paimon-rebalance-worker"]);
    // The KMS key id reaches the transaction sender alone, which signs with KMS, never a local key.
    const withKms = production.filter((o) => JSON.stringify(podOf(o)?.spec ?? {}).includes("AWS_KMS_KEY_ID"));
    expect(withKms.map((o) => o.metadata.name)).toEqual(["paimon-rebalance-worker"]);
    const env = podOf(withKms[0]!)?.spec.containers[0]?.env ?? [];
    expect(env).toContainEqual({ name: "SIGNER", value: "kms" });
    expect(JSON.stringify(production)).not.toContain("OPERATOR_PRIVATE_KEY");
  });
});
