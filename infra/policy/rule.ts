import type {
  PolicyConfigSchema,
  PolicyResource,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";

/** The pack's configuration: which environment's bar a stack must clear. */
export interface PolicyConfig {
  /** Production-only rules (Multi-AZ, deletion protection, HA search) apply when this is `production`. */
  readonly environment: "staging" | "production";
}

export const POLICY_CONFIG_SCHEMA: PolicyConfigSchema = {
  properties: { environment: { type: "string", enum: ["staging", "production"] } },
  required: ["environment"],
};

/** Without configuration a stack is held to the production bar: the strictest is the default. */
function configOf(getConfig: () => Partial<PolicyConfig>): PolicyConfig {
  return { environment: getConfig().environment ?? "production" };
}

export type Props = Record<string, unknown>;

export interface ResourceRuleContext {
  readonly props: Props;
  readonly name: string;
  readonly type: string;
  readonly protect: boolean;
  readonly config: PolicyConfig;
}

/** How bad a violation is; the planner reports it with each finding. */
export type RuleSeverity = "critical" | "high" | "medium" | "low";

interface RuleSpec {
  /** Named after the Checkov check it matches (`CKV_AWS_16-…`), or `paimon-…` where none does. */
  readonly name: string;
  readonly description: string;
  readonly enforcement: "mandatory" | "advisory";
  /** Applies to production stacks only. @default false */
  readonly productionOnly?: boolean;
  /** @default high for a mandatory rule, low for an advisory one */
  readonly severity?: RuleSeverity;
  /** The Checkov check it matches when its name does not start with one. */
  readonly checkov?: string;
}

export interface ResourceRuleSpec extends RuleSpec {
  /** Resource type tokens the rule checks. */
  readonly types: readonly string[];
  /** Logical resource names exempt from the rule, each with the reason an auditor reads. */
  readonly exemptions?: Readonly<Record<string, string>>;
  /** Returns what is wrong (nothing when compliant). */
  readonly check: (context: ResourceRuleContext) => string | readonly string[] | undefined;
}

export interface StackRuleSpec extends RuleSpec {
  readonly check: (
    resources: readonly PolicyResource[],
    config: PolicyConfig,
  ) => readonly { message: string; urn?: string }[];
}

/** A rule over single resources, as a `@pulumi/policy` resource validation policy. */
export function resourceRule(spec: ResourceRuleSpec): ResourceValidationPolicy & {
  readonly exemptions: Readonly<Record<string, string>>;
  readonly severity?: RuleSeverity;
  readonly checkov?: string;
} {
  return {
    ...(spec.severity ? { severity: spec.severity } : {}),
    ...(spec.checkov ? { checkov: spec.checkov } : {}),
    name: spec.name,
    description: spec.description,
    enforcementLevel: spec.enforcement,
    configSchema: POLICY_CONFIG_SCHEMA,
    exemptions: spec.exemptions ?? {},
    validateResource: (args, reportViolation) => {
      if (!spec.types.includes(args.type)) return;
      const config = configOf(() => args.getConfig<Partial<PolicyConfig>>());
      if (spec.productionOnly && config.environment !== "production") return;
      if (spec.exemptions?.[args.name] !== undefined) return;
      const found = spec.check({
        props: args.props,
        name: args.name,
        type: args.type,
        protect: args.opts.protect,
        config,
      });
      for (const message of typeof found === "string" ? [found] : (found ?? [])) reportViolation(message);
    },
  };
}

/** A rule over the whole stack (a bucket and its settings, a VPC and its flow log). */
export function stackRule(
  spec: StackRuleSpec,
): StackValidationPolicy & { readonly severity?: RuleSeverity; readonly checkov?: string } {
  return {
    ...(spec.severity ? { severity: spec.severity } : {}),
    ...(spec.checkov ? { checkov: spec.checkov } : {}),
    name: spec.name,
    description: spec.description,
    enforcementLevel: spec.enforcement,
    configSchema: POLICY_CONFIG_SCHEMA,
    validateStack: (args, reportViolation) => {
      const config = configOf(() => args.getConfig<Partial<PolicyConfig>>());
      if (spec.productionOnly && config.environment !== "production") return;
      for (const { message, urn } of spec.check(args.resources, config)) reportViolation(message, urn);
    },
  };
}

/** The resources of `type` whose `property` refers to `target` (a bucket's versioning, a VPC's flow log). */
export function attachedTo(
  resources: readonly PolicyResource[],
  target: PolicyResource,
  type: string,
  property: string,
): PolicyResource[] {
  return resources.filter(
    (resource) =>
      resource.type === type &&
      (resource.propertyDependencies[property] ?? []).some((dependency) => dependency.urn === target.urn),
  );
}

/** One IAM statement, normalised: lists are lists. */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Principal?: unknown;
  readonly Action: readonly string[];
  readonly NotAction: readonly string[];
  readonly Resource: readonly string[];
  readonly Condition?: Record<string, unknown>;
}

const asList = (value: unknown): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value.map(text) : [text(value)];

/** The statements of a policy document given as JSON text or as an object. */
export function statementsOf(document: unknown): Statement[] {
  let parsed = document;
  if (typeof document === "string") {
    try {
      parsed = JSON.parse(document);
    } catch {
      return [];
    }
  }
  const raw = (parsed as { Statement?: unknown } | undefined)?.Statement;
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return list
    .filter((statement): statement is Record<string, unknown> => typeof statement === "object" && statement !== null)
    .map((statement) => ({
      ...(typeof statement["Sid"] === "string" ? { Sid: statement["Sid"] } : {}),
      Effect: String(statement["Effect"]),
      Principal: statement["Principal"],
      Action: asList(statement["Action"]),
      NotAction: asList(statement["NotAction"]),
      Resource: asList(statement["Resource"]),
      ...(statement["Condition"] ? { Condition: statement["Condition"] as Record<string, unknown> } : {}),
    }));
}

/** Whether a principal admits everyone (`"*"` or `{ AWS: "*" }`). */
export function isEveryone(principal: unknown): boolean {
  if (principal === "*") return true;
  if (principal && typeof principal === "object") {
    return asList((principal as Record<string, unknown>)["AWS"]).includes("*");
  }
  return false;
}

/** A nested property, `get(props, "vpcConfig", "endpointPublicAccess")`. */
export function get(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

export const isTrue = (value: unknown): boolean => value === true || value === "true";

/** A property as text for a message: strings as they are, anything else as JSON. */
export function text(value: unknown): string {
  if (typeof value === "string") return value;
  return value === undefined ? "" : JSON.stringify(value);
}
