import * as pulumi from "@pulumi/pulumi";
import ipaddr from "ipaddr.js";
import { z } from "zod";

/**
 * The only reader of Pulumi configuration. Every stack difference lives in
 * `Pulumi.<stack>.yaml`; this module turns those values into one typed, frozen object and
 * refuses to go on when a key is missing, malformed or unknown, naming the file and the key.
 */

const PROJECT_NAMESPACE = "paimon";

/** Backup kinds of the operations spec's §7.1 table that land in the backup bucket. */
export const BACKUP_KINDS = ["postgres", "redis", "secrets"] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

/** Values CloudWatch Logs accepts for a log group's retention. */
export const CLOUDWATCH_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const days = (max: number) => z.number().int().min(1).max(max);

const cidrBlock = z.string().refine(
  (value) => {
    if (!ipaddr.IPv4.isValidCIDRFourPartDecimal(value)) return false;
    const [address, prefix] = ipaddr.IPv4.parseCIDR(value);
    const network = ipaddr.IPv4.networkAddressFromCIDR(value);
    return prefix >= 16 && prefix <= 20 && network.toString() === address.toString();
  },
  { message: "must be an IPv4 network block from /16 to /20 with no host bits set, e.g. 10.20.0.0/16" },
);

const networkSchema = z.strictObject({
  /** The VPC's IPv4 range, split across AZs into public, private and database subnets. */
  cidrBlock,
  /** How many availability zones the VPC spans; the database tier needs at least two. */
  availabilityZoneCount: z.number().int().min(2).max(6),
  /**
   * `single`: one NAT gateway shared by all private subnets (cheaper, one AZ is a single point
   * of egress failure). `one-per-az`: each AZ egresses through its own NAT gateway.
   */
  natGateways: z.enum(["single", "one-per-az"]),
  /** Retention of the VPC flow-log group, in days (a CloudWatch Logs allowed value). */
  flowLogRetentionDays: z
    .number()
    .int()
    .refine((value) => CLOUDWATCH_RETENTION_DAYS.includes(value), {
      message: `must be one of CloudWatch Logs' retention values: ${CLOUDWATCH_RETENTION_DAYS.join(", ")}`,
    }),
});

const keysSchema = z.strictObject({
  /** Waiting period before the data key is deleted once scheduled (AWS allows 7–30). */
  dataKeyDeletionWindowDays: z.number().int().min(7).max(30),
  /** Waiting period for the signing key; keep it at the 30-day maximum. */
  signingKeyDeletionWindowDays: z.number().int().min(7).max(30),
});

const backupsSchema = z.strictObject({
  /** Days each backup kind's objects are kept (operations spec §7.1). */
  retentionDays: z.strictObject({
    postgres: days(3650),
    redis: days(3650),
    secrets: days(3650),
  }),
  /** Days a replaced or deleted object version is kept before it expires. */
  noncurrentVersionRetentionDays: days(365),
  /** Whether `pulumi destroy` may delete a bucket that still holds backups. */
  forceDestroy: z.boolean(),
});

const tagKey = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "tag keys are lower-case kebab-case");

const stackConfigSchema = z.strictObject({
  environment: z.enum(["staging", "production"]),
  awsAccountId: z.string().regex(/^\d{12}$/, "must be the 12-digit AWS account id, quoted"),
  region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "must be an AWS region such as ap-southeast-1"),
  network: networkSchema,
  keys: keysSchema,
  backups: backupsSchema,
  tags: z.record(tagKey, z.string().min(1).max(256)),
});

export type StackConfig = Readonly<z.infer<typeof stackConfigSchema>> & {
  /** The Pulumi stack name (`staging`, `production`, …). */
  readonly stack: string;
  /** The configuration file the values came from, for messages. */
  readonly file: string;
};

/** Config keys read from namespaces other than the project's, mapped to schema fields. */
const FOREIGN_KEYS: Readonly<Record<string, keyof z.infer<typeof stackConfigSchema>>> = {
  "aws:region": "region",
};

/** A configuration value that is missing, malformed or unknown. */
export class StackConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.join("; ")}`);
    this.name = "StackConfigError";
  }
}

/**
 * Pulumi hands structured values over as JSON and scalars as plain strings; top-level scalars
 * stay strings (an account id must keep its digits as written).
 */
function decode(raw: string): unknown {
  if (!/^\s*[[{]/.test(raw)) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The name a schema path has in the YAML file: `paimon:network.availabilityZoneCount`. */
function keyName(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path;
  if (head === undefined) return `${PROJECT_NAMESPACE}:*`;
  const foreign = Object.entries(FOREIGN_KEYS).find(([, field]) => field === head)?.[0];
  const top = foreign ?? `${PROJECT_NAMESPACE}:${String(head)}`;
  return [top, ...rest.map((segment) => (typeof segment === "number" ? `[${segment}]` : String(segment)))]
    .join(".")
    .replace(/\.\[/g, "[");
}

/**
 * Validates a stack's raw configuration (the `namespace:key` → string map that
 * `pulumi.runtime.allConfig()` returns) and reports every problem at once.
 */
export function parseStackConfig(values: Readonly<Record<string, string>>, stack: string): StackConfig {
  const file = `Pulumi.${stack}.yaml`;
  const candidate: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, raw] of Object.entries(values)) {
    const foreign = FOREIGN_KEYS[key];
    if (foreign) {
      candidate[foreign] = decode(raw);
    } else if (key.startsWith(`${PROJECT_NAMESPACE}:`)) {
      candidate[key.slice(PROJECT_NAMESPACE.length + 1)] = decode(raw);
    }
  }
  const result = stackConfigSchema.safeParse(candidate);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) problems.push(`${keyName([...issue.path, key])}: unknown key`);
      } else if (issue.code === "invalid_type" && issue.input === undefined) {
        problems.push(`${keyName(issue.path)}: missing (expected ${issue.expected})`);
      } else {
        problems.push(`${keyName(issue.path)}: ${issue.message}`);
      }
    }
  }
  if (problems.length > 0 || !result.success) throw new StackConfigError(file, problems);
  if (result.data.environment !== stack && !stack.startsWith(`${result.data.environment}-`)) {
    throw new StackConfigError(file, [
      `${keyName(["environment"])}: "${result.data.environment}" does not match stack "${stack}" (name personal stacks <environment>-<suffix>)`,
    ]);
  }
  return deepFreeze({ ...result.data, stack, file });
}

/** Reads and validates the current stack's configuration: the composition root's first step. */
export function loadStackConfig(): StackConfig {
  return parseStackConfig(pulumi.runtime.allConfig(), pulumi.getStack());
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
