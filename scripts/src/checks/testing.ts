/**
 * What the checks' tests run for real: `pnpm dev` (the fund's services on a devnet, as a
 * developer starts them), a Prometheus of Debian's package scraping them with the repository's
 * alert rules, a TLS endpoint whose certificate openssl made, and an npm registry stand-in
 * answering the two requests `pnpm outdated` and `pnpm audit` make. Each is ready when it says
 * so, never after a sleep, and stops with the test.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { ADMIN_DATABASE_URL } from "@paimon/core/testing";
import { freePort } from "@paimon/core/testing/ports";
import { deleteKeys } from "@paimon/core/redis";
import { WORKERS, type Worker } from "@paimon/core/workloads";
import { Redis } from "ioredis";
import pg from "pg";

export const ROOT = path.resolve(__dirname, "..", "..", "..");

/** Resolves once `ready()` holds, asking again every `pollMs` (as vi.waitFor does); rejects after `timeoutMs`. */
async function until(what: string, ready: () => Promise<boolean>, timeoutMs: number, pollMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Stops the child (if it still runs) and returns its exit code (null when a signal ended it). */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill(signal);
  const [code] = await exited;
  return code;
}

export interface DevEnvironment {
  readonly apiUrl: string;
  readonly listenerUrl: string;
  /** Each worker's health server (`/metrics`), on the port its "listening" log line names. */
  readonly workerUrls: Readonly<Record<Worker, string>>;
  /** The devnet's JSON-RPC endpoint. */
  readonly chainUrl: string;
  /** The demo fund's contract on the devnet, as the ready message names it. */
  readonly fundAddress: string;
  readonly databaseUrl: string;
  /** The database's name (what `pnpm dev --database` was given). */
  readonly database: string;
  /** Everything `pnpm dev` printed so far (each service's lines prefixed with its name); still read after `stop()`. */
  readonly output: () => string;
  /** Whether `pnpm dev` still runs. */
  running(): boolean;
  /** Ctrl-C, then the database and the queues dropped; resolves with `pnpm dev`'s exit code. */
  stop(): Promise<number | null>;
}

/**
 * `pnpm dev` on ports, a database and a queue prefix of its own, resolved once it says it is ready
 * and every worker has said on which port it listens: the one way the tests start it
 * (services/runtime/src/dev.test.ts imports it as `@paimon/scripts/checks/testing`).
 */
export async function startDev(name: string, timeoutMs: number): Promise<DevEnvironment> {
  const database = `paimon_${name}_${String(process.pid)}`;
  const queuePrefix = `paimon-${name.replace(/_/g, "-")}-${String(process.pid)}`;
  const [api, listener, chain] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(ROOT, "services/runtime/src/dev.ts"),
      `--database=${database}`,
      `--queue-prefix=${queuePrefix}`,
      `--api-port=${String(api)}`,
      `--listener-port=${String(listener)}`,
      "--worker-ports=0",
      `--chain-port=${String(chain)}`,
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const cleanUp = async () => {
    const code = await stopChild(child, "SIGINT");
    const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    await admin.query(`drop database if exists ${database} with (force)`);
    await admin.end();
    const redis = new Redis("redis://127.0.0.1:6379");
    await deleteKeys(redis, `${queuePrefix}:*`);
    redis.disconnect();
    return code;
  };
  const port = (worker: Worker) =>
    new RegExp(`${worker}-worker \\| \\{.*"message":"listening","port":(\\d+)`).exec(output)?.[1];
  const fundAddress = () => /\bfund (0x[0-9a-fA-F]{40})\b/.exec(output)?.[1];
  try {
    await until(
      "pnpm dev was not ready",
      () => {
        if (child.exitCode !== null) return Promise.reject(new Error(`pnpm dev exited:\n${output}`));
        return Promise.resolve(
          output.includes("dev: ready") && fundAddress() !== undefined && WORKERS.every((w) => port(w)),
        );
      },
      timeoutMs,
      100,
    );
  } catch (error) {
    await cleanUp();
    throw new Error(`${(error as Error).message}\n${output}`, { cause: error });
  }
  const url = (n: number | string) => `http://127.0.0.1:${String(n)}`;
  return {
    apiUrl: url(api),
    listenerUrl: url(listener),
    workerUrls: Object.fromEntries(WORKERS.map((worker) => [worker, url(port(worker) ?? "")])) as Record<
      Worker,
      string
    >,
    chainUrl: url(chain),
    fundAddress: fundAddress() ?? "",
    databaseUrl: ADMIN_DATABASE_URL.replace(/\/test$/, `/${database}`),
    database,
    output: () => output,
    running: () => child.exitCode === null && child.signalCode === null,
    stop: cleanUp,
  };
}

export interface LocalPrometheus {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Prometheus scraping `targets` (job → `host:port` serving /metrics) every 5 s, evaluating
 * `ruleFiles` every second; resolved once every target is up and the rules are loaded, as its
 * own API says.
 */
export async function startPrometheus(
  targets: Readonly<Record<string, string>>,
  ruleFiles: readonly string[],
  timeoutMs: number,
): Promise<LocalPrometheus> {
  const directory = mkdtempSync(path.join(tmpdir(), "paimon-prometheus-"));
  const config = path.join(directory, "prometheus.yml");
  // JSON is YAML: the configuration as Prometheus reads it.
  writeFileSync(
    config,
    JSON.stringify({
      // A scrape may take seconds on a loaded machine, and one that times out is a moment the
      // target counts as down (the SLA item reads `up` over the period); the tests wait for what
      // the scrapes bring, not for a number of them, so the interval costs them no time limit.
      global: { scrape_interval: "5s", scrape_timeout: "5s", evaluation_interval: "1s" },
      rule_files: ruleFiles,
      scrape_configs: Object.entries(targets).map(([job, target]) => ({
        job_name: job,
        static_configs: [{ targets: [target] }],
      })),
    }),
  );
  const port = await freePort();
  const child = spawn(
    "prometheus",
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(directory, "data")}`,
      `--web.listen-address=127.0.0.1:${String(port)}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${String(port)}`;
  const stop = async () => {
    await stopChild(child);
    rmSync(directory, { recursive: true, force: true });
  };
  const api = async <T>(query: string): Promise<T> => {
    const response = await fetch(`${url}${query}`);
    return ((await response.json()) as { data: T }).data;
  };
  try {
    await until(
      "Prometheus did not scrape every target",
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited:\n${output}`);
        const { activeTargets } = await api<{ activeTargets: { health: string }[] }>("/api/v1/targets?state=active");
        const { groups } = await api<{ groups: unknown[] }>("/api/v1/rules");
        return (
          activeTargets.length === Object.keys(targets).length &&
          activeTargets.every((target) => target.health === "up") &&
          groups.length === ruleFiles.length
        );
      },
      timeoutMs,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output}`, { cause: error });
  }
  return { url, stop };
}

/** Waits until Prometheus answers `expr` with at least one sample that `accept`s. */
export function untilQuery(
  prometheusUrl: string,
  expr: string,
  timeoutMs: number,
  accept: (value: number) => boolean = () => true,
): Promise<void> {
  return until(
    `Prometheus never answered ${expr} as expected`,
    async () => {
      const response = await fetch(`${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expr }).toString()}`);
      const body = (await response.json()) as { data: { result: { value: [number, string] }[] } };
      return body.data.result.some((sample) => accept(Number(sample.value[1])));
    },
    timeoutMs,
  );
}

async function listen(server: Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });

/** An HTTPS endpoint whose self-signed certificate (its own CA) expires in `days`. */
export async function startTlsEndpoint(
  days: number,
): Promise<{ endpoint: string; caFile: string; stop(): Promise<void> }> {
  const directory = mkdtempSync(path.join(tmpdir(), "paimon-tls-"));
  const [key, cert] = [path.join(directory, "key.pem"), path.join(directory, "cert.pem")];
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      String(days),
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  const server = createTlsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_request, response) => {
    response.end("ok");
  });
  const port = await listen(server);
  return {
    endpoint: `127.0.0.1:${String(port)}`,
    caFile: cert,
    async stop() {
      server.closeAllConnections();
      await close(server);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** What the stand-in registry knows of one package: its versions, the latest, and its advisories. */
export interface RegistryPackage {
  readonly name: string;
  readonly versions: readonly string[];
  readonly latest: string;
  readonly deprecated?: string;
  readonly advisories: readonly {
    readonly id: number;
    readonly title: string;
    readonly severity: string;
    readonly vulnerable: string;
  }[];
}

/**
 * A pnpm workspace depending on `installed` of `pkg`, its `.npmrc` pointing at an npm registry
 * stand-in that serves the package's metadata document and the bulk advisory endpoint, in the
 * shapes registry.npmjs.org answers; `registry: false` points it at a port nothing listens on.
 */
export async function fixtureWorkspace(
  pkg: RegistryPackage,
  installed: string,
  registry = true,
): Promise<{ directory: string; requests: string[]; stop(): Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      requests.push(`${request.method ?? ""} ${request.url ?? ""}`);
      const json = (body: unknown) => {
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      };
      if (request.url === `/${pkg.name}`) {
        const base = `http://${request.headers.host ?? ""}/${pkg.name}/-/${pkg.name}`;
        json({
          name: pkg.name,
          "dist-tags": { latest: pkg.latest },
          versions: Object.fromEntries(
            pkg.versions.map((version, index) => [
              version,
              {
                name: pkg.name,
                version,
                ...(pkg.deprecated && version === pkg.latest ? { deprecated: pkg.deprecated } : {}),
                dist: {
                  tarball: `${base}-${version}.tgz`,
                  shasum: String(index).repeat(40).slice(0, 40),
                  integrity: `sha512-${Buffer.alloc(64, index + 1).toString("base64")}`,
                },
              },
            ]),
          ),
        });
      } else if (request.url?.startsWith("/-/npm/v1/security/advisories/bulk")) {
        json({
          [pkg.name]: pkg.advisories.map((advisory) => ({
            id: advisory.id,
            url: `https://github.com/advisories/${String(advisory.id)}`,
            title: advisory.title,
            severity: advisory.severity,
            vulnerable_versions: advisory.vulnerable,
            cwe: [],
            cvss: { score: 0, vectorString: null },
          })),
        });
      } else response.writeHead(404).end("{}");
    });
  });
  const port = registry ? await listen(server) : await freePort();
  const directory = mkdtempSync(path.join(tmpdir(), "paimon-workspace-"));
  writeFileSync(
    path.join(directory, "package.json"),
    JSON.stringify({ name: "fixture", version: "1.0.0", private: true, dependencies: { [pkg.name]: installed } }),
  );
  writeFileSync(
    path.join(directory, "pnpm-lock.yaml"),
    [
      "lockfileVersion: '9.0'",
      "",
      "settings:",
      "  autoInstallPeers: true",
      "  excludeLinksFromLockfile: false",
      "",
      "importers:",
      "",
      "  .:",
      "    dependencies:",
      `      ${pkg.name}:`,
      `        specifier: ${installed}`,
      `        version: ${installed}`,
      "",
      "packages:",
      "",
      `  ${pkg.name}@${installed}:`,
      `    resolution: {integrity: sha512-${Buffer.alloc(64, 9).toString("base64")}}`,
      "",
      "snapshots:",
      "",
      `  ${pkg.name}@${installed}: {}`,
      "",
    ].join("\n"),
  );
  writeFileSync(path.join(directory, ".npmrc"), `registry=http://127.0.0.1:${String(port)}/\n`);
  // Its own metadata cache: what this stand-in answered must not be read back from another test's.
  // and a refused connection is an answer at once, not after pnpm's retries with backoff.
  writeFileSync(
    path.join(directory, "pnpm-workspace.yaml"),
    `cacheDir: ${path.join(directory, "cache")}\nfetchRetries: 0\n`,
  );
  return {
    directory,
    requests,
    async stop() {
      if (registry) await close(server);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
