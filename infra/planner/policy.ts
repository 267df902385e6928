import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { PolicyConfig } from "../policy/rule";
import type { Severity } from "./findings";
import type { RecordedResource } from "./record";
import { isSecretValue } from "./signatures";

/** One rule broken by one resource (or by the stack as a whole). */
export interface PolicyViolation {
  readonly policy: string;
  readonly enforcement: "mandatory" | "advisory";
  /** How bad it is: the rule's own, or high for a mandatory rule and low for an advisory one. */
  readonly severity: Severity;
  /** The Checkov check the rule matches, where one does. */
  readonly checkov?: string;
  readonly message: string;
  readonly urn?: string;
  readonly name?: string;
}

/**
 * Inputs as the engine hands them to a policy: secrets unwrapped to their values (a policy must
 * see that an origin is HTTPS-only even when the origin list carries a secret header). Under the
 * planner's mocks a secret's value is itself a placeholder, never a real secret.
 */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    if (isSecretValue(value)) return plain(value.value);
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, plain(child)]));
  }
  return value;
}

class NotApplicable extends Error {}
const notApplicable = (reason?: string): never => {
  throw new NotApplicable(reason);
};

/**
 * Runs the policy pack's rules over the resources a planning run recorded, the way the Pulumi
 * engine runs them during `pulumi preview --policy-pack`: each resource rule on each resource,
 * each stack rule once over all of them.
 */
export function evaluatePolicies(
  policies: readonly (ResourceValidationPolicy | StackValidationPolicy)[],
  recorded: readonly RecordedResource[],
  config: PolicyConfig,
): PolicyViolation[] {
  const byUrn = new Map<string, PolicyResource>();
  const resources: PolicyResource[] = recorded.map((resource) => {
    const policyResource = {
      type: resource.type,
      name: resource.name,
      urn: resource.urn,
      props: plain(resource.inputs) as Record<string, unknown>,
      opts: {
        protect: resource.protect,
        ignoreChanges: [...resource.ignoreChanges],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...(resource.parent ? { parent: resource.parent } : {}),
      },
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    } as unknown as PolicyResource;
    byUrn.set(resource.urn, policyResource);
    return policyResource;
  });
  recorded.forEach((resource, index) => {
    const target = resources[index] as { propertyDependencies: Record<string, PolicyResource[]> };
    for (const [property, urns] of Object.entries(resource.propertyDependencies)) {
      target.propertyDependencies[property] = urns.flatMap((urn) => byUrn.get(urn) ?? []);
    }
  });

  const violations: PolicyViolation[] = [];
  // The engine hands policies their configuration untyped; so does this harness.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  const getConfig = <T extends object>() => config as unknown as T;
  for (const policy of policies) {
    const enforcement: PolicyViolation["enforcement"] =
      policy.enforcementLevel === "mandatory" ? "mandatory" : "advisory";
    if (policy.enforcementLevel === "disabled") continue;
    const severity: Severity =
      (policy as { readonly severity?: Severity }).severity ?? (enforcement === "mandatory" ? "high" : "low");
    const checkov =
      /^(CKV2?_[A-Z0-9]+_\d+)/.exec(policy.name)?.[1] ?? (policy as { readonly checkov?: string }).checkov;
    const rated = { enforcement, severity, ...(checkov ? { checkov } : {}) };
    if ("validateStack" in policy) {
      const report = (message: string, urn?: string) => {
        violations.push({
          policy: policy.name,
          ...rated,
          message,
          ...(urn ? { urn, name: byUrn.get(urn)?.name ?? "" } : {}),
        });
      };
      try {
        void policy.validateStack({ resources, stackTags: new Map(), getConfig, notApplicable }, report);
      } catch (error) {
        if (!(error instanceof NotApplicable)) throw error;
      }
      continue;
    }
    const validators = [policy.validateResource ?? []].flat();
    for (const resource of resources) {
      const args: ResourceValidationArgs = {
        type: resource.type,
        props: resource.props,
        urn: resource.urn,
        name: resource.name,
        opts: resource.opts,
        stackTags: new Map(),
        isType: (cls: unknown) => (cls as { __pulumiType?: string }).__pulumiType === resource.type,
        asType: (() => resource.props) as ResourceValidationArgs["asType"],
        getConfig,
        notApplicable,
      };
      const report = (message: string) => {
        violations.push({ policy: policy.name, ...rated, message, urn: resource.urn, name: resource.name });
      };
      for (const validate of validators) {
        try {
          void validate(args, report);
        } catch (error) {
          if (!(error instanceof NotApplicable)) throw error;
        }
      }
    }
  }
  return violations.sort((a, b) =>
    a.enforcement !== b.enforcement
      ? a.enforcement === "mandatory"
        ? -1
        : 1
      : a.policy < b.policy
        ? -1
        : a.policy > b.policy
          ? 1
          : 0,
  );
}
