import { describe, expect, it } from "vitest";
import { readStackConfigs } from "../planner/stack-configs";
import { SECURITY_CONFIG_LABEL } from "../policy/rules/log-access";
import { LOG_WRITER_ROLE, OPENSEARCH_SECURITY, logDomainSecurity, opensearchSecurityArgs } from "./logging-chart";
import { synthesizeStack } from "./main";
import { containerSecurityContext, podSecurityContext } from "./pod";
import { workloadValues } from "./values";

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env: { name: string; value?: string }[];
  securityContext: unknown;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Job {
  kind: "Job";
  metadata: { name: string; namespace: string };
  spec: {
    backoffLimit: number;
    activeDeadlineSeconds: number;
    template: {
      metadata: { annotations: Record<string, string> };
      spec: {
        securityContext: unknown;
        containers: Container[];
        initContainers?: Container[];
        volumes: { name: string; configMap?: { name: string } }[];
      };
    };
  };
}
interface ConfigMap {
  kind: "ConfigMap";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  data: Record<string, string>;
}

describe.each(readStackConfigs().map((config) => [config.stack, config] as const))(
  "the %s log domain's security Job",
  (_stack, config) => {
    const values = workloadValues(config);
    const objects = synthesizeStack(config).flatMap(
      (chart) => chart.objects as { kind: string; metadata: { name: string } }[],
    );
    const job = objects.find((o): o is Job => o.kind === "Job" && o.metadata.name === OPENSEARCH_SECURITY);
    const configMap = objects.find(
      (o): o is ConfigMap => o.kind === "ConfigMap" && o.metadata.name === OPENSEARCH_SECURITY,
    );
    if (!job || !configMap) throw new Error(`no Job or ConfigMap ${OPENSEARCH_SECURITY}`);
    const [container, ...others] = job.spec.template.spec.containers;
    if (!container) throw new Error("no container");
    const mount = container.volumeMounts.find((volume) => volume.name === "config");

    it("then it runs the operator's command in the services' image, with no shell", () => {
      expect(others).toEqual([]);
      expect(job.spec.template.spec.initContainers ?? []).toEqual([]);
      expect(container.image).toBe(values.image);
      expect(container.command).toBeUndefined();
      expect(container.args).toEqual(opensearchSecurityArgs(mount?.mountPath ?? "(no mount)"));
      expect(container.args?.slice(0, 5)).toEqual(["ops", "--json", "opensearch-security", "apply", "--config-dir"]);
      expect(JSON.stringify(job)).not.toMatch(/\/bin\/(ba)?sh|curl|aws (opensearch|configure)/);
    });

    it("then the command is told the domain and its region, and reads the ConfigMap read-only", () => {
      expect(Object.fromEntries(container.env.map((variable) => [variable.name, variable.value]))).toEqual({
        OPENSEARCH_DOMAIN: values.logDomain,
        AWS_REGION: values.region,
      });
      expect(mount?.readOnly).toBe(true);
      expect(job.spec.template.spec.volumes).toContainEqual({
        name: "config",
        configMap: { name: OPENSEARCH_SECURITY },
      });
      expect(configMap.metadata.labels[SECURITY_CONFIG_LABEL]).toBe(values.logDomain);
    });

    it("then requests.json lists every body of the ConfigMap once, each role before the mappings that name it", () => {
      const manifest = JSON.parse(configMap.data["requests.json"] ?? "[]") as { path: string; file: string }[];
      const bodies = Object.keys(configMap.data).filter((file) => file !== "requests.json");
      expect(manifest.map((request) => request.file).sort()).toEqual(bodies.sort());
      const security = logDomainSecurity(values);
      expect(manifest.map((request) => request.path)).toEqual([
        ...Object.keys(security.roles).map((role) => `roles/${role}`),
        ...Object.keys(security.rolesmapping).map((role) => `rolesmapping/${role}`),
      ]);
      const position = (path: string) => manifest.findIndex((request) => request.path === path);
      expect(position(`roles/${LOG_WRITER_ROLE}`)).toBeLessThan(position(`rolesmapping/${LOG_WRITER_ROLE}`));
      for (const request of manifest)
        expect(JSON.parse(configMap.data[request.file] ?? "null")).toEqual(
          request.path.startsWith("roles/")
            ? security.roles[request.path.slice("roles/".length)]
            : security.rolesmapping[request.path.slice("rolesmapping/".length)],
        );
    });

    it("then the configuration's digest, the retries, the deadline and the restricted security contexts stay", () => {
      expect(job.spec.template.metadata.annotations["paimon.fund/config-sha256"]).toMatch(/^[0-9a-f]{64}$/);
      expect(job.spec.backoffLimit).toBe(6);
      expect(job.spec.activeDeadlineSeconds).toBe(1800);
      expect(job.spec.template.spec.securityContext).toEqual(podSecurityContext);
      expect(container.securityContext).toEqual(containerSecurityContext);
    });
  },
);
