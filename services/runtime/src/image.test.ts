/**
 * The container image, checked without a container engine: the Dockerfile is linted
 * (dockerlinter + shellcheck) and parsed; its build stage's own RUN commands are executed in a
 * copy of exactly the build context `.dockerignore` lets through; and what the final stage
 * copies — `dist/` alone, in a directory with no node_modules — must migrate a database, serve
 * the API and shut down cleanly.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import ignore from "@balena/dockerignore";
import { deleteKeys } from "@paimon/core/redis";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { spawnService } from "@paimon/core/testing/service-process";
import { Copy, DockerfileParser, From, type Dockerfile, type Instruction } from "dockerfile-ast";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PORTS } from "../../../infra/k8s/values";

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
    expect(copies.map(args)).toEqual([["/workspace/services/runtime/dist/", "./dist/"]]);
    const flags = (copy: Instruction) => (copy instanceof Copy ? copy.getFlags() : []);
    expect(copies.map((copy) => flags(copy).map((flag) => [flag.getName(), flag.getValue()]))).toEqual([
      [
        ["from", "build"],
        ["chown", "root:root"],
      ],
    ]);
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
    expect(result.stderr).toContain("--worker must be one of risk, scheduler, rebalance");
  });

  it("refuses an unknown service with the usage and exit code 64", () => {
    const result = spawnSync(process.execPath, ["dist/main.js", "nonsense"], { cwd: image, encoding: "utf8" });
    expect(result.status).toBe(64);
    expect(result.stderr).toContain('unknown service "nonsense"');
    expect(result.stderr).toContain("usage: main.js api");
  });
});
