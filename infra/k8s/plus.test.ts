import { describe, expect, it } from "vitest";
import { readStackConfigs } from "../planner/stack-configs";
import { listStacks } from "../planner/stacks";
import { synthesizeStack } from "./main";
import { containerSecurityContext, podSecurityContext } from "./pod";

type Manifest = {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
};
interface Container {
  name: string;
  imagePullPolicy?: string;
  startupProbe?: unknown;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: unknown;
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    securityContext?: unknown;
    containers: Container[];
    initContainers?: Container[];
    topologySpreadConstraints?: unknown[];
    affinity?: unknown;
  };
}

const configs = Object.fromEntries(readStackConfigs().map((config) => [config.stack, config]));
const manifests = (stack: string): Manifest[] =>
  synthesizeStack(configs[stack]!).flatMap((chart) => chart.objects as Manifest[]);

function templateOf(object: Manifest): PodTemplate | undefined {
  const spec = object.spec as { template?: PodTemplate; jobTemplate?: { spec: { template: PodTemplate } } } | undefined;
  if (["Deployment", "StatefulSet", "Job"].includes(object.kind)) return spec?.template;
  return object.kind === "CronJob" ? spec?.jobTemplate?.spec.template : undefined;
}

const ADDRESS_LABEL = "cdk8s.io/metadata.addr";

describe.each(listStacks())("the %s charts built with cdk8s-plus", (stack) => {
  const objects = manifests(stack);
  const workloads = objects.flatMap((object) => {
    const template = templateOf(object);
    return template ? [{ object, template }] : [];
  });

  it("when synthesized, then no label, selector or Service selects by cdk8s-plus's address label", () => {
    expect(workloads.length).toBeGreaterThan(10);
    expect(JSON.stringify(objects)).not.toContain(ADDRESS_LABEL);
  });

  it("when synthesized, then every workload selects exactly its pods' labels", () => {
    for (const { object, template } of workloads.filter(
      ({ object }) => object.kind !== "Job" && object.kind !== "CronJob",
    )) {
      const selector = (object.spec as { selector: { matchLabels: Record<string, string> } }).selector;
      expect(selector, object.metadata.name).toEqual({ matchLabels: template.metadata.labels });
      expect(object.metadata.labels, object.metadata.name).toEqual(template.metadata.labels);
    }
  });

  it("when synthesized, then every pod has exactly the restricted contexts of pod.ts", () => {
    for (const { object, template } of workloads) {
      expect(template.spec.securityContext, object.metadata.name).toEqual(podSecurityContext);
      for (const container of [...(template.spec.initContainers ?? []), ...template.spec.containers]) {
        expect(container.securityContext, `${object.metadata.name}/${container.name}`).toEqual(
          containerSecurityContext,
        );
      }
    }
  });

  it("when synthesized, then no container takes cdk8s-plus's defaults: Always pulls, a TCP startup probe, its resources", () => {
    for (const { object, template } of workloads) {
      for (const container of [...(template.spec.initContainers ?? []), ...template.spec.containers]) {
        const name = `${object.metadata.name}/${container.name}`;
        // Kubernetes's own default for a pinned image (the raw StatefulSet leaves it implicit).
        expect(container.imagePullPolicy ?? "IfNotPresent", name).toBe("IfNotPresent");
        expect(container.startupProbe, name).toBeUndefined();
        expect(container.resources?.requests?.["cpu"], name).not.toBe("1000m");
        expect(container.resources?.limits?.["cpu"], name).not.toBe("1500m");
        expect(container.resources?.limits?.["memory"], name).not.toBe("2048Mi");
      }
      // cdk8s-plus's `spread` is a soft anti-affinity; the API spreads with hard zone constraints.
      expect(template.spec.affinity, object.metadata.name).toBeUndefined();
    }
  });

  it("when synthesized, then the revision history and the backups' TTL, which cdk8s-plus does not model, are kept", () => {
    for (const { object } of workloads.filter(({ object }) => object.kind === "Deployment")) {
      expect(object.spec?.["revisionHistoryLimit"], object.metadata.name).toBe(5);
    }
    for (const { object } of workloads.filter(({ object }) => object.kind === "CronJob")) {
      const job = (object.spec as { jobTemplate: { spec: { ttlSecondsAfterFinished?: number } } }).jobTemplate.spec;
      expect(job.ttlSecondsAfterFinished, object.metadata.name).toBeGreaterThanOrEqual(86_400);
    }
  });

  it("when synthesized, then the TimescaleDB claim asks for the stack's volume size", () => {
    const set = objects.find((object) => object.kind === "StatefulSet")!;
    const claims = (set.spec as { volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[] })
      .volumeClaimTemplates;
    expect(claims.map((claim) => claim.spec.resources.requests.storage)).toEqual([
      `${String(configs[stack]!.timescale.volumeSizeGiB)}Gi`,
    ]);
  });
});
