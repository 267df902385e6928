// The policy pack: `pulumi preview --policy-pack infra/policy --policy-pack-config infra/policy/<stack>.json`.
// `pnpm plan` applies the same rules to the mock resources (infra/planner/policy.ts).
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("paimon", { policies: [...policies] });
