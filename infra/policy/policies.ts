import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { computeRules } from "./rules/compute";
import { dataRules } from "./rules/data";
import { edgeRules } from "./rules/edge";
import { identityRules } from "./rules/identity";
import { networkRules } from "./rules/network";
import { storageRules } from "./rules/storage";

/**
 * Every rule of the pack. Kept apart from index.ts, whose `new PolicyPack()` starts the policy
 * server: the planner and the tests run these rules directly.
 */
export const policies: readonly (ResourceValidationPolicy | StackValidationPolicy)[] = [
  ...networkRules,
  ...computeRules,
  ...dataRules,
  ...storageRules,
  ...identityRules,
  ...edgeRules,
];
