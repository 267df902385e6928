/**
 * Redis's backup on a server whose files this host can read (development, a drill): `BGSAVE`,
 * then wait until `LASTSAVE` moves past the moment before it — the server's own word that the RDB
 * is complete — and that the save succeeded, then copy the RDB it names (`CONFIG GET dir` and
 * `dbfilename`). ElastiCache allows neither `CONFIG` nor its files: there the snapshot is AWS's
 * (7 days of automatic snapshots, see infra/components/cache), and this refuses with that said.
 */
import { copyFile, stat } from "node:fs/promises";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { Redis } from "ioredis";

export interface RedisSave {
  readonly file: string;
  /** Keys per logical database at the save, `db0` → count. */
  readonly keyspace: Record<string, number>;
  readonly version: string;
}

const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim();

export async function saveRedis(options: {
  readonly redis: Redis;
  readonly directory: string;
  /** How long the save may take. @default 600_000 */
  readonly timeoutMs?: number;
  /** Between LASTSAVE reads. @default 100 */
  readonly pollMs?: number;
}): Promise<RedisSave> {
  const { redis } = options;
  let dir: string;
  let name: string;
  try {
    dir = ((await redis.config("GET", "dir")) as string[])[1] ?? "";
    name = ((await redis.config("GET", "dbfilename")) as string[])[1] ?? "";
  } catch (error) {
    throw new Error(
      "this Redis does not allow CONFIG (ElastiCache): its backups are AWS's automatic snapshots, not this command's",
      { cause: error },
    );
  }
  const before = await redis.lastsave();
  // LASTSAVE has a resolution of one second: a save that ends within the second of the last one
  // would not move it. Wait into the next second first.
  while (Number((await redis.time())[0]) <= before) await delay(options.pollMs ?? 100);
  try {
    await redis.bgsave();
  } catch (error) {
    // One already running will do: it too ends after this moment.
    if (!/in progress/i.test((error as Error).message)) throw error;
  }
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  for (;;) {
    const persistence = await redis.info("persistence");
    const saving = field(persistence, "rdb_bgsave_in_progress") === "1";
    if (!saving && (await redis.lastsave()) > before) {
      if (field(persistence, "rdb_last_bgsave_status") !== "ok")
        throw new Error(
          `BGSAVE failed: rdb_last_bgsave_status is ${field(persistence, "rdb_last_bgsave_status") ?? "?"}`,
        );
      break;
    }
    if (!saving && field(persistence, "rdb_last_bgsave_status") === "err")
      throw new Error("BGSAVE failed: rdb_last_bgsave_status is err");
    if (Date.now() > deadline) throw new Error(`BGSAVE did not finish within ${options.timeoutMs ?? 600_000} ms`);
    await delay(options.pollMs ?? 100);
  }
  const source = path.join(dir, name);
  await stat(source).catch((error: unknown) => {
    throw new Error(`the RDB ${source} is not readable from this host`, { cause: error });
  });
  const file = path.join(options.directory, "dump.rdb");
  await copyFile(source, file);
  const keyspace: Record<string, number> = {};
  for (const [, db, keys] of (await redis.info("keyspace")).matchAll(/^(db\d+):keys=(\d+)/gm))
    keyspace[db ?? ""] = Number(keys);
  return { file, keyspace, version: field(await redis.info("server"), "redis_version") ?? "" };
}
