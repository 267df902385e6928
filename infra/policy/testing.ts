import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { expect } from "vitest";
import { evaluatePolicies } from "../planner/policy";
import type { RecordedResource } from "../planner/record";
import type { PolicyConfig } from "./rule";

/** A recorded resource as the planner's recorder would produce it. */
export function resource(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  extra: { protect?: boolean; dependsOn?: Record<string, string[]> } = {},
): RecordedResource {
  return {
    urn: urnOf(type, name),
    type,
    name,
    custom: true,
    parent: undefined,
    provider: undefined,
    dependsOn: [],
    protect: extra.protect ?? false,
    retainOnDelete: false,
    deleteBeforeReplace: false,
    ignoreChanges: [],
    replaceOnChanges: [],
    propertyDependencies: extra.dependsOn ?? {},
    inputs,
  };
}
export const urnOf = (type: string, name: string): string => `urn:pulumi:test::paimon::${type}::${name}`;

/** A Kubernetes manifest as the platform deploys it: a resource typed by its apiVersion and kind. */
export function manifest(object: {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string } & Record<string, unknown>;
  [field: string]: unknown;
}): RecordedResource {
  const namespace = object.metadata.namespace ? `${object.metadata.namespace}-` : "";
  return resource(
    `kubernetes:${object.apiVersion}:${object.kind}`,
    `${object.kind.toLowerCase()}-${namespace}${object.metadata.name}`,
    object,
  );
}

/** A stack that breaks a rule, and one that does not. */
export interface Case {
  readonly failing: readonly RecordedResource[];
  readonly passing: readonly RecordedResource[];
  /** The environment the case runs in. @default "production" */
  readonly environment?: PolicyConfig["environment"];
}

/** Runs a rule on its failing stack (it must fire, alone) and on its passing one (it must stay quiet). */
export function expectCase(policy: ResourceValidationPolicy | StackValidationPolicy, testCase: Case): void {
  const config = { environment: testCase.environment ?? "production" } as const;
  const fired = evaluatePolicies([policy], testCase.failing, config);
  expect(fired.length, "the failing stack breaks the rule").toBeGreaterThan(0);
  expect(fired.every((violation) => violation.policy === policy.name)).toBe(true);
  expect(evaluatePolicies([policy], testCase.passing, config)).toEqual([]);
}
