/**
 * The Pulumi runtime's markers for values that are not plain data, as they appear in
 * deserialized resource inputs (see @pulumi/pulumi runtime/rpc). One copy for the planner.
 */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
export const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
export const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether a deserialized value is a secret wrapper. */
export const isSecretValue = (value: unknown): value is { value: unknown } =>
  typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;

/** A value in the runtime's wire form for secrets. */
export const secretValue = (value: unknown): Record<string, unknown> => ({ [SIG_KEY]: SECRET_SIG, value });
