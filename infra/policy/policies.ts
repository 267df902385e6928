import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { computeRules } from "./rules/compute";
import { dataRules } from "./rules/data";
import { edgeRules } from "./rules/edge";
import { hardeningRules } from "./rules/hardening";
import { identityRules } from "./rules/identity";
import { reachabilityRules } from "./rules/ingress";
import { logAccessRules } from "./rules/log-access";
import { networkRules } from "./rules/network";
import { serviceAccountRules } from "./rules/service-accounts";
import { storageRules } from "./rules/storage";
import { workloadRules } from "./rules/workloads";

/**
 * The rules that check how the pieces fit together — what AWS and Kubernetes would refuse or
 * never complete although each resource is valid alone: service accounts and IRSA trust, DNS and
 * ACME reachability, OpenSearch role mappings, migrations before rollouts, images by digest.
 */
export const wiringRules: readonly (ResourceValidationPolicy | StackValidationPolicy)[] = [
  ...serviceAccountRules,
  ...reachabilityRules,
  ...logAccessRules,
  ...workloadRules,
];

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
  ...hardeningRules,
  ...wiringRules,
];
