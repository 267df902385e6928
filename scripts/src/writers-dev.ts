/**
 * The writers on a developer's machine: the event listener and the workers that `pnpm dev` runs.
 * `pnpm dev` serves a control on loopback — `POST /writers/stop` answers once they have exited,
 * `POST /writers/start` once they run again — and says where in a file named after its database,
 * so that a restore into that database finds it. Both sides of that contract are here.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { z } from "zod";
import { WritersError, type StoppedWriters, type Writers } from "./writers";

const controlSchema = z.strictObject({
  pid: z.number().int().positive(),
  database: z.string().min(1),
  url: z.url({ protocol: /^http$/ }),
});
type DevControl = z.infer<typeof controlSchema>;

/** Where `pnpm dev` running against `database` describes its control. */
export const devControlFile = (database: string, directory: string = tmpdir()): string =>
  path.join(directory, "paimon-dev", `${database}.json`);

/** What `pnpm dev` hands the control: how to stop its writers and start them again. */
export interface DevControlHandlers {
  /** Stops the writers, resolving with their names once they have exited. */
  readonly stop: () => Promise<string[]>;
  /** Starts them again, resolving with their names once they run. */
  readonly start: () => Promise<string[]>;
}

/**
 * Serves the control on a loopback port of its own and writes the file that points to it;
 * `close()` removes the file, then stops serving.
 */
export async function serveDevControl(
  options: DevControlHandlers & { readonly database: string; readonly directory?: string },
): Promise<{ readonly url: string; readonly close: () => Promise<void> }> {
  let busy: Promise<unknown> = Promise.resolve();
  const answer = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const action =
      request.method === "POST" && request.url === "/writers/stop"
        ? options.stop
        : request.method === "POST" && request.url === "/writers/start"
          ? options.start
          : undefined;
    if (!action) {
      answer(response, 404, { error: "POST /writers/stop or /writers/start" });
      return;
    }
    // One change at a time: a start never overlaps a stop still under way.
    const run = busy.then(action);
    busy = run.catch(() => undefined);
    run.then(
      (writers) => {
        answer(response, 200, { writers });
      },
      (error: unknown) => {
        answer(response, 500, { error: (error as Error).message });
      },
    );
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  const file = devControlFile(options.database, options.directory);
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${randomBytes(4).toString("hex")}`;
  await writeFile(
    temporary,
    `${JSON.stringify({ pid: process.pid, database: options.database, url } satisfies DevControl)}\n`,
  );
  await rename(temporary, file);
  return {
    url,
    close: async () => {
      await rm(file, { force: true });
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Whether a process of this id exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readControl(file: string): Promise<DevControl | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const parsed = controlSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new WritersError(`${file} is not a pnpm dev control file: ${parsed.error.issues[0]?.message ?? ""}`);
  // Left behind by a `pnpm dev` that was killed: nothing runs there.
  return alive(parsed.data.pid) ? parsed.data : undefined;
}

async function post(control: DevControl, action: "stop" | "start"): Promise<string[]> {
  let response: Response;
  try {
    response = await fetch(`${control.url}/writers/${action}`, { method: "POST" });
  } catch (error) {
    throw new WritersError(
      `pnpm dev (pid ${control.pid}) does not answer at ${control.url}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const body = (await response.json()) as { writers?: string[]; error?: string };
  if (!response.ok)
    throw new WritersError(`pnpm dev could not ${action} its writers: ${body.error ?? String(response.status)}`);
  return body.writers ?? [];
}

/**
 * The writers `pnpm dev` runs against `database`, if it runs: none when it does not (the restore's
 * check for live writers still refuses under any other writer).
 */
export function devWriters(options: {
  readonly database: string;
  readonly directory?: string;
  readonly log?: (line: string) => void;
}): Writers {
  const file = devControlFile(options.database, options.directory);
  const log = options.log ?? (() => undefined);
  return {
    where: `pnpm dev (database ${options.database})`,
    async stop(): Promise<StoppedWriters> {
      const control = await readControl(file);
      if (!control) return { stopped: [], start: () => Promise.resolve() };
      const stopped = await post(control, "stop");
      log(`pnpm dev (pid ${control.pid}): stopped ${stopped.join(", ")}`);
      return {
        stopped,
        async start() {
          const started = await post(control, "start");
          log(`pnpm dev (pid ${control.pid}): started ${started.join(", ")}`);
        },
      };
    },
  };
}
