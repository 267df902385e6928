import { recordStack } from "../planner/record";
import { toSnapshot, type PlannedResource } from "../planner/snapshot";

/** What a component test sees: every resource the program registered, in snapshot form. */
export interface Recorded {
  readonly resources: readonly PlannedResource[];
  /** Resources of one type token, e.g. `aws:ec2/natGateway:NatGateway`. */
  ofType(type: string): PlannedResource[];
  /** The one resource with this logical name and type; fails the test when there is none. */
  named(name: string, type: string): PlannedResource;
}

/**
 * Runs `build` under the planner's own mock runtime and recorder, the same path `pnpm plan`
 * takes. Once per test file: the Pulumi runtime's state is global to the process.
 */
export async function recordComponents(
  build: () => void | Promise<void>,
  environment = { region: "ap-southeast-1", accountId: "123456789012" },
): Promise<Recorded> {
  const recorded = await recordStack({
    project: "paimon",
    stack: "test",
    config: {},
    secretKeys: [],
    environment,
    program: async () => {
      await build();
      return {};
    },
  });
  const { resources } = toSnapshot("paimon", "test", recorded);
  return {
    resources,
    ofType: (type) => resources.filter((resource) => resource.type === type),
    named: (name, type) => {
      const found = resources.find((resource) => resource.name === name && resource.type === type);
      if (!found) throw new Error(`no ${type} named ${name}; have ${resources.map((r) => r.name).join(", ")}`);
      return found;
    },
  };
}

/** The parsed document of a policy-valued input (`policy`, `assumeRolePolicy`). */
export function policyOf(resource: PlannedResource, property = "policy"): { Statement: Record<string, unknown>[] } {
  const value = resource.inputs[property] as { "@json"?: { Statement: Record<string, unknown>[] } } | undefined;
  if (!value?.["@json"]) throw new Error(`${resource.name} has no ${property} document`);
  return value["@json"];
}
