/**
 * The container image's one entrypoint (`node dist/main.js <service> [options]`): the Kubernetes
 * charts and docker-compose run every service from the same image, choosing it by the first
 * argument — `api`, `event-listener`, `workers --worker=<name>`, `migrate` (the schemas, run
 * before a rollout), or `ops …` (the operator's commands, which the backup CronJobs run too). A wrong argument exits 64
 * with the usage, before any configuration is read.
 */
import { parseArgs } from "node:util";
import { runApi } from "@paimon/api/main";
import { runEventListener } from "@paimon/event-listener/main";
import { runMigrate } from "@paimon/core/migrate";
import { WORKERS } from "@paimon/core/workloads";
import { parseWorkerName, runWorker } from "@paimon/workers/main";
import { runMain } from "@paimon/core/process";
import { runOps } from "@paimon/scripts/cli";

type Env = Readonly<Record<string, string | undefined>>;

const USAGE = `usage: main.js api | event-listener | workers --worker=<${WORKERS.join("|")}> | migrate [--wait] | ops <command> (ops --help)`;

/** What each first argument runs; the name is the one logs and errors carry. */
export function resolveProgram(argv: readonly string[]): { name: string; run: (env: Env) => Promise<void> } {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { worker: { type: "string" }, wait: { type: "boolean" } },
  });
  const [service, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest.join(" ")}`);
  if (values.worker !== undefined && service !== "workers") throw new UsageError("--worker is for `workers` only");
  if (values.wait !== undefined && service !== "migrate") throw new UsageError("--wait is for `migrate` only");
  switch (service) {
    case "api":
      return { name: "paimon-api", run: runApi };
    case "event-listener":
      return { name: "paimon-event-listener", run: runEventListener };
    case "workers": {
      let worker: ReturnType<typeof parseWorkerName>;
      try {
        worker = parseWorkerName(values.worker);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      return { name: `paimon-${worker}-worker`, run: (env) => runWorker(worker, env) };
    }
    case "migrate":
      return { name: "migrate", run: (env) => runMigrate(env, console.log, { wait: values.wait ?? false }) };
    case undefined:
      throw new UsageError("no service named");
    default:
      throw new UsageError(`unknown service ${JSON.stringify(service)}`);
  }
}

export class UsageError extends Error {}

export function main(argv: readonly string[], env: Env): void {
  // The operator's commands (backups, restores) parse their own arguments and own their exit codes.
  if (argv[0] === "ops") {
    void runOps(argv.slice(1), {
      env,
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
      // This very program: the drill starts the API and the listener with it.
      services: { command: process.execPath, args: [...process.execArgv, process.argv[1] ?? ""], cwd: process.cwd() },
    }).then((code) => {
      process.exitCode = code;
    });
    return;
  }
  let program: ReturnType<typeof resolveProgram>;
  try {
    program = resolveProgram(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exitCode = 64;
    return;
  }
  runMain(program.name, () => program.run(env));
}
