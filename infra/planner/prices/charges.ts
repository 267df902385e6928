import type { Json, PlannedResource } from "../snapshot";

/**
 * What AWS bills a planned resource for, before prices: one charge per thing AWS meters, naming
 * the price table's item and how many units a month the plan provisions. A charge AWS meters by
 * use (GB processed, requests, GB stored in a bucket) has no quantity: no plan knows the traffic,
 * so the estimate shows its rate and keeps it out of the totals.
 */

/** The resource types of the cost table, in the order it lists them. */
export const COST_CATEGORIES = [
  "EKS control plane",
  "Node groups",
  "EC2 instances",
  "RDS",
  "ElastiCache",
  "OpenSearch",
  "NAT gateways",
  "Public IPv4",
  "EBS volumes",
  "Load balancers",
  "VPC endpoints",
  "S3",
  "KMS keys",
  "Secrets Manager",
  "CloudWatch Logs",
  "WAF",
  "CloudFront",
  "Route 53",
] as const;
export type CostCategory = (typeof COST_CATEGORIES)[number];

export interface ChargeBase {
  /** Tells a resource's charges apart (`instances`, `storage`…); with the URN, stable across plans. */
  readonly part: string;
  readonly category: CostCategory;
  /** The price table's item, e.g. `ec2.instance:m6i.large`. */
  readonly item: string;
  /** Where it is billed: an AWS region, `global`, or undefined when the plan does not say. */
  readonly region: string | undefined;
  /** What is counted, in words: `3 × m6i.xlarge (desired size; scales 3–9)`. */
  readonly detail: string;
}

/** A charge the plan fixes: so many units a month. */
export interface FixedCharge extends ChargeBase {
  readonly kind: "fixed";
  /** Units a month (instance-hours, GB-months, key-months); null when the plan does not say. */
  readonly quantity: number | null;
  /** Why the quantity is not known, when it is not. */
  readonly unknownBecause?: string;
}

/** A charge metered by use, which no plan can know. */
export interface UsageCharge extends ChargeBase {
  readonly kind: "usage";
}

export type Charge = FixedCharge | UsageCharge;

/** What an estimator may look up besides the resource itself. */
export interface BillingContext {
  readonly hoursPerMonth: number;
  /** The resource's region: its own `region` input, else its provider's. */
  readonly regionOf: (resource: PlannedResource) => string | undefined;
  /** The resource of `type` that a `<kind:name.attr>` reference, or the value of `identifierKey`, names. */
  readonly resolve: (reference: Json | undefined, type: string, identifierKey?: string) => PlannedResource | undefined;
  /** A Kubernetes StorageClass of the plan by name; the default class when `name` is undefined. */
  readonly storageClass: (name: string | undefined) => PlannedResource | undefined;
}

export type Estimator = (resource: PlannedResource, context: BillingContext, region: string | undefined) => Charge[];

type Inputs = PlannedResource["inputs"];

export const record = (value: Json | undefined): Inputs | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
export const text = (value: Json | undefined): string | undefined => (typeof value === "string" ? value : undefined);
export const count = (value: Json | undefined): number | undefined =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
export const list = (value: Json | undefined): Json[] => (Array.isArray(value) ? value : []);
/** The value at a dotted path of plain keys. */
export const at = (value: Json | undefined, path: string): Json | undefined =>
  path.split(".").reduce<Json | undefined>((current, key) => record(current)?.[key], value);
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A fixed charge; `quantity` undefined makes it unknown, for the reason given. */
export function fixed(base: ChargeBase, quantity: number | undefined, unknownBecause: string): FixedCharge {
  return { kind: "fixed", ...base, quantity: quantity ?? null, ...(quantity === undefined ? { unknownBecause } : {}) };
}

export function usage(base: ChargeBase): UsageCharge {
  return { kind: "usage", ...base };
}

const BINARY: Readonly<Record<string, number>> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Readonly<Record<string, number>> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** A Kubernetes storage quantity (`100Gi`, `500G`) in GiB, the unit EBS bills as "GB". */
export function quantityGiB(value: Json | undefined): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(typeof value === "string" ? value.trim() : "");
  if (!match) return undefined;
  const suffix = match[2] ?? "";
  return (Number(match[1]) * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1)) / 2 ** 30;
}
