/**
 * A throwaway PostgreSQL cluster that speaks TLS only, under a CA made for it: this machine's
 * PostgreSQL binaries, `initdb` in a temporary directory, a free port on 127.0.0.1 and
 * 127.0.0.2, `ssl=on` with a server certificate for 127.0.0.1 and localhost, and `hostssl` as
 * the only TCP entry of pg_hba.conf. `stop()` removes the cluster and every file; so does a
 * start that fails half-way.
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./ports";

export interface TlsPostgres {
  readonly port: number;
  /** The CA that signed the server's certificate. */
  readonly caFile: string;
  /** A CA of the same shape that signed nothing the server holds. */
  readonly otherCaFile: string;
  /** `postgresql://postgres@<host>:<port>/postgres` with the given parameters. */
  url(host: string, parameters?: Readonly<Record<string, string>>): string;
  /** Where this machine's PostgreSQL client programs (pg_dump, psql) are. */
  readonly binDirectory: string;
  stop(): void;
}

/** Where Debian puts each major version: the newest one present. */
function postgresBinDirectory(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((version) => existsSync(path.join(root, version, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) throw new Error(`no initdb under ${root}/<version>/bin: apt-get install postgresql`);
  return path.join(root, newest, "bin");
}

const openssl = (directory: string, ...args: string[]) =>
  execFileSync("openssl", args, { cwd: directory, stdio: "pipe" });

/** A self-signed P-256 CA, `<name>.key` and `<name>.crt`, valid for a day. */
function makeCa(directory: string, name: string): void {
  openssl(
    directory,
    ...["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "1", "-subj", `/CN=paimon test ${name}`],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  );
}

/** `server.key` and `server.crt`, signed by `ca`, naming 127.0.0.1 and localhost only. */
function makeServerCertificate(directory: string, ca: string): void {
  writeFileSync(
    path.join(directory, "server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
  );
  openssl(
    directory,
    ...["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
  );
  openssl(
    directory,
    ...["x509", "-req", "-in", "server.csr", "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial"],
    ...["-out", "server.crt", "-days", "1", "-extfile", "server.ext"],
  );
}

/** initdb refuses to run as root: as root, the cluster is the `postgres` user's. */
function clusterOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

/** Starts the cluster; resolves once `pg_isready` says it accepts connections. */
export async function startTlsPostgres(): Promise<TlsPostgres> {
  const binDirectory = postgresBinDirectory();
  const directory = mkdtempSync(path.join(tmpdir(), "paimon-tls-postgres-"));
  const data = path.join(directory, "data");
  const owner = clusterOwner();
  const run = (program: string, args: string[]) =>
    execFileSync(path.join(binDirectory, program), args, { cwd: directory, stdio: "pipe", ...owner });
  const log = path.join(directory, "server.log");
  const stop = () => {
    try {
      // A postmaster that started, even one that pg_ctl gave up waiting for, has written its pid.
      if (existsSync(path.join(data, "postmaster.pid"))) {
        run("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w", "-t", "60"]);
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  };
  try {
    const port = await freePort();
    makeCa(directory, "ca");
    makeCa(directory, "other-ca");
    makeServerCertificate(directory, "ca");
    if (owner) {
      for (const file of ["", ...readdirSync(directory)]) chownSync(path.join(directory, file), owner.uid, owner.gid);
    }
    run("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
    writeFileSync(
      path.join(data, "pg_hba.conf"),
      ["local all all trust", "hostssl all all 127.0.0.0/8 trust", ""].join("\n"),
    );
    const settings = {
      port: String(port),
      listen_addresses: "'127.0.0.1,127.0.0.2'",
      unix_socket_directories: `'${directory}'`,
      ssl: "on",
      ssl_cert_file: `'${path.join(directory, "server.crt")}'`,
      ssl_key_file: `'${path.join(directory, "server.key")}'`,
      fsync: "off",
    };
    writeFileSync(
      path.join(data, "postgresql.auto.conf"),
      Object.entries(settings)
        .map(([key, value]) => `${key} = ${value}\n`)
        .join(""),
    );
    if (owner) {
      chownSync(path.join(data, "pg_hba.conf"), owner.uid, owner.gid);
      chownSync(path.join(data, "postgresql.auto.conf"), owner.uid, owner.gid);
    }
    try {
      run("pg_ctl", ["start", "-D", data, "-l", log, "-w", "-t", "60"]);
    } catch (error) {
      const serverLog = existsSync(log) ? readFileSync(log, "utf8") : "(no server log)";
      throw new Error(`the TLS test cluster did not start:\n${serverLog}`, { cause: error });
    }
    // pg_ctl -w already waited for it; pg_isready says so in the words of the client tools.
    run("pg_isready", ["-h", "127.0.0.1", "-p", String(port), "-t", "30"]);
    return {
      port,
      caFile: path.join(directory, "ca.crt"),
      otherCaFile: path.join(directory, "other-ca.crt"),
      binDirectory,
      url(host, parameters = {}) {
        const query = new URLSearchParams(parameters).toString();
        return `postgresql://postgres@${host}:${String(port)}/postgres${query === "" ? "" : `?${query}`}`;
      },
      stop,
    };
  } catch (error) {
    stop();
    throw error;
  }
}
