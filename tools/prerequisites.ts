/**
 * What `pnpm test` needs of the machine, checked in its first seconds: Node and pnpm at the
 * versions package.json pins, the Debian tools the suites run (promtool and Prometheus, amtool,
 * shellcheck), and this machine's PostgreSQL and Redis. What is missing is installed or started
 * where this process may (root, with apt and the servers' own commands, as on the project's
 * machines); otherwise the run stops at once, naming each missing piece and the exact command
 * that provides it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");

/** Debian packages the suites call, by the command each provides. */
const TOOLS = {
  promtool: "prometheus",
  // The operations checks' tests run Prometheus itself, scraping `pnpm dev`.
  prometheus: "prometheus",
  amtool: "prometheus-alertmanager",
  shellcheck: "shellcheck",
  // The operations tests run a Redis of their own, whose RDB file they read.
  "redis-server": "redis-server",
} as const;

/**
 * Tools that are not Debian packages, by the command each provides: moto's server is the local S3
 * of the backup tests (the real AWS SDK against it). Named when missing, never installed here.
 */
const PIP_TOOLS = { moto_server: "moto[server]==5.2.1" } as const;

interface Service {
  readonly name: string;
  readonly port: number;
  /** The command that starts it. */
  readonly start: string;
  /** The command `start` needs to be there. */
  readonly needs: string;
}

const SERVICES: readonly Service[] = [
  {
    name: "PostgreSQL",
    port: 5432,
    start: "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    needs: "pg_ctlcluster",
  },
  {
    name: "Redis",
    port: 6379,
    start: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    needs: "redis-server",
  },
];

const has = (command: string) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
const sh = (command: string) => spawnSync("sh", ["-c", command], { stdio: "inherit" }).status === 0;

function reachable(port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once("connect", () => {
      done(true);
    });
    socket.once("error", () => {
      done(false);
    });
  });
}

async function waitReachable(port: number, attempts = 50): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await reachable(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

export interface PrerequisiteOptions {
  readonly log?: (line: string) => void;
  /** Whether it may install packages and start servers. @default whether this process is root */
  readonly mayInstall?: boolean;
  /** @default promtool, amtool, shellcheck */
  readonly tools?: Readonly<Record<string, string>>;
  /** @default moto_server */
  readonly pipTools?: Readonly<Record<string, string>>;
  /** @default PostgreSQL on 5432, Redis on 6379 */
  readonly services?: readonly Service[];
}

/** Returns the problems left after installing and starting what it could; empty when all is there. */
export async function ensurePrerequisites(options: PrerequisiteOptions = {}): Promise<string[]> {
  const log = options.log ?? console.log;
  const mayInstall = options.mayInstall ?? process.getuid?.() === 0;
  const problems: string[] = [];
  const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    packageManager: string;
    engines: { node: string };
  };
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const wantedNode = /(\d+)\.(\d+)/.exec(manifest.engines.node);
  if (
    wantedNode &&
    (major < Number(wantedNode[1]) || (major === Number(wantedNode[1]) && minor < Number(wantedNode[2])))
  ) {
    problems.push(`Node ${process.versions.node} is older than ${manifest.engines.node}: install Node 20.19 or later`);
  }
  const wantedPnpm = manifest.packageManager.split("@")[1] ?? "";
  const pnpm = spawnSync("pnpm", ["--version"], { encoding: "utf8" }).stdout.trim();
  if (pnpm !== wantedPnpm) {
    problems.push(
      `pnpm is ${pnpm || "missing"}, the workspace pins ${wantedPnpm}: npm install --global pnpm@${wantedPnpm}`,
    );
  }

  const missing = Object.entries(options.tools ?? TOOLS).filter(([command]) => !has(command));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(" ");
    const install = `apt-get update -qq && apt-get install -y -qq --no-install-recommends ${packages}`;
    if (mayInstall && has("apt-get")) {
      log(`prerequisites: installing ${packages}`);
      sh(`DEBIAN_FRONTEND=noninteractive ${install} >/dev/null`);
    }
    for (const [command, pkg] of missing) {
      if (!has(command)) problems.push(`${command} is missing (Debian package ${pkg}): ${install}`);
    }
  }

  for (const [command, requirement] of Object.entries(options.pipTools ?? PIP_TOOLS)) {
    if (!has(command)) problems.push(`${command} is missing: pip install '${requirement}'`);
  }

  for (const service of options.services ?? SERVICES) {
    if (await reachable(service.port)) continue;
    if (mayInstall && has(service.needs)) {
      log(`prerequisites: starting ${service.name}`);
      sh(service.start);
      if (await waitReachable(service.port)) continue;
    }
    problems.push(`${service.name} is not reachable on 127.0.0.1:${String(service.port)}: ${service.start}`);
  }
  return problems;
}
