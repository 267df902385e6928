import { describe, expect, it } from "vitest";
import { readStackConfigs } from "../planner/stack-configs";
import { synthesizeStack } from "./main";

interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}
interface Rule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly resourceNames?: string[];
  readonly verbs: string[];
}

/**
 * What rules grant, one permission at a time (`verb group/resource/name`, `*` for every name), as
 * RBAC reads them: one rule listing four names, in any order, grants what four rules naming one
 * each do.
 */
const grants = (rules: readonly Rule[]): string[] =>
  rules
    .flatMap((rule) =>
      rule.apiGroups.flatMap((group) =>
        rule.resources.flatMap((resource) =>
          (rule.resourceNames ?? ["*"]).flatMap((name) =>
            rule.verbs.map((verb) => `${verb} ${group}/${resource}/${name}`),
          ),
        ),
      ),
    )
    .sort();

describe.each(readStackConfigs().map((config) => [config.stack, config] as const))(
  "the %s stack's ops role",
  (_stack, config) => {
    const charts = synthesizeStack(config);
    const all = charts.flatMap((chart) => chart.objects as KubeObject[]);
    const ofChart = (id: string) => (charts.find((chart) => chart.id === id)?.objects ?? []) as KubeObject[];
    const role = ofChart("ops-rbac").find((object) => object.kind === "Role");
    const binding = ofChart("ops-rbac").find((object) => object.kind === "RoleBinding");
    const rules = (role?.["rules"] ?? []) as Rule[];
    const backupPod = (
      all.find((object) => object.kind === "CronJob" && object.metadata.name === "paimon-backup-postgres")?.["spec"] as
        | {
            jobTemplate: {
              spec: {
                template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string } };
              };
            };
          }
        | undefined
    )?.jobTemplate.spec.template;

    it("then it may scale exactly the Deployments of the listener and the workers, and nothing of the API's", () => {
      const writers = ofChart("services")
        .filter((object) => object.kind === "Deployment")
        .map((object) => object.metadata.name)
        .sort();
      expect(writers.length).toBeGreaterThanOrEqual(4);
      const scaling = rules.filter((rule) => rule.resources.includes("deployments/scale"));
      expect(grants(scaling)).toEqual(
        writers
          .flatMap((name) => [`get apps/deployments/scale/${name}`, `patch apps/deployments/scale/${name}`])
          .sort(),
      );
      for (const rule of scaling) {
        expect(rule).toEqual({
          apiGroups: ["apps"],
          resources: ["deployments/scale"],
          resourceNames: rule.resourceNames,
          verbs: ["get", "patch"],
        });
        expect(rule.resourceNames?.length).toBeGreaterThan(0);
      }
      expect(scaling.flatMap((rule) => rule.resourceNames ?? [])).not.toContain("paimon-api");
    });

    it("then it changes nothing else: pods are only listed and watched, Deployments themselves never touched", () => {
      const scaling = grants(rules).filter((grant) => grant.includes(" apps/deployments/scale/"));
      expect(scaling.length).toBeGreaterThanOrEqual(8);
      expect(grants(rules)).toEqual([...scaling, "list /pods/*", "watch /pods/*"].sort());
      expect(rules).toContainEqual({ apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] });
      expect(rules.flatMap((rule) => rule.resources)).not.toContain("deployments");
      expect(rules.flatMap((rule) => rule.verbs)).not.toContain("*");
    });

    it("then it is bound, in the fund's namespace, to the service account the PostgreSQL backup's pods run as", () => {
      expect(role?.metadata.namespace).toBe(config.workloads.namespace);
      expect(binding).toMatchObject({
        metadata: { namespace: config.workloads.namespace },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role?.metadata.name },
        subjects: [
          { kind: "ServiceAccount", name: backupPod?.spec.serviceAccountName, namespace: config.workloads.namespace },
        ],
      });
    });

    it("then those pods may reach the API server's private endpoint, inside the VPC, on 443 only", () => {
      const policy = ofChart("ops-rbac").find((object) => object.kind === "NetworkPolicy");
      expect(policy?.["spec"]).toEqual({
        podSelector: { matchLabels: backupPod?.metadata.labels },
        policyTypes: ["Egress"],
        egress: [{ to: [{ ipBlock: { cidr: config.network.cidrBlock } }], ports: [{ protocol: "TCP", port: 443 }] }],
      });
    });
  },
);
