/**
 * The secrets export and its restore through the real AWS SDK against moto's Secrets Manager and
 * KMS: a round trip, an export whose ciphertext was changed (with the manifest's checksums made to
 * match, so only the envelope can tell), and a restore naming secrets the stack does not have.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { runOpsForTest, startMoto, type LocalServer } from "./testing";

const REGION = "ap-southeast-1";
const ops = runOpsForTest;

const without = (env: Record<string, string>, name: string) =>
  Object.fromEntries(Object.entries(env).filter(([key]) => key !== name));

let moto: LocalServer;
let secretsManager: SecretsManagerClient;
let keyId: string;
let scratch: string;
beforeAll(async () => {
  moto = await startMoto();
  vi.stubEnv("AWS_ACCESS_KEY_ID", "testing");
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", "testing");
  secretsManager = new SecretsManagerClient({ region: REGION, endpoint: moto.url });
  const kms = new KMSClient({ region: REGION, endpoint: moto.url });
  keyId = (await kms.send(new CreateKeyCommand({ Description: "data" }))).KeyMetadata?.KeyId ?? "";
  scratch = mkdtempSync(path.join(tmpdir(), "paimon-secrets-"));
}, 120_000);
afterAll(async () => {
  vi.unstubAllEnvs();
  rmSync(scratch, { recursive: true, force: true });
  await moto.stop();
});

/** A stack of its own per test: its prefix, its secrets, its backup directory. */
let stack: string;
let env: Record<string, string>;
let run = 0;
const VALUES = {
  "database-url": "postgresql://paimon:s3cr3t-db@db.internal:5432/paimon?sslmode=verify-full",
  "jwt-secret": "jwt-0123456789abcdef0123456789abcdef",
};
beforeEach(async () => {
  run += 1;
  stack = `paimon/test${run}/`;
  for (const [name, value] of Object.entries(VALUES))
    await secretsManager.send(
      new CreateSecretCommand({ Name: `${stack}${name}`, SecretString: value, KmsKeyId: keyId }),
    );
  await secretsManager.send(
    new CreateSecretCommand({ Name: `${stack}signing-seed`, SecretBinary: Buffer.from([0, 1, 2, 250, 251]) }),
  );
  // Another stack's secret shares the first path segment and must stay out.
  await secretsManager.send(new CreateSecretCommand({ Name: `paimon/test${run}-other/x`, SecretString: "not ours" }));
  env = {
    BACKUP_TARGET: `file://${mkdtempSync(path.join(scratch, "target-"))}`,
    BACKUP_KMS_KEY_ID: keyId,
    SECRETS_PREFIX: stack,
    AWS_REGION: REGION,
    AWS_KMS_ENDPOINT: moto.url,
    AWS_SECRETS_MANAGER_ENDPOINT: moto.url,
  };
});

const current = async (name: string) => secretsManager.send(new GetSecretValueCommand({ SecretId: `${stack}${name}` }));
const backupDir = (id: string) => path.join(new URL(env["BACKUP_TARGET"] ?? "").pathname, "secrets", id);

describe("a secrets backup", () => {
  it("when made and restored, then the manifest names every secret and version but no value, and the restore writes each back", async () => {
    const made = await ops(["--json", "backup", "secrets"], env);
    expect(made.err).toBe("");
    expect(made.code).toBe(0);
    const { id, manifest } = JSON.parse(made.out) as {
      id: string;
      manifest: { secrets: { name: string; version_id: string }[]; artefacts: { name: string }[] };
    };
    const versions = await Promise.all(
      ["database-url", "jwt-secret", "signing-seed"].map(async (name) => ({
        name: `${stack}${name}`,
        version_id: (await current(name)).VersionId,
      })),
    );
    expect(manifest.secrets).toEqual(versions);
    expect(manifest.artefacts.map((artefact) => artefact.name)).toEqual(["envelope.json", "secrets.enc"]);
    // No value anywhere in the stored files, in the clear.
    for (const file of readdirSync(backupDir(id))) {
      const text = readFileSync(path.join(backupDir(id), file), "latin1");
      for (const value of Object.values(VALUES)) expect(text).not.toContain(value);
    }

    await secretsManager.send(
      new PutSecretValueCommand({ SecretId: `${stack}jwt-secret`, SecretString: "rotated-badly" }),
    );
    await secretsManager.send(
      new PutSecretValueCommand({ SecretId: `${stack}signing-seed`, SecretBinary: Buffer.from([9]) }),
    );
    const restored = await ops(["--json", "restore", id], env);
    expect(restored.err).toBe("");
    expect(restored.code).toBe(0);
    expect((await current("jwt-secret")).SecretString).toBe(VALUES["jwt-secret"]);
    expect((await current("database-url")).SecretString).toBe(VALUES["database-url"]);
    expect(Buffer.from((await current("signing-seed")).SecretBinary ?? [])).toEqual(Buffer.from([0, 1, 2, 250, 251]));
    const first = (JSON.parse(restored.out) as { secrets: { name: string; version_id: string }[] }).secrets;
    expect(first.map((secret) => secret.name)).toEqual(versions.map((version) => version.name));

    // Restored again, the same requests: no new versions.
    const again = JSON.parse((await ops(["--json", "restore", id], env)).out) as { secrets: unknown };
    expect(again.secrets).toEqual(first);
  });

  it("when its ciphertext is changed and the manifest's checksums made to match, then the restore is refused and nothing is written", async () => {
    const { id } = JSON.parse((await ops(["--json", "backup", "secrets"], env)).out) as { id: string };
    await secretsManager.send(new PutSecretValueCommand({ SecretId: `${stack}jwt-secret`, SecretString: "after" }));
    const file = path.join(backupDir(id), "secrets.enc");
    const bytes = readFileSync(file);
    bytes[7] = (bytes[7] ?? 0) ^ 0x01;
    writeFileSync(file, bytes);

    const checksummed = await ops(["restore", id], env);
    expect(checksummed.code).toBe(2);
    expect(checksummed.err).toContain("artefact secrets.enc has SHA-256");

    const manifestFile = path.join(backupDir(id), "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as {
      artefacts: { name: string; sha256: string }[];
    };
    for (const artefact of manifest.artefacts)
      if (artefact.name === "secrets.enc") artefact.sha256 = createHash("sha256").update(bytes).digest("hex");
    writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    const forged = await ops(["restore", id], env);
    expect(forged.code).toBe(2);
    expect(forged.err).toContain("the ciphertext does not authenticate (AES-256-GCM)");
    expect((await current("jwt-secret")).SecretString).toBe("after");
  });

  it("when it names a secret the stack no longer has, or --secret names one it never had, then the restore is refused naming it and nothing is written", async () => {
    const { id } = JSON.parse((await ops(["--json", "backup", "secrets"], env)).out) as { id: string };
    await secretsManager.send(new PutSecretValueCommand({ SecretId: `${stack}jwt-secret`, SecretString: "after" }));
    await secretsManager.send(
      new DeleteSecretCommand({ SecretId: `${stack}database-url`, ForceDeleteWithoutRecovery: true }),
    );
    const gone = await ops(["restore", id], env);
    expect(gone.code).toBe(2);
    expect(gone.err).toContain(`refusing unknown secret name(s) ${stack}database-url`);
    expect((await current("jwt-secret")).SecretString).toBe("after");

    const stranger = await ops(["restore", id, "--secret", `${stack}jwt-secret`, `paimon/test${run}-other/x`], env);
    expect(stranger.code).toBe(2);
    expect(stranger.err).toContain(`refusing unknown secret name(s) paimon/test${run}-other/x`);
    expect((await current("jwt-secret")).SecretString).toBe("after");

    const chosen = await ops(["restore", id, "--secret", `${stack}jwt-secret`], env);
    expect(chosen.code).toBe(0);
    expect((await current("jwt-secret")).SecretString).toBe(VALUES["jwt-secret"]);
  });

  it("when SECRETS_PREFIX or the key is missing, then it exits 64 naming the variable", async () => {
    expect((await ops(["backup", "secrets"], without(env, "SECRETS_PREFIX"))).err).toBe(
      "ops: invalid configuration: SECRETS_PREFIX: missing\n",
    );
    expect((await ops(["backup", "secrets"], without(env, "BACKUP_KMS_KEY_ID"))).err).toBe(
      "ops: invalid configuration: BACKUP_KMS_KEY_ID: missing (the export is sealed with it)\n",
    );
    expect((await ops(["backup", "secrets"], { ...env, SECRETS_PREFIX: "paimon/test" })).code).toBe(64);
  });
});
