/**
 * The stack's secrets, exported and restored (the backup table: daily, kept 90 days). Secrets
 * Manager keeps versions of its own, but not past a deleted secret or a deleted account: the
 * export is every secret under the stack's prefix (`paimon/<stack>/`), sealed with the data key
 * (secrets-envelope.ts). The manifest names each secret and its version — never a value, which
 * exists only inside the ciphertext. A restore opens the export (a changed byte anywhere is
 * refused), checks it against the manifest, and writes each secret back as a new version with
 * PutSecretValue — only to secrets that exist under the prefix: it never creates one, and an
 * unknown name refuses the whole restore before anything is written.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { KMSClient } from "@aws-sdk/client-kms";
import { z } from "zod";
import { BackupError, type BackupTarget, type Produced } from "./backups";
import type { Manifest } from "./manifest";
import { EnvelopeError, envelopeSchema, open, seal } from "./secrets-envelope";

export const SECRETS_FILE = "secrets.enc";
export const ENVELOPE_FILE = "envelope.json";

const exportSchema = z.strictObject({
  format: z.literal(1),
  prefix: z.string(),
  secrets: z.array(
    z.strictObject({
      name: z.string().min(1),
      version_id: z.string().min(1),
      string: z.string().optional(),
      binary: z.base64().optional(),
    }),
  ),
});
type Export = z.infer<typeof exportSchema>;

export interface SecretsClients {
  readonly secretsManager: SecretsManagerClient;
  readonly kms: KMSClient;
}

/** The names of the secrets under `prefix` (ListSecrets' name filter is a prefix match; checked again). */
export async function listSecretNames(client: SecretsManagerClient, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListSecretsCommand({ Filters: [{ Key: "name", Values: [prefix] }], NextToken: token, MaxResults: 100 }),
    );
    for (const secret of page.SecretList ?? []) if (secret.Name?.startsWith(prefix) === true) names.push(secret.Name);
    token = page.NextToken;
  } while (token !== undefined);
  return names.sort();
}

/** Reads every secret under `prefix`, seals them with the data key, and checks that the seal opens. */
export async function exportSecrets(
  options: SecretsClients & { readonly keyId: string; readonly prefix: string },
  directory: string,
  backup: BackupTarget,
): Promise<Produced> {
  const names = await listSecretNames(options.secretsManager, options.prefix);
  if (names.length === 0)
    throw new Error(
      `SECRETS_PREFIX: no secret is named ${options.prefix}…: nothing to back up, and that is not a backup`,
    );
  const secrets: Export["secrets"] = [];
  for (const name of names) {
    const value = await options.secretsManager.send(new GetSecretValueCommand({ SecretId: name }));
    if (value.VersionId === undefined) throw new Error(`${name}: Secrets Manager answered without a version`);
    secrets.push({
      name,
      version_id: value.VersionId,
      ...(value.SecretString !== undefined ? { string: value.SecretString } : {}),
      ...(value.SecretBinary !== undefined ? { binary: Buffer.from(value.SecretBinary).toString("base64") } : {}),
    });
  }
  const plaintext = Buffer.from(JSON.stringify({ format: 1, prefix: options.prefix, secrets } satisfies Export));
  const { envelope, ciphertext } = await seal(options.kms, options.keyId, backup.id, plaintext);
  plaintext.fill(0);
  // Success means restorable: the export opens before it is stored.
  (await open(options.kms, backup.id, envelope, ciphertext)).fill(0);
  const envelopeFile = path.join(directory, ENVELOPE_FILE);
  const secretsFile = path.join(directory, SECRETS_FILE);
  await writeFile(envelopeFile, `${JSON.stringify(envelope, null, 2)}\n`);
  await writeFile(secretsFile, ciphertext, { mode: 0o600 });
  return {
    files: [envelopeFile, secretsFile],
    tables: {},
    secrets: secrets.map(({ name, version_id }) => ({ name, version_id })),
    position: { wal_lsn: null, listener_block: null },
    source: { server_version: null, database: options.prefix },
  };
}

/** The same backup, secret and version restore as the same request: a retried restore adds no version. */
const requestToken = (backupId: string, name: string, versionId: string) =>
  createHash("sha256").update(`${backupId}\n${name}\n${versionId}`).digest("hex");

/**
 * Opens a verified secrets backup and writes its secrets back (all, or `only` those named).
 * Resolves to each restored secret's name and its new version.
 */
export async function restoreSecrets(
  options: SecretsClients & {
    readonly prefix: string;
    readonly manifest: Manifest;
    /** The verified artefacts, as `fetchVerified` wrote them. */
    readonly files: readonly string[];
    readonly only?: readonly string[];
  },
): Promise<{ name: string; version_id: string }[]> {
  const { manifest } = options;
  const file = (name: string) => {
    const found = options.files.find((candidate) => path.basename(candidate).endsWith(name));
    if (found === undefined) throw new BackupError(`${manifest.id} has no ${name}`);
    return found;
  };
  const envelope = envelopeSchema.safeParse(JSON.parse(await readFile(file(ENVELOPE_FILE), "utf8")));
  if (!envelope.success) throw new BackupError(`${manifest.id}: ${ENVELOPE_FILE} is not an envelope`);
  let contents: Export;
  try {
    const plaintext = await open(options.kms, manifest.id, envelope.data, await readFile(file(SECRETS_FILE)));
    contents = exportSchema.parse(JSON.parse(plaintext.toString("utf8")));
    plaintext.fill(0);
  } catch (error) {
    if (error instanceof EnvelopeError)
      throw new BackupError(`${manifest.id} is refused: ${error.message}`, { cause: error });
    throw error;
  }
  const listed = (manifest.secrets ?? []).map((secret) => `${secret.name}@${secret.version_id}`).join(",");
  if (contents.secrets.map((secret) => `${secret.name}@${secret.version_id}`).join(",") !== listed)
    throw new BackupError(`${manifest.id}: the export's secrets are not the ones its manifest lists`);

  const wanted = options.only ?? contents.secrets.map((secret) => secret.name);
  const inBackup = new Map(contents.secrets.map((secret) => [secret.name, secret]));
  const existing = new Set(await listSecretNames(options.secretsManager, options.prefix));
  const unknown = wanted.filter(
    (name) => !inBackup.has(name) || !name.startsWith(options.prefix) || !existing.has(name),
  );
  if (unknown.length > 0)
    throw new BackupError(
      `${manifest.id}: refusing unknown secret name(s) ${unknown.join(", ")} — each must be in the backup and exist under ${options.prefix} (a restore never creates a secret); nothing was written`,
    );
  const restored: { name: string; version_id: string }[] = [];
  for (const name of wanted) {
    const secret = inBackup.get(name);
    if (secret === undefined) continue;
    const answer = await options.secretsManager.send(
      new PutSecretValueCommand({
        SecretId: name,
        ClientRequestToken: requestToken(manifest.id, name, secret.version_id),
        ...(secret.string !== undefined ? { SecretString: secret.string } : {}),
        ...(secret.binary !== undefined ? { SecretBinary: Buffer.from(secret.binary, "base64") } : {}),
      }),
    );
    restored.push({ name, version_id: answer.VersionId ?? "" });
  }
  return restored;
}
