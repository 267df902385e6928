import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stackTarget } from "./config";
import { planStack, type StackPlan } from "./planner/plan";
import { evaluatePolicies, type PolicyViolation } from "./planner/policy";
import { recordStack, type RecordedResource } from "./planner/record";
import type { PlannedResource } from "./planner/snapshot";
import { readStackFile } from "./planner/stacks";
import { wiringRules } from "./policy/policies";
import { program } from "./program";
import { createTempRoot, type TempRoot } from "./testing/temp-root";

/**
 * The wiring rules on the real staging platform: quiet on it as it is, and firing on each defect
 * of the kind they exist for, planted back into the recorded resources — a namespaced store
 * authenticating across namespaces, an unmapped log writer, an origin host without a record, an
 * HTTP-01 solver behind a CloudFront-only load balancer, a Deployment that does not wait for its
 * migrations, an IRSA trust naming another namespace. Recorded in this process (once: the Pulumi
 * runtime is global), with the same mocks and configuration as `pnpm plan`.
 */
let recorded: RecordedResource[];
beforeAll(async () => {
  const file = readStackFile("staging");
  const target = stackTarget(file.config);
  ({ resources: recorded } = await recordStack({
    project: "paimon",
    stack: "staging",
    config: file.config,
    secretKeys: file.secretKeys,
    environment: { region: target.region ?? "", accountId: target.awsAccountId ?? "" },
    program,
  }));
});

const check = (resources: readonly RecordedResource[]): PolicyViolation[] =>
  evaluatePolicies(wiringRules, resources, { environment: "staging" });
const rulesFired = (resources: readonly RecordedResource[]) => [...new Set(check(resources).map((v) => v.policy))];

type Inputs = Record<string, unknown>;
/** The recorded resources with the inputs (and the type) of those that `match` rewritten. */
function plant(
  match: (resource: RecordedResource) => boolean,
  rewrite: (inputs: Inputs) => Inputs,
  retype: (type: string) => string = (type) => type,
): RecordedResource[] {
  const found = recorded.filter(match);
  expect(found.length, "the planted defect names a resource of the plan").toBeGreaterThan(0);
  return recorded.map((resource) =>
    match(resource)
      ? { ...resource, type: retype(resource.type), inputs: rewrite(structuredClone(resource.inputs)) }
      : resource,
  );
}
const kind = (name: string) => (resource: RecordedResource) => resource.type.endsWith(`:${name}`);
const named = (name: string) => (resource: RecordedResource) => resource.name === name;

describe("the staging platform's wiring", () => {
  it("then every wiring rule is quiet on it", () => {
    expect(check(recorded)).toEqual([]);
  });

  it("then the DR drill restores the instance the stack creates, into a prefix no instance of the stack has", () => {
    const instances = recorded
      .filter((resource) => resource.type === "aws:rds/instance:Instance")
      .map((resource) => String(resource.inputs["identifier"]));
    const drill = recorded.find(
      (resource) =>
        resource.type === "kubernetes:batch/v1:CronJob" &&
        (resource.inputs["metadata"] as { name?: string }).name === "paimon-dr-drill",
    );
    const container = (
      drill?.inputs["spec"] as
        | {
            jobTemplate: {
              spec: {
                template: { spec: { containers: { args: string[]; env: { name: string; value?: string }[] }[] } };
              };
            };
          }
        | undefined
    )?.jobTemplate.spec.template.spec.containers[0];
    if (!container) throw new Error("no CronJob paimon-dr-drill in the plan");
    const source = container.args[container.args.indexOf("--rds-source") + 1];
    const prefix = container.env.find((variable) => variable.name === "RDS_SCRATCH_PREFIX")?.value ?? "";
    expect(instances).toContain(source);
    expect(prefix).not.toBe("");
    expect(instances.filter((identifier) => identifier.startsWith(prefix))).toEqual([]);
    const policy = recorded.find((resource) => resource.name === "roles-drDrill-policy");
    expect(String(policy?.inputs["policy"])).toContain(`:db:${prefix}*`);
  });

  it("when the secret stores are namespaced and name the controller's account, then the service-account rule fires", () => {
    const stores = plant(
      kind("ClusterSecretStore"),
      (inputs) => ({ ...inputs, kind: "SecretStore", metadata: { name: "aws-secrets-manager", namespace: "paimon" } }),
      (type) => type.replace("ClusterSecretStore", "SecretStore"),
    );
    expect(rulesFired(stores)).toEqual(["paimon-service-accounts-exist"]);
  });

  it("when the log shipper's role is left out of OpenSearch's mappings, then the log-access rule fires", () => {
    const unmapped = plant(kind("ConfigMap"), (inputs) => {
      const data = { ...(inputs["data"] as Record<string, string>) };
      if (!("rolesmapping.paimon_log_writer.json" in data)) return inputs;
      delete data["rolesmapping.paimon_log_writer.json"];
      return { ...inputs, data };
    });
    expect(rulesFired(unmapped)).toEqual(["paimon-opensearch-writers-mapped"]);
  });

  it("when the origin host has no record, then the DNS rule fires", () => {
    const withoutRecord = recorded.filter((resource) => resource.name !== "edge-origin-a");
    expect(withoutRecord.length).toBe(recorded.length - 1);
    expect(rulesFired(withoutRecord)).toEqual(["paimon-ingress-hosts-have-dns"]);
  });

  it("when the issuers solve HTTP-01 behind the CloudFront-only load balancer, then the reachability rule fires", () => {
    const http01 = plant(kind("ClusterIssuer"), (inputs) => {
      const spec = inputs["spec"] as { acme: Record<string, unknown> };
      return {
        ...inputs,
        spec: { acme: { ...spec.acme, solvers: [{ http01: { ingress: { ingressClassName: "nginx" } } }] } },
      };
    });
    expect(rulesFired(http01)).toEqual(["paimon-acme-solvers-reachable"]);
    expect(check(http01)[0]?.message).toMatch(/does not admit port 80 from the internet/);
  });

  it("when a Deployment does not wait for its migrations, then the migration rule fires", () => {
    const eager = plant(named("api-deployment-paimon-paimon-api"), (inputs) => {
      const template = (inputs["spec"] as { template: { spec: Inputs } }).template;
      delete template.spec["initContainers"];
      return inputs;
    });
    expect(rulesFired(eager)).toEqual(["paimon-deployments-wait-for-migrations"]);
  });

  it("when a role's trust names the fund's account in another namespace, then both service-account rules fire", () => {
    const moved = plant(named("roles-rebalanceWorker-role"), (inputs) => ({
      ...inputs,
      assumeRolePolicy: String(inputs["assumeRolePolicy"]).replace(
        "system:serviceaccount:paimon:",
        "system:serviceaccount:paimon-old:",
      ),
    }));
    expect(rulesFired(moved).sort()).toEqual(["paimon-irsa-annotation-matches-trust", "paimon-service-accounts-exist"]);
  });

  it("when cert-manager's role trusts another account than its release creates, then the service-account rules and the solver's fire", () => {
    const renamed = plant(named("roles-certManager-role"), (inputs) => ({
      ...inputs,
      assumeRolePolicy: String(inputs["assumeRolePolicy"]).replace(
        "system:serviceaccount:cert-manager:cert-manager",
        "system:serviceaccount:cert-manager:cert-manager-controller",
      ),
    }));
    // The DNS-01 solver loses its credentials with it.
    expect(rulesFired(renamed).sort()).toEqual([
      "paimon-acme-solvers-reachable",
      "paimon-irsa-annotation-matches-trust",
      "paimon-service-accounts-exist",
    ]);
  });
});

describe("a stack whose paimon:workloads.namespace is not the default", () => {
  let temp: TempRoot;
  let plan: StackPlan;
  beforeAll(async () => {
    temp = createTempRoot();
    temp.edit("Pulumi.staging.yaml", /\n {4}namespace: paimon\n/, "\n    namespace: fund\n");
    plan = await planStack("staging", { root: temp.root });
  });
  afterAll(() => {
    temp.remove();
  });

  const resources = (type: string): PlannedResource[] => plan.snapshot.resources.filter((r) => r.type === type);

  it("then it plans with no mandatory violation", () => {
    expect(plan.violations.filter((violation) => violation.enforcement === "mandatory")).toEqual([]);
  });

  it("then every IRSA trust of the fund's workloads names the configured namespace, and the charts' accounts are there", () => {
    const subjects = resources("aws:iam/role:Role").flatMap((role) => {
      const statements = (role.inputs["assumeRolePolicy"] as { "@json"?: { Statement: { Condition?: unknown }[] } })[
        "@json"
      ]?.Statement;
      return (statements ?? []).flatMap((statement) =>
        Object.entries(
          (statement.Condition as Record<string, Record<string, string>> | undefined)?.["StringEquals"] ?? {},
        )
          .filter(([key]) => key.endsWith(":sub"))
          .map(([, subject]) => subject),
      );
    });
    const accounts = new Set(
      resources("kubernetes:v1:ServiceAccount").map((account) => {
        const metadata = account.inputs["metadata"] as { namespace: string; name: string };
        return `system:serviceaccount:${metadata.namespace}:${metadata.name}`;
      }),
    );
    const fund = subjects.filter((subject) => subject.includes(":paimon-"));
    expect(fund.sort()).toEqual(
      [
        "paimon-backup-postgres",
        "paimon-backup-redis",
        "paimon-backup-secrets",
        "paimon-backup-timescaledb",
        "paimon-dr-drill",
        "paimon-rebalance-worker",
      ].map((name) => `system:serviceaccount:fund:${name}`),
    );
    for (const subject of fund) expect(accounts.has(subject), subject).toBe(true);
    expect(subjects.some((subject) => subject.startsWith("system:serviceaccount:paimon:"))).toBe(false);
  });

  it("then the secret store serves the configured namespace", () => {
    const [store] = resources("kubernetes:external-secrets.io/v1beta1:ClusterSecretStore");
    expect((store?.inputs["spec"] as { conditions: unknown }).conditions).toEqual([
      { namespaces: ["fund", "monitoring"] },
    ]);
  });
});
