import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../errors";
import { startTlsPostgres, type TlsPostgres } from "../testing/tls-postgres";
import { createDatabase, type DatabaseOptions } from ".";
import { rdsCaBundle } from "./rds-ca-bundle";
import { pgConnection, RDS_CA_BUNDLE_PATH, serverVerification } from "./tls";

const RDS_URL =
  "postgresql://paimon:p%40ss@paimon-production-postgres.abc.ap-southeast-1.rds.amazonaws.com:5432/paimon";

describe("which CA a database URL is verified against", () => {
  it("when the URL asks for verify-full and names no CA, then it is the image's RDS bundle", () => {
    expect(serverVerification(`${RDS_URL}?sslmode=verify-full`)).toEqual({
      sslmode: "verify-full",
      rootCertPath: RDS_CA_BUNDLE_PATH,
    });
    expect(serverVerification(`${RDS_URL}?sslmode=verify-ca`, "/ca.pem")).toEqual({
      sslmode: "verify-ca",
      rootCertPath: "/ca.pem",
    });
  });

  it("when the URL names its sslrootcert, then that file wins over any default", () => {
    expect(serverVerification(`${RDS_URL}?sslmode=verify-full&sslrootcert=/own.pem`, "/ca.pem")?.rootCertPath).toBe(
      "/own.pem",
    );
  });

  it.each(["", "?sslmode=disable", "?sslmode=require", "?sslmode=prefer", "?sslrootcert=/own.pem"])(
    "when the URL is %j, then nothing is verified and node-postgres gets it as it is",
    (query) => {
      expect(serverVerification(`${RDS_URL}${query}`)).toBeUndefined();
      expect(pgConnection(`${RDS_URL}${query}`)).toEqual({ connectionString: `${RDS_URL}${query}` });
    },
  );

  it("when the URL verifies, then node-postgres gets no TLS parameter to rebuild its own `ssl` from", () => {
    const scratch = mkdtempSync(path.join(tmpdir(), "paimon-tls-unit-"));
    try {
      const ca = path.join(scratch, "ca.pem");
      spawnSync("sh", ["-c", `printf 'a CA' > ${ca}`]);
      const connection = pgConnection(`${RDS_URL}?sslmode=verify-full&sslrootcert=${ca}&application_name=api`);
      expect(connection.connectionString).toBe(`${RDS_URL}?application_name=api`);
      expect(connection.ssl).toMatchObject({ ca: "a CA", rejectUnauthorized: true });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("when the CA file is missing, then making the pool fails at once, naming the file", () => {
    expect(() => createDatabase(`${RDS_URL}?sslmode=verify-full`, { sslRootCert: "/nowhere/ca.pem" })).toThrow(
      expect.objectContaining({
        code: "database_tls_file",
        message: expect.stringContaining("/nowhere/ca.pem") as string,
      }),
    );
  });
});

describe("the RDS CA bundle the image ships", () => {
  const certificates = rdsCaBundle()
    .split(/(?<=-----END CERTIFICATE-----\n)/)
    .map((pem) => new X509Certificate(pem));
  const commonName = (certificate: X509Certificate) => /CN=([^\n]+)/.exec(certificate.subject)?.[1];

  it("is AWS's global bundle: 115 self-signed-root or intermediate RDS CAs", () => {
    expect(certificates).toHaveLength(115);
    for (const certificate of certificates) {
      expect(certificate.ca).toBe(true);
      expect(commonName(certificate)).toMatch(/^Amazon RDS /);
    }
  });

  // The stacks' region (ap-southeast-1) and the DR region (ap-northeast-1), in the
  // rds-ca-rsa2048-g1 generation the instances are created with.
  it.each(["ap-southeast-1", "ap-northeast-1"])("holds %s's rds-ca-rsa2048-g1 root, valid for decades", (region) => {
    const root = certificates.find(
      (certificate) => commonName(certificate) === `Amazon RDS ${region} Root CA RSA2048 G1`,
    );
    expect(root?.issuer).toBe(root?.subject);
    expect(root?.verify(root.publicKey)).toBe(true);
    expect(new Date(root?.validTo ?? 0).getFullYear()).toBeGreaterThanOrEqual(2061);
  });
});

describe("TLS for real: a PostgreSQL that speaks TLS only, under a test CA", () => {
  let server: TlsPostgres;

  beforeAll(async () => {
    server = await startTlsPostgres();
  }, 120_000);

  afterAll(() => {
    server.stop();
  });

  /** Connects with the services' own code and reports whether the session is encrypted. */
  async function sessionTls(url: string, options: DatabaseOptions = {}): Promise<boolean> {
    const db = createDatabase(url, { maxConnections: 1, ...options });
    try {
      const result = await sql<{
        ssl: boolean;
      }>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(db);
      return result.rows[0]?.ssl ?? false;
    } finally {
      await db.destroy();
    }
  }

  it("when the URL names the CA in sslrootcert, then verify-full connects, encrypted", async () => {
    const url = server.url("127.0.0.1", { sslmode: "verify-full", sslrootcert: server.caFile });
    expect(await sessionTls(url)).toBe(true);
  });

  it("when the CA comes from the default path (the image's bundle in production), then verify-full connects", async () => {
    expect(await sessionTls(server.url("127.0.0.1", { sslmode: "verify-full" }), { sslRootCert: server.caFile })).toBe(
      true,
    );
    expect(await sessionTls(server.url("localhost", { sslmode: "verify-full" }), { sslRootCert: server.caFile })).toBe(
      true,
    );
  });

  it("when the CA is not the server's, then verify-full refuses the server's certificate", async () => {
    const url = server.url("127.0.0.1", { sslmode: "verify-full", sslrootcert: server.otherCaFile });
    await expect(sessionTls(url)).rejects.toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
  });

  it("when no CA is given at all, then making the pool fails before anything connects", () => {
    expect(() => createDatabase(server.url("127.0.0.1", { sslmode: "verify-full" }))).toThrow(AppError);
  });

  it("when node-postgres is left to its own public roots (the defect), then the server is refused", async () => {
    const client = new pg.Client({ connectionString: server.url("127.0.0.1", { sslmode: "verify-full" }) });
    await expect(client.connect()).rejects.toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    await client.end().catch(() => undefined);
  });

  it("when the certificate does not name the host connected to, then verify-full refuses and verify-ca admits", async () => {
    // 127.0.0.2 reaches the same server; its certificate names 127.0.0.1 and localhost only.
    const wrongHost = (sslmode: string) => server.url("127.0.0.2", { sslmode, sslrootcert: server.caFile });
    await expect(sessionTls(wrongHost("verify-full"))).rejects.toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    expect(await sessionTls(wrongHost("verify-ca"))).toBe(true);
  });

  it("when a client does not ask for TLS, then the server refuses it: the cluster is TLS-only", async () => {
    await expect(sessionTls(server.url("127.0.0.1", { sslmode: "disable" }))).rejects.toThrow(/no encryption/);
  });

  it("when pg_dump (libpq) verifies the same URL, then PGSSLROOTCERT is what it needs, as the backup job sets it", () => {
    const home = mkdtempSync(path.join(tmpdir(), "paimon-tls-home-"));
    try {
      const dump = (env: Record<string, string>) =>
        spawnSync(
          path.join(server.binDirectory, "pg_dump"),
          ["--schema-only", server.url("127.0.0.1", { sslmode: "verify-full" })],
          { env: { HOME: home, ...env }, encoding: "utf8" },
        );
      const trusted = dump({ PGSSLROOTCERT: server.caFile });
      expect(trusted.stderr).toBe("");
      expect(trusted.status).toBe(0);
      const untrusted = dump({});
      expect(untrusted.status).not.toBe(0);
      expect(untrusted.stderr).toContain("root certificate file");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
