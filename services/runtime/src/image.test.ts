/**
 * The container image, checked without a container engine: the Dockerfile is linted
 * (dockerlinter + shellcheck) and parsed; its build stage's own RUN commands are executed in a
 * copy of exactly the build context `.dockerignore` lets through; and what the final stage
 * copies — `dist/` alone, in a directory with no node_modules — must migrate a database, serve
 * the API and shut down cleanly. Its RDS CA bundle is where the services look for it, and every
 * container of the charts that verifies a database's certificate has that CA.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import ignore from "@balena/dockerignore";
import { RDS_CA_BUNDLE_PATH } from "@paimon/core/db";
import { rdsCaBundle } from "@paimon/core/db/rds-ca-bundle";
import { deleteKeys } from "@paimon/core/redis";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { verifyingConnections, type DatabaseCaContext } from "@paimon/core/testing/database-ca";
import { spawnService } from "@paimon/core/testing/service-process";
import { WORKERS } from "@paimon/core/workloads";
import { devnetAccounts } from "@paimon/contracts/devnet";
import { Copy, DockerfileParser, From, type Dockerfile, type Instruction } from "dockerfile-ast";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { StackConfig } from "../../../infra/config";
import { synthesizeStack } from "../../../infra/k8s/main";
import type { SyncedSecretKey } from "../../../infra/k8s/secrets-chart";
import { rdsCaCopy } from "../../../infra/k8s/pod";
import { metricsDatabaseUrl } from "../../../infra/k8s/timescaledb-chart";
import { PORTS, workloadValues } from "../../../infra/k8s/values";
import { readStackConfigs } from "../../../infra/planner/stack-configs";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const LINTER = path.join(ROOT, "node_modules", "dockerlinter", "bin", "dockerfilelinter.js");
const dockerfileText = readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
const dockerfile: Dockerfile = DockerfileParser.parse(dockerfileText);

function lint(file: string) {
  return spawnSync(process.execPath, [LINTER, "-f", file, "-e", "info"], { encoding: "utf8" });
}

/** Each stage's instructions, by stage name. */
function stages(): Map<string, { from: From; instructions: Instruction[] }> {
  const result = new Map<string, { from: From; instructions: Instruction[] }>();
  let current: { from: From; instructions: Instruction[] } | undefined;
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction instanceof From) {
      current = { from: instruction, instructions: [] };
      result.set(instruction.getBuildStage() ?? `#${String(result.size)}`, current);
    } else {
      current?.instructions.push(instruction);
    }
  }
  return result;
}

const args = (instruction: Instruction) => instruction.getArguments().map((argument) => argument.getValue());
const keyword = (name: string) => (instruction: Instruction) => instruction.getKeyword() === name;

/** Where, under the build stage's /workspace, the file the runtime stage copies to `target` comes from. */
function runtimeCopySource(file: Dockerfile, target: string): string | undefined {
  const runtime = file
    .getInstructions()
    .filter((instruction) => instruction instanceof From)
    .at(-1);
  const copies = file
    .getInstructions()
    .filter(
      (instruction) =>
        instruction instanceof Copy && instruction.getRange().start.line > (runtime?.getRange().start.line ?? 0),
    );
  const copy = copies.map(args).find((operands) => operands.length === 2 && operands[1] === target);
  return copy?.[0]?.replace(/^\/workspace\//, "");
}

describe("the Dockerfile", () => {
  it("passes dockerlinter and shellcheck at every level, and the linter does catch a bad Dockerfile", () => {
    const result = lint(path.join(ROOT, "Dockerfile"));
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);

    const scratch = mkdtempSync(path.join(tmpdir(), "paimon-dockerfile-"));
    try {
      const bad = path.join(scratch, "Dockerfile");
      cpSync(path.join(ROOT, "Dockerfile"), bad);
      execFileSync("sh", ["-c", `printf 'FROM node:latest\\nRUN cd /tmp && echo $HOME\\n' > ${bad}`]);
      const rejected = lint(bad);
      expect(rejected.status).toBe(1);
      expect(rejected.stdout).toContain("EF0003");
      expect(rejected.stdout).toContain("SC2086");
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("is multi-stage and ends in a runtime stage that runs as uid 1001 from the bundle alone", () => {
    const all = stages();
    expect([...all.keys()]).toEqual(["base", "deps", "build", "dev", "runtime"]);
    const runtime = all.get("runtime");
    if (!runtime) throw new Error("no runtime stage");
    // The last stage is what `docker build .` produces.
    expect([...all.keys()].at(-1)).toBe("runtime");
    const users = runtime.instructions.filter(keyword("USER"));
    expect(users.map(args).at(-1)).toEqual(["1001:1001"]);
    const copies = runtime.instructions.filter(keyword("COPY"));
    expect(copies.map(args)).toEqual([
      ["/workspace/services/runtime/dist/", "./dist/"],
      ["/workspace/services/core/rds-global-bundle.pem", RDS_CA_BUNDLE_PATH],
    ]);
    const flags = (copy: Instruction) => (copy instanceof Copy ? copy.getFlags() : []);
    for (const copy of copies) {
      expect(flags(copy).map((flag) => [flag.getName(), flag.getValue()])).toEqual([
        ["from", "build"],
        ["chown", "root:root"],
      ]);
    }
    // No package manager runs in the final stage: nothing is installed there.
    for (const run of runtime.instructions.filter(keyword("RUN"))) {
      expect(args(run).join(" ")).not.toMatch(/\b(npm|pnpm|yarn)\b/);
    }
    // Exec form: node itself is PID 1 and receives SIGTERM, with no shell in between.
    expect(runtime.instructions.filter(keyword("ENTRYPOINT")).map((entry) => entry.getRawArgumentsContent())).toEqual([
      '["node", "--enable-source-maps", "dist/main.js"]',
    ]);
    const exposed = runtime.instructions.filter(keyword("EXPOSE")).flatMap(args).map(Number);
    expect(exposed).toEqual([PORTS.api, PORTS.eventListener, PORTS.workers]);
  });

  it("pins its base image and the pnpm of package.json", () => {
    const image = dockerfile
      .getInitialARGs()
      .find((arg) => arg.getProperty()?.getName() === "NODE_IMAGE")
      ?.getProperty()
      ?.getValue();
    expect(image).toMatch(/^node:20\.\d+\.\d+-bookworm-slim$/);
    // Every stage starts from that image or from an earlier stage.
    const names: string[] = [];
    for (const [name, { from }] of stages()) {
      expect(["${NODE_IMAGE}", ...names]).toContain(from.getImage());
      names.push(name);
    }
    const packageManager = (
      JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { packageManager: string }
    ).packageManager;
    expect(dockerfileText).toContain(`pnpm@${packageManager.split("@")[1] ?? ""}`);
  });
});

/** The files `.dockerignore` lets into the build context, copied to `target`. */
function copyBuildContext(target: string): string[] {
  const filter = ignore().add(readFileSync(path.join(ROOT, ".dockerignore"), "utf8"));
  const tracked = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    encoding: "utf8",
  })
    .split("\n")
    .filter((file) => file !== "" && statSync(path.join(ROOT, file), { throwIfNoEntry: false })?.isFile());
  const included = filter.filter(tracked);
  for (const file of included) cpSync(path.join(ROOT, file), path.join(target, file));
  return included;
}

function walk(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(path.join(directory, entry.name)) : [path.join(directory, entry.name)],
  );
}

describe("the RDS CA bundle in the image", () => {
  it("is copied by the runtime stage to the path the services read, and the check sees a Dockerfile that does not", () => {
    expect(runtimeCopySource(dockerfile, RDS_CA_BUNDLE_PATH)).toBe("services/core/rds-global-bundle.pem");
    const without = dockerfileText
      .split("\n")
      .filter((line) => !line.includes(RDS_CA_BUNDLE_PATH))
      .join("\n");
    expect(runtimeCopySource(DockerfileParser.parse(without), RDS_CA_BUNDLE_PATH)).toBeUndefined();
    // Copied in an earlier stage only, it never reaches the final image.
    const earlier = without.replace(
      "FROM deps AS dev",
      `COPY services/core/rds-global-bundle.pem ${RDS_CA_BUNDLE_PATH}\nFROM deps AS dev`,
    );
    expect(runtimeCopySource(DockerfileParser.parse(earlier), RDS_CA_BUNDLE_PATH)).toBeUndefined();
  });
});

/**
 * What each synced secret holds, as infra/program.ts composes it: a PostgreSQL URL, or nothing of
 * the kind (null). Typed by the keys, so a new secret cannot go unclassified.
 */
const SECRET_URLS = {
  // Database.databaseUrl (infra/components/database): the RDS primary, certificate verified.
  "database-url":
    "postgresql://paimon:password@paimon-postgres.abc.ap-southeast-1.rds.amazonaws.com:5432/paimon?sslmode=verify-full",
  "metrics-database-url": metricsDatabaseUrl("paimon", "password"),
  "bsc-rpc-url": null,
  "bsc-ws-url": null,
  "jwt-secret": null,
  "kms-key-id": null,
  "origin-verify": null,
  "pagerduty-key": null,
  "redis-url": null,
  "timescaledb-password": null,
  "slack-webhook-url": null,
  "smtp-password": null,
} satisfies Record<SyncedSecretKey, string | null>;

interface PlannedRelease {
  readonly name: string;
  readonly chart: string;
  readonly values: Record<string, unknown>;
}

/** The Helm releases of a stack's committed plan (checked fresh by the planner's tests). */
function readPlannedReleases(stack: string): PlannedRelease[] {
  const plan = JSON.parse(readFileSync(path.join(ROOT, "infra", "plans", `${stack}.json`), "utf8")) as {
    resources: { type: string; inputs: { name: string; chart: string; values?: Record<string, unknown> } }[];
  };
  return plan.resources
    .filter((resource) => resource.type === "kubernetes:helm.sh/v3:Release")
    .map(({ inputs }) => ({ name: inputs.name, chart: inputs.chart, values: inputs.values ?? {} }));
}

/** The secret keys a release's values name (`{ name: "paimon-secrets", key }` anywhere in them). */
function secretKeysIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(secretKeysIn);
  if (typeof value !== "object" || value === null) return [];
  const record = value as Record<string, unknown>;
  const own = record["name"] === "paimon-secrets" && typeof record["key"] === "string" ? [record["key"]] : [];
  return [...own, ...Object.values(record).flatMap(secretKeysIn)];
}

/**
 * The exporter's pod as prometheus-postgres-exporter 6.4.0's templates/deployment.yaml renders it
 * from these values: `DATA_SOURCE_NAME` from `config.datasourceSecret`, then `extraEnvs`; the
 * `extraVolumeMounts`, `extraVolumes` and `initContainers` as given.
 */
function postgresExporterPod(release: PlannedRelease) {
  const values = release.values as {
    config?: { datasourceSecret?: { name: string; key: string } };
    extraEnvs?: unknown[];
    extraVolumeMounts?: unknown[];
    extraVolumes?: unknown[];
    initContainers?: unknown[];
  };
  const source = values.config?.datasourceSecret;
  return {
    kind: "Deployment",
    metadata: { name: release.name },
    spec: {
      template: {
        spec: {
          initContainers: values.initContainers ?? [],
          volumes: values.extraVolumes ?? [],
          containers: [
            {
              name: "prometheus-postgres-exporter",
              image: "quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
              env: [
                ...(source ? [{ name: "DATA_SOURCE_NAME", valueFrom: { secretKeyRef: source } }] : []),
                ...(values.extraEnvs ?? []),
              ],
              volumeMounts: values.extraVolumeMounts ?? [],
            },
          ],
        },
      },
    },
  };
}

/** How this check renders the pods of a chart whose release may read a database URL. */
const RELEASE_PODS: Readonly<Record<string, (release: PlannedRelease) => Record<string, unknown>>> = {
  "prometheus-postgres-exporter": postgresExporterPod,
};

/**
 * The pods of the releases whose values name a secret that holds a PostgreSQL URL. A release of a
 * chart this check cannot render throws: its connection would otherwise go unchecked.
 */
function releasePods(releases: readonly PlannedRelease[]): Record<string, unknown>[] {
  return releases
    .filter((release) => secretKeysIn(release.values).some((key) => SECRET_URLS[key as SyncedSecretKey]))
    .map((release) => {
      const render = RELEASE_PODS[release.chart];
      if (!render) throw new Error(`release ${release.name} (${release.chart}) reads a database URL: render its pod`);
      return render(release);
    });
}

describe("every database URL that verifies TLS has its CA in the container that uses it", () => {
  const configs: StackConfig[] = readStackConfigs();
  const context = (config: StackConfig): DatabaseCaContext => ({
    servicesImage: workloadValues(config).image,
    secretUrls: Object.fromEntries(
      Object.entries(SECRET_URLS).flatMap(([key, url]) => (url === null ? [] : [[key, url]])),
    ),
  });
  /** The cdk8s manifests, and the pods of the Helm releases that read a database URL. */
  const manifests = (config: StackConfig): Record<string, unknown>[] => [
    ...synthesizeStack(config).flatMap((chart) => chart.objects),
    ...releasePods(readPlannedReleases(config.stack)),
  ];
  const staging = () => {
    const config = configs.find((candidate) => candidate.stack === "staging");
    if (!config) throw new Error("no staging stack");
    return config;
  };
  /** The staging manifests, the postgres backup's CronJob changed by `change`. */
  function withBackup(change: (pod: BackupPod) => void) {
    const objects = structuredClone(manifests(staging()));
    const cronJob = objects.find(
      (object) =>
        object["kind"] === "CronJob" && (object["metadata"] as { name: string }).name === "paimon-backup-postgres",
    ) as { spec: { jobTemplate: { spec: { template: { spec: BackupPod } } } } } | undefined;
    if (!cronJob) throw new Error("no postgres backup CronJob");
    change(cronJob.spec.jobTemplate.spec.template.spec);
    return verifyingConnections(objects, context(staging()));
  }
  interface BackupPod {
    containers: { image: string; env: { name: string; value?: string }[]; volumeMounts?: unknown[] }[];
    initContainers?: { command: string[] }[];
    volumes?: unknown[];
  }
  const missing = (connections: ReturnType<typeof verifyingConnections>) =>
    connections.filter((connection) => connection.missing !== undefined);

  it.each(["staging", "production"])("in %s, every verifying connection finds its CA", (stack) => {
    const config = configs.find((candidate) => candidate.stack === stack);
    if (!config) throw new Error(`no stack ${stack}`);
    const connections = verifyingConnections(manifests(config), context(config));
    expect(missing(connections)).toEqual([]);
    // The check saw the connections that verify: the services' and pg_dump's.
    expect(connections).toEqual(
      expect.arrayContaining([
        { container: "Deployment/paimon-api api", variable: "DATABASE_URL", rootCertPath: RDS_CA_BUNDLE_PATH },
        // `ops backup postgres` in the services' image: its pg_dump is given the image's bundle.
        {
          container: "CronJob/paimon-backup-postgres backup",
          variable: "DATABASE_URL",
          rootCertPath: RDS_CA_BUNDLE_PATH,
        },
        {
          container: "Deployment/prometheus-postgres-exporter prometheus-postgres-exporter",
          variable: "DATA_SOURCE_NAME",
          rootCertPath: "/rds-ca/rds-global-bundle.pem",
        },
      ]),
    );
  });

  it("when the backup runs pg_dump from another image, then the check names the CA it lacks, until an init container of the services' image copies the bundle for it", () => {
    const elsewhere = (pod: BackupPod) => {
      for (const container of pod.containers) container.image = "postgres:16.4";
    };
    expect(missing(withBackup(elsewhere))).toEqual([
      expect.objectContaining({
        container: "CronJob/paimon-backup-postgres backup",
        rootCertPath: "/root/.postgresql/root.crt",
        missing: expect.stringContaining("neither in the services' image nor on a volume") as string,
      }),
    ]);
    const ca = rdsCaCopy(workloadValues(staging()).image);
    const copied = (command: string[]) => (pod: BackupPod) => {
      elsewhere(pod);
      pod.volumes = [...(pod.volumes ?? []), ca.volume];
      pod.initContainers = [{ ...ca.initContainer, command }];
      for (const container of pod.containers) {
        container.env.push({ name: "PGSSLROOTCERT", value: ca.path });
        container.volumeMounts = [...(container.volumeMounts ?? []), ca.mount];
      }
    };
    expect(missing(withBackup(copied(ca.initContainer.command)))).toEqual([]);
    const other = missing(withBackup(copied(["cp", "/etc/ssl/certs/ca-certificates.crt", ca.path])));
    expect(other).toEqual([
      expect.objectContaining({ missing: expect.stringContaining("no init container fills") as string }),
    ]);
  });

  it("when a container of another image reads the database URL with no CA of its own, then the check names it", () => {
    const planted = {
      kind: "Deployment",
      metadata: { name: "postgres-exporter" },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "exporter",
                image: "quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
                env: [
                  {
                    name: "DATA_SOURCE_NAME",
                    valueFrom: { secretKeyRef: { name: "paimon-secrets", key: "database-url" } },
                  },
                ],
              },
            ],
          },
        },
      },
    };
    expect(missing(verifyingConnections([...manifests(staging()), planted], context(staging())))).toEqual([
      expect.objectContaining({ container: "Deployment/postgres-exporter exporter", variable: "DATA_SOURCE_NAME" }),
    ]);
  });

  it("when the PostgreSQL exporter's release is not told where the CA is, or a new release reads the URL, then the check names it", () => {
    const releases = readPlannedReleases("staging");
    const exporter = releases.find((release) => release.chart === "prometheus-postgres-exporter");
    if (!exporter) throw new Error("no postgres exporter release");
    const untold = structuredClone(exporter);
    delete untold.values["extraEnvs"];
    expect(missing(verifyingConnections(releasePods([untold]), context(staging())))).toEqual([
      expect.objectContaining({
        container: "Deployment/prometheus-postgres-exporter prometheus-postgres-exporter",
        rootCertPath: "/root/.postgresql/root.crt",
      }),
    ]);
    const other = {
      name: "pgbouncer",
      chart: "pgbouncer",
      values: { db: { name: "paimon-secrets", key: "database-url" } },
    };
    expect(() => releasePods([other])).toThrow("release pgbouncer (pgbouncer) reads a database URL");
  });

  it("when a services container's URL names a CA file the image does not have, then the check names it", () => {
    const planted = {
      kind: "Job",
      metadata: { name: "migrate" },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "migrate",
                image: workloadValues(staging()).image,
                env: [
                  {
                    name: "DATABASE_URL",
                    value: "postgresql://db:5432/paimon?sslmode=verify-ca&sslrootcert=/certs/db.pem",
                  },
                ],
              },
            ],
          },
        },
      },
    };
    expect(missing(verifyingConnections([planted], context(staging())))).toEqual([
      expect.objectContaining({ container: "Job/migrate migrate", rootCertPath: "/certs/db.pem" }),
    ]);
  });
});

describe("the image, built from its context without an engine", () => {
  let scratch: string;
  let context: string;
  let image: string;
  let included: string[];
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), "paimon-image-"));
    context = path.join(scratch, "context");
    image = path.join(scratch, "app");
    included = copyBuildContext(context);
    // The build stage's own commands, with its pnpm store pointed at this machine's store.
    const store = execFileSync("pnpm", ["store", "path"], { cwd: ROOT, encoding: "utf8" }).trim();
    const build = stages().get("build");
    if (!build) throw new Error("no build stage");
    for (const run of build.instructions.filter(keyword("RUN"))) {
      const command = args(run).join(" ").replaceAll("/pnpm/store", store);
      // eslint-disable-next-line no-restricted-properties -- pnpm needs the caller's PATH and HOME
      execFileSync("sh", ["-c", command], { cwd: context, stdio: "pipe", env: { ...process.env, CI: "true" } });
    }
    // What the runtime stage copies, and nothing else.
    cpSync(path.join(context, "services", "runtime", "dist"), path.join(image, "dist"), { recursive: true });
    database = await createTestDatabase({ migrate: false });
  }, 180_000);

  afterAll(async () => {
    rmSync(scratch, { recursive: true, force: true });
    await database?.drop();
  });

  it("has a context of the workspace manifests and the services' sources, and no secrets, tests or builds", () => {
    expect(included).toEqual(expect.arrayContaining(["package.json", "pnpm-lock.yaml", "services/api/src/app.ts"]));
    expect(included.filter((file) => /(^|\/)(infra|monitoring|node_modules|dist)\//.test(file))).toEqual([]);
    expect(included.filter((file) => file.endsWith(".test.ts") || /(^|\/)\.env/.test(file))).toEqual([]);
  });

  it("has the build stage write AWS's RDS bundle where the runtime stage copies it from", () => {
    const source = runtimeCopySource(dockerfile, RDS_CA_BUNDLE_PATH);
    expect(source).toBeDefined();
    expect(readFileSync(path.join(context, source ?? ""), "utf8")).toBe(rdsCaBundle());
  });

  it("bundles only production code: no test runner, compiler, devnet or linter in the bill of materials", () => {
    const meta = JSON.parse(readFileSync(path.join(image, "dist", "meta.json"), "utf8")) as {
      inputs: Record<string, unknown>;
    };
    const packages = new Set(
      Object.keys(meta.inputs).flatMap((input) => {
        const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(input);
        return match?.[1] === undefined ? [] : [match[1]];
      }),
    );
    expect(packages).toContain("express");
    for (const dev of ["vitest", "typescript", "tsx", "hardhat", "solc", "esbuild", "supertest", "fast-check"]) {
      expect(packages).not.toContain(dev);
    }
    expect(walk(image).map((file) => path.relative(image, file))).toEqual(
      expect.arrayContaining(["dist/main.js", "dist/main.js.map", "dist/meta.json"]),
    );
    expect(walk(image).some((file) => file.includes("node_modules"))).toBe(false);
  });

  it("migrates a database, serves the API, and on SIGTERM exits 0", async () => {
    const env = {
      PATH: path.dirname(process.execPath),
      NODE_ENV: "production",
      ENVIRONMENT: "test",
      DATABASE_URL: database?.url ?? "",
      METRICS_DATABASE_URL: database?.url ?? "",
      REDIS_URL: "redis://127.0.0.1:6379",
      JWT_SECRET: "a-secret-that-is-at-least-32-characters",
      PORT: "0",
      MAX_CHAIN_SYNC_AGE_SECONDS: "0",
    };
    const entry = ["--enable-source-maps", "dist/main.js"];
    const migrate = spawnSync(process.execPath, [...entry, "migrate"], { cwd: image, env, encoding: "utf8" });
    expect(migrate.stderr).toBe("");
    expect(migrate.stdout).toMatch(/fund database: 0001-initial: Success/);
    expect(migrate.stdout).toMatch(/metrics database: 0001-risk: Success/);
    expect(migrate.status).toBe(0);

    const api = spawnService([...entry, "api"], { cwd: image, env });
    try {
      const port = await api.port;
      const ready = await fetch(`http://127.0.0.1:${String(port)}/health/ready`);
      expect(ready.status).toBe(200);
      const fund = await fetch(`http://127.0.0.1:${String(port)}/v1/fund`);
      expect(fund.status).toBe(404);
      expect(await fund.json()).toMatchObject({ error: { code: expect.any(String) as string } });
      api.child.kill("SIGTERM");
      expect((await api.exited).code).toBe(0);
    } finally {
      // Whatever failed above, the process does not outlive the test.
      if (api.child.exitCode === null && api.child.signalCode === null) api.child.kill("SIGKILL");
    }
  });

  it.each(["risk", "scheduler", "rebalance"])(
    "runs `workers --worker=%s` from the bundle: ready, then on SIGTERM exits 0",
    async (worker) => {
      const env = {
        PATH: path.dirname(process.execPath),
        NODE_ENV: "production",
        ENVIRONMENT: "test",
        DATABASE_URL: database?.url ?? "",
        METRICS_DATABASE_URL: database?.url ?? "",
        REDIS_URL: "redis://127.0.0.1:6379",
        QUEUE_PREFIX: `paimon-image-test-${String(process.pid)}-${worker}`,
        HEALTH_PORT: "0",
        // The sender's chain need not answer for the worker to take jobs: its lane retries.
        ...(worker === "rebalance"
          ? {
              BSC_RPC_URL: "http://127.0.0.1:9",
              CHAIN_ID: "31337",
              FUND_ADDRESS: `0x${"11".repeat(20)}`,
              SIGNER: "local",
              OPERATOR_PRIVATE_KEY: devnetAccounts(1)[0]?.privateKey ?? "",
            }
          : {}),
      };
      const entry = ["--enable-source-maps", "dist/main.js"];
      expect(spawnSync(process.execPath, [...entry, "migrate"], { cwd: image, env, encoding: "utf8" }).status).toBe(0);
      const process_ = spawnService([...entry, "workers", `--worker=${worker}`], { cwd: image, env });
      const redis = new Redis("redis://127.0.0.1:6379");
      try {
        const port = await process_.port;
        await vi.waitFor(
          async () => {
            expect((await fetch(`http://127.0.0.1:${String(port)}/health/ready`)).status).toBe(200);
          },
          { timeout: 30_000, interval: 100 },
        );
        const metrics = await (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).text();
        expect(metrics).toContain(`service="paimon-${worker}-worker"`);
        process_.child.kill("SIGTERM");
        expect((await process_.exited).code).toBe(0);
      } finally {
        if (process_.child.exitCode === null && process_.child.signalCode === null) process_.child.kill("SIGKILL");
        await deleteKeys(redis, `${env.QUEUE_PREFIX}:*`);
        redis.disconnect();
      }
    },
  );

  it("refuses a worker it does not have with the usage and exit code 64", () => {
    const result = spawnSync(process.execPath, ["dist/main.js", "workers", "--worker=payroll"], {
      cwd: image,
      encoding: "utf8",
    });
    expect(result.status).toBe(64);
    // Every worker named, once, whatever the order.
    const choices = /--worker must be one of (.+), got "payroll"/.exec(result.stderr)?.[1];
    expect(choices?.split(", ").sort()).toEqual([...WORKERS].sort());
  });

  it("runs the operator's commands from the bundle: a backup to a directory, listed back", () => {
    const target = mkdtempSync(path.join(tmpdir(), "paimon-image-ops-"));
    try {
      // pg_dump is this machine's (the image's own comes with its runtime stage).
      const env = {
        PATH: "/usr/local/bin:/usr/bin:/bin",
        BACKUP_TARGET: `file://${target}`,
        DATABASE_URL: database?.url ?? "",
      };
      const backup = spawnSync(process.execPath, ["dist/main.js", "ops", "--json", "backup", "postgres"], {
        cwd: image,
        env,
        encoding: "utf8",
      });
      expect(backup.stderr).toBe("");
      expect(backup.status).toBe(0);
      const { id } = JSON.parse(backup.stdout) as { id: string };
      const listed = spawnSync(process.execPath, ["dist/main.js", "ops", "backups", "list"], {
        cwd: image,
        env,
        encoding: "utf8",
      });
      expect(listed.stdout).toContain(`${id}  complete`);
      const refused = spawnSync(process.execPath, ["dist/main.js", "ops", "backups", "list"], {
        cwd: image,
        env: { PATH: env.PATH },
        encoding: "utf8",
      });
      expect([refused.status, refused.stderr]).toEqual([64, "ops: invalid configuration: BACKUP_TARGET: missing\n"]);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  it("refuses an unknown service with the usage and exit code 64", () => {
    const result = spawnSync(process.execPath, ["dist/main.js", "nonsense"], { cwd: image, encoding: "utf8" });
    expect(result.status).toBe(64);
    expect(result.stderr).toContain('unknown service "nonsense"');
    expect(result.stderr).toContain("usage: main.js api");
  });
});
