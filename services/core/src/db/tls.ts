/**
 * TLS to PostgreSQL as libpq means it. node-postgres trusts only Node's public roots unless it
 * is handed a CA, and RDS's certificates chain to AWS's own RDS roots, not to a public one: a
 * URL with `sslmode=verify-full` and no CA would be refused by every RDS instance.
 */
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { AppError } from "../errors";

/**
 * Where the services' image puts AWS's global RDS CA bundle (the Dockerfile's runtime stage),
 * and so the CA a verifying URL is checked against when it names no `sslrootcert`.
 */
export const RDS_CA_BUNDLE_PATH = "/etc/ssl/certs/rds-global-bundle.pem";

/** The modes that check the server's certificate: `verify-full` its name as well. */
export type VerifyingSslMode = "verify-ca" | "verify-full";

export interface ServerVerification {
  readonly sslmode: VerifyingSslMode;
  /** The PEM file of the CAs the server's certificate must chain to. */
  readonly rootCertPath: string;
}

/** Every URL parameter through which node-postgres would build its own `ssl` over ours. */
const SSL_PARAMETERS = ["ssl", "sslmode", "sslrootcert", "sslcert", "sslkey", "uselibpqcompat"];

function parseUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

function isVerifying(sslmode: string | null): sslmode is VerifyingSslMode {
  return sslmode === "verify-ca" || sslmode === "verify-full";
}

/**
 * Whether a PostgreSQL URL asks to verify the server, and against which CA file: the URL's
 * `sslrootcert`, else the client's own default (libpq's is `PGSSLROOTCERT`, then
 * `~/.postgresql/root.crt`; the services' is the image's bundle). Undefined when it does not verify.
 */
export function serverVerification(
  url: string,
  defaultRootCertPath: string = RDS_CA_BUNDLE_PATH,
): ServerVerification | undefined {
  const parameters = parseUrl(url)?.searchParams;
  const sslmode = parameters?.get("sslmode") ?? null;
  if (!isVerifying(sslmode)) return undefined;
  return { sslmode, rootCertPath: parameters?.get("sslrootcert") ?? defaultRootCertPath };
}

export interface ConnectionTlsOptions {
  /**
   * The CA file for a verifying URL that names no `sslrootcert`.
   * @default RDS_CA_BUNDLE_PATH
   */
  readonly sslRootCert?: string | undefined;
}

/** What node-postgres' `Pool` and `Client` take: spread it into their configuration. */
export interface PgConnection {
  readonly connectionString: string;
  readonly ssl?: ConnectionOptions;
}

function readPem(path: string, what: string, sslmode: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new AppError("database_tls_file", `sslmode=${sslmode} needs ${what} at ${path}, which cannot be read`, {
      cause: error,
      details: { path },
    });
  }
}

/**
 * node-postgres settings for a database URL. With `sslmode=verify-full` or `verify-ca`, the CA is
 * read from its file (see `serverVerification`) and given to node-postgres explicitly; with
 * `verify-full` the certificate must also name the host connected to (Node's check, which
 * node-postgres feeds the host), with `verify-ca` only chain to the CA, as in libpq. Other modes
 * are left to node-postgres as they are. A CA file that cannot be read throws here,
 * when the pool is made, not at the first query.
 */
export function pgConnection(url: string, options: ConnectionTlsOptions = {}): PgConnection {
  const verification = serverVerification(url, options.sslRootCert);
  const parsed = parseUrl(url);
  if (verification === undefined || parsed === undefined) return { connectionString: url };
  const { sslmode } = verification;
  const ca = readPem(verification.rootCertPath, "the CA bundle", sslmode);
  const certPath = parsed.searchParams.get("sslcert");
  const keyPath = parsed.searchParams.get("sslkey");
  for (const parameter of SSL_PARAMETERS) parsed.searchParams.delete(parameter);
  return {
    connectionString: parsed.toString(),
    ssl: {
      ca,
      rejectUnauthorized: true,
      ...(sslmode === "verify-ca" ? { checkServerIdentity: () => undefined } : {}),
      ...(certPath === null ? {} : { cert: readPem(certPath, "the client certificate", sslmode) }),
      ...(keyPath === null ? {} : { key: readPem(keyPath, "the client key", sslmode) }),
    },
  };
}
