import type { PlannedResource, PlanSnapshot } from "../snapshot";
import { AWS_ALIASES, AWS_CHARGES } from "./aws-charges";
import { at, record, text, type BillingContext, type Charge } from "./charges";
import { DATA_STORE_ALIASES, DATA_STORE_CHARGES } from "./data-store-charges";
import { KUBERNETES_ALIASES, KUBERNETES_CHARGES } from "./kubernetes-charges";

export { COST_CATEGORIES, type Charge, type CostCategory } from "./charges";

const ESTIMATORS = { ...AWS_CHARGES, ...DATA_STORE_CHARGES, ...KUBERNETES_CHARGES };
const ALIASES: Readonly<Record<string, string>> = { ...AWS_ALIASES, ...DATA_STORE_ALIASES, ...KUBERNETES_ALIASES };

const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";

/** `aws:ec2/launchTemplate:LaunchTemplate` → `launchTemplate`, as the plan's placeholders write it. */
function kindOf(type: string): string {
  const kind = type.split(":").pop() ?? type;
  return `${kind.charAt(0).toLowerCase()}${kind.slice(1)}`;
}

/** The lookups an estimator needs, over one snapshot. */
export function billingContext(snapshot: PlanSnapshot, hoursPerMonth: number): BillingContext {
  const providers = new Map(
    snapshot.resources
      .filter((resource) => resource.type === "pulumi:providers:aws")
      .map((provider) => [provider.urn, text(provider.inputs["region"])]),
  );
  // Kubernetes objects run in the cluster's region: that of the stack's AWS provider.
  const stackRegion = [...providers.values()].find((region) => region !== undefined);
  const classes = snapshot.resources.filter(
    (resource) => resource.type === "kubernetes:storage.k8s.io/v1:StorageClass",
  );
  const regionOf = (resource: PlannedResource) => {
    if (!resource.type.startsWith("aws:")) return stackRegion;
    const own = text(resource.inputs["region"]);
    if (own) return own;
    return (
      (resource.provider ? providers.get(resource.provider.replace(/::[0-9a-f-]{36}$/, "")) : undefined) ?? stackRegion
    );
  };
  return {
    hoursPerMonth,
    regionOf,
    resolve: (reference, type, identifierKey) => {
      if (typeof reference !== "string") return undefined;
      const placeholder = /^<([A-Za-z0-9]+):(.+)\.[A-Za-z0-9]+>$/.exec(reference);
      return snapshot.resources.find(
        (resource) =>
          resource.type === type &&
          (placeholder
            ? placeholder[1] === kindOf(type) && placeholder[2] === resource.name
            : identifierKey !== undefined && resource.inputs[identifierKey] === reference),
      );
    },
    storageClass: (name) =>
      classes.find((resource) =>
        name === undefined
          ? text(record(at(resource.inputs["metadata"], "annotations"))?.[DEFAULT_CLASS_ANNOTATION]) === "true"
          : text(at(resource.inputs["metadata"], "name")) === name,
      ),
  };
}

/** What a resource is billed for; nothing for the many resources AWS does not bill (roles, routes…). */
export function chargesOf(resource: PlannedResource, context: BillingContext): Charge[] {
  const estimator = ESTIMATORS[resource.type] ?? ESTIMATORS[ALIASES[resource.type] ?? ""];
  return estimator ? estimator(resource, context, context.regionOf(resource)) : [];
}
