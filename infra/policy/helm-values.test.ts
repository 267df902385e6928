import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CHARTS } from "../components/kubernetes-platform/addons";
import { evaluatePolicies } from "../planner/policy";
import { parseSnapshot } from "../planner/snapshot";
import { CHART_VALUE_KEYS, HELM_RELEASE, imageOf, riskyValues } from "./helm-values";
import { policies } from "./policies";
import { resource } from "./testing";

const release = (chart: string, version: string, values: Record<string, unknown>, name = chart) =>
  resource(HELM_RELEASE, `kubernetes-${name}`, { chart, version, name, namespace: "platform", values });

/** A digest as a registry gives it (TimescaleDB 2.17.2-pg16's), not a placeholder. */
const DIGEST = "4e459e217f00cbb09920c34d245501e63427e6767a495de57ce76823ff280f12";
const POD_RULES = [
  "CKV_K8S_16-k8s-no-privileged",
  "CKV_K8S_17-k8s-no-host-namespaces",
  "CKV_K8S_23-k8s-restricted-pod-security",
  "CKV_K8S_22-k8s-read-only-root-filesystem",
  "CKV_K8S_11-k8s-resource-limits",
];
/** The rules that read Helm values: the pod rules, the image rules and the release coverage. */
const HELM_RULES = policies.filter((policy) =>
  [
    ...POD_RULES,
    "paimon-production-images-by-digest",
    "paimon-image-digest-not-placeholder",
    "paimon-helm-release-pods-checked",
  ].includes(policy.name),
);
const run = (resources: ReturnType<typeof release>[], environment: "staging" | "production" = "production") =>
  evaluatePolicies(HELM_RULES, resources, { environment }).map(({ policy, message, enforcement }) => ({
    policy,
    message,
    enforcement,
  }));

describe("pod rules over Helm values", () => {
  it("when a release's values put a pod on the host network, then the host-namespace rule names the release and the pod", () => {
    const found = run([release("ingress-nginx", "4.11.3", { controller: { hostNetwork: true } })]);
    expect(found).toEqual([
      {
        policy: "CKV_K8S_17-k8s-no-host-namespaces",
        enforcement: "mandatory",
        message: "Helm release platform/ingress-nginx (ingress-nginx 4.11.3) pod controller: hostNetwork: true",
      },
    ]);
  });

  it("when a chart keeps hostNetwork under its own key (metrics-server's hostNetwork.enabled), then that key is the one read", () => {
    const found = run([release("metrics-server", "3.12.2", { hostNetwork: { enabled: true } })]);
    expect(found.map((violation) => violation.policy)).toEqual(["CKV_K8S_17-k8s-no-host-namespaces"]);
  });

  it("when a subchart's values make its container privileged and root, then each pod rule fires on the subchart's pod", () => {
    const found = run([
      release("kube-prometheus-stack", "65.1.1", {
        grafana: { containerSecurityContext: { privileged: true, runAsUser: 0, readOnlyRootFilesystem: false } },
      }),
    ]);
    const where = "Helm release platform/kube-prometheus-stack (kube-prometheus-stack 65.1.1) pod grafana";
    expect(found).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          policy: "CKV_K8S_16-k8s-no-privileged",
          message: `${where}: container grafana is privileged`,
        }),
        expect.objectContaining({
          policy: "CKV_K8S_23-k8s-restricted-pod-security",
          message: `${where}: container grafana runs as UID 0 (root) (Running as Non-root user)`,
        }),
        expect.objectContaining({
          policy: "CKV_K8S_22-k8s-read-only-root-filesystem",
          message: `${where}: container grafana's root filesystem is writable`,
        }),
      ]),
    );
  });

  it("when cert-manager's values set its pod's securityContext to root, then the pod-level key (securityContext, not podSecurityContext) is read", () => {
    const found = run([release("cert-manager", "v1.16.1", { webhook: { securityContext: { runAsUser: 0 } } })]);
    expect(found.map((violation) => violation.message)).toContain(
      "Helm release platform/cert-manager (cert-manager v1.16.1) pod webhook: the pod runs as UID 0 (root) (Running as Non-root user)",
    );
  });

  it("when values mount a hostPath or bind host ports, then the host rule fires on each", () => {
    const found = run([
      release("fluent-bit", "0.47.10", { extraVolumes: [{ name: "root", hostPath: { path: "/" } }] }),
      release("ingress-nginx", "4.11.3", { controller: { hostPort: { enabled: true } } }),
    ]);
    expect(found.map((violation) => violation.message)).toEqual([
      "Helm release platform/fluent-bit (fluent-bit 0.47.10) pod fluent-bit: volume root is a hostPath",
      "Helm release platform/ingress-nginx (ingress-nginx 4.11.3) pod controller: container controller binds a host port",
    ]);
  });

  it("when values set resources without limits, then the limits rule fires; an init container given whole is judged whole", () => {
    const found = run([
      release("prometheus-redis-exporter", "6.6.0", { resources: { requests: { cpu: "10m" } } }),
      release("prometheus-postgres-exporter", "6.4.0", {
        initContainers: [{ name: "copy", image: `busybox@sha256:${DIGEST}`, resources: { requests: { cpu: "10m" } } }],
      }),
    ]);
    const limits = found.filter((violation) => violation.policy === "CKV_K8S_11-k8s-resource-limits");
    expect(limits.map((violation) => [violation.policy, violation.message])).toEqual([
      [
        "CKV_K8S_11-k8s-resource-limits",
        "Helm release platform/prometheus-redis-exporter (prometheus-redis-exporter 6.6.0) pod exporter: container exporter has no cpu or memory limit",
      ],
      [
        "CKV_K8S_11-k8s-resource-limits",
        "Helm release platform/prometheus-postgres-exporter (prometheus-postgres-exporter 6.4.0) pod exporter: container copy has no cpu or memory limit",
      ],
    ]);
    // Unlike the main container's settings, nothing of a container given whole is left to the chart.
    expect(found.map((violation) => violation.message)).toContain(
      "Helm release platform/prometheus-postgres-exporter (prometheus-postgres-exporter 6.4.0) pod exporter: container copy allows privilege escalation (Privilege Escalation)",
    );
  });

  it("when values leave a pod's settings to the chart, then no pod rule judges the chart's defaults", () => {
    expect(
      run([
        release("ingress-nginx", "4.11.3", { controller: { replicaCount: 3 } }),
        release("metrics-server", "3.12.2", {}),
      ]),
    ).toEqual([]);
  });

  it("when the platform's own add-on releases are checked, then every pod rule passes on what their values set", () => {
    const plan = parseSnapshot(
      readFileSync(path.join(__dirname, "..", "plans", "production.json"), "utf8"),
      "infra/plans/production.json",
    );
    const releases = plan.resources
      .filter((planned) => planned.type === HELM_RELEASE)
      .map((planned) => resource(planned.type, planned.name, planned.inputs));
    expect(releases.length).toBeGreaterThan(5);
    const found = run(releases).filter((violation) => POD_RULES.includes(violation.policy));
    expect(found).toEqual([]);
  });

  it("when production's values name an image by tag only, then the digest rule fires; by digest, it stays quiet", () => {
    const tagged = release("ingress-nginx", "4.11.3", {
      controller: {
        image: { registry: "registry.k8s.io", image: "ingress-nginx/controller", tag: "v1.11.3", digest: "" },
      },
    });
    expect(run([tagged]).filter((violation) => violation.policy === "paimon-production-images-by-digest")).toEqual([
      expect.objectContaining({
        message:
          "Helm release platform/ingress-nginx (ingress-nginx 4.11.3) pod controller container runs registry.k8s.io/ingress-nginx/controller:v1.11.3, which names no @sha256 digest",
      }),
    ]);
    const pinned = release("kube-prometheus-stack", "65.1.1", {
      prometheus: {
        prometheusSpec: { image: { registry: "quay.io", repository: "prometheus/prometheus", sha: DIGEST } },
      },
    });
    expect(run([pinned])).toEqual([]);
    expect(run([tagged], "staging")).toEqual([]);
  });

  it("when a release's chart or its version is not in the table, then it is an advisory naming what its values set", () => {
    const found = run([
      release("some-operator", "1.0.0", { operator: { hostNetwork: true, securityContext: { privileged: true } } }),
      release("ingress-nginx", "4.12.0", {}),
    ]);
    expect(found).toEqual([
      {
        policy: "paimon-helm-release-pods-checked",
        enforcement: "advisory",
        message:
          "Helm release platform/some-operator (some-operator 1.0.0): its chart's pod value keys are not known, so no pod rule checks what its values set; they set operator.hostNetwork: true, operator.securityContext.privileged: true: read the chart's values.yaml at this version into infra/policy/helm-values.ts",
      },
      {
        policy: "paimon-helm-release-pods-checked",
        enforcement: "advisory",
        message:
          "Helm release platform/ingress-nginx (ingress-nginx 4.12.0): its pod value keys were read for version 4.11.3 only, so no pod rule checks what its values set: read the chart's values.yaml at this version into infra/policy/helm-values.ts",
      },
    ]);
  });

  it("then every chart the platform pins has its value keys in the table, read at the pinned version", () => {
    for (const pin of Object.values(CHARTS)) {
      expect(CHART_VALUE_KEYS[pin.chart]?.version, pin.chart).toBe(pin.version);
    }
  });

  it("when an image block is read, then registry, repository or image, tag and digest or sha make one reference", () => {
    expect(imageOf({ registry: "quay.io", repository: "prometheus/prometheus", tag: "v2", sha: "ab" })).toBe(
      "quay.io/prometheus/prometheus:v2@sha256:ab",
    );
    expect(imageOf({ image: "ingress-nginx/controller", digest: "sha256:cd" })).toBe(
      "ingress-nginx/controller@sha256:cd",
    );
    expect(imageOf({ pullPolicy: "IfNotPresent" })).toBeUndefined();
    expect(riskyValues({ a: [{ hostPath: { path: "/" } }], b: { runAsUser: 1000 } })).toEqual([
      'a[0].hostPath: {"path":"/"}',
    ]);
  });
});
