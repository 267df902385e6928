import * as pulumi from "@pulumi/pulumi";
import { SECRET_KEYS, stackConfigSchema, type SecretKey, type StackConfigValues } from "./config-schema";

export { BACKUP_KINDS, CLOUDWATCH_RETENTION_DAYS, SECRET_KEYS, type BackupKind } from "./config-schema";

/**
 * The only reader of Pulumi configuration. Every stack difference lives in
 * `Pulumi.<stack>.yaml`; this module turns those values into one typed, frozen object and
 * refuses to go on when a key is missing, malformed, unknown, or a secret held in plain text,
 * naming the file and the key.
 */

const PROJECT_NAMESPACE = "paimon";

export type StackConfig = Readonly<Omit<StackConfigValues, SecretKey>> & {
  /** The Pulumi stack name (`staging`, `production`, …). */
  readonly stack: string;
  /** The configuration file the values came from, for messages. */
  readonly file: string;
  /** Secret config values, as secret outputs: they never reach a plan or a log in clear. */
  readonly secretValues: Readonly<Partial<Record<SecretKey, pulumi.Output<string>>>>;
};

/** Config keys read from namespaces other than the project's, mapped to schema fields. */
const FOREIGN_KEYS: Readonly<Record<string, keyof StackConfigValues>> = {
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
 * `pulumi.runtime.allConfig()` returns, and the keys it holds as secrets) and reports every
 * problem at once.
 */
export function parseStackConfig(
  values: Readonly<Record<string, string>>,
  stack: string,
  secretKeys: readonly string[] = [],
): StackConfig {
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
  for (const name of SECRET_KEYS) {
    const key = `${PROJECT_NAMESPACE}:${name}`;
    if (key in values && !secretKeys.includes(key)) {
      problems.push(
        `${key}: is a secret but is stored in plain text; set it with \`pulumi config set --secret ${key} …\``,
      );
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
  const { bscRpcUrl, bscWsUrl, pagerdutyRoutingKey, ...settings } = result.data;
  if (settings.environment !== stack && !stack.startsWith(`${settings.environment}-`)) {
    throw new StackConfigError(file, [
      `${keyName(["environment"])}: "${settings.environment}" does not match stack "${stack}" (name personal stacks <environment>-<suffix>)`,
    ]);
  }
  const plain: Record<SecretKey, string | undefined> = { bscRpcUrl, bscWsUrl, pagerdutyRoutingKey };
  const secretValues: Partial<Record<SecretKey, pulumi.Output<string>>> = {};
  for (const name of SECRET_KEYS) {
    const value = plain[name];
    if (value !== undefined) secretValues[name] = pulumi.secret(value);
  }
  return deepFreeze({ ...settings, stack, file, secretValues });
}

/** What a stack targets: its account, region and environment. */
export interface StackTarget {
  readonly region: string | undefined;
  readonly awsAccountId: string | undefined;
  readonly environment: string | undefined;
}

/**
 * The account, region and environment a stack's raw configuration names, read from the keys this
 * module owns without validating the rest — for the planner, which must answer the program's
 * lookups for that account and region, and apply that environment's policy bar, before (or
 * without) the program's own validation, which reports every problem.
 */
export function stackTarget(values: Readonly<Record<string, string>>): StackTarget {
  const field = (name: keyof StackConfigValues): string | undefined => {
    const key =
      Object.entries(FOREIGN_KEYS).find(([, target]) => target === name)?.[0] ?? `${PROJECT_NAMESPACE}:${name}`;
    const value = values[key];
    return value === undefined ? undefined : value.replace(/^"(.*)"$/, "$1");
  };
  return { region: field("region"), awsAccountId: field("awsAccountId"), environment: field("environment") };
}

/** Reads and validates the current stack's configuration: the composition root's first step. */
export function loadStackConfig(): StackConfig {
  const values = pulumi.runtime.allConfig();
  // `isConfigSecret` is exported by the runtime but left out of its type declarations.
  const runtime = pulumi.runtime as unknown as { isConfigSecret(key: string): boolean };
  const secretKeys = Object.keys(values).filter((key) => runtime.isConfigSecret(key));
  return parseStackConfig(values, pulumi.getStack(), secretKeys);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !pulumi.Output.isInstance(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
