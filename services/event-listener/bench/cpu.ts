/**
 * CPU time from `/proc`, for the benchmark's account of a backfill: on a shared machine, the CPU
 * each party spends is steadier than the wall time it takes, and their sum over the cores is a
 * floor no overlapping can go under.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Database } from "@paimon/core/db";
import { sql, type Kysely } from "kysely";

/** Linux's clock ticks per second (`getconf CLK_TCK`), which `/proc/<pid>/stat` counts in. */
const TICKS_PER_SECOND = 100;

/** User and system CPU seconds of one process (or, under `task/`, one thread), or 0 once it has gone. */
function ownSeconds(pid: number, task?: number): number {
  try {
    const stat = readFileSync(`/proc/${String(pid)}${task === undefined ? "" : `/task/${String(task)}`}/stat`, "utf8");
    // Fields after the command (which may hold spaces), from the third: utime is the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${String(pid)}/task`).flatMap((task) =>
      readFileSync(`/proc/${String(pid)}/task/${task}/children`, "utf8")
        .split(" ")
        .filter((word) => word !== "")
        .map(Number),
    );
  } catch {
    return [];
  }
}

/** CPU seconds of a process and every process under it (Hardhat's launcher runs the node as a child). */
export function treeCpuSeconds(pid: number): number {
  return ownSeconds(pid) + childrenOf(pid).reduce((sum, child) => sum + treeCpuSeconds(child), 0);
}

/**
 * A Node process's CPU seconds split between its main thread (the JavaScript, and the garbage
 * collection that stops it) and its other threads (V8's concurrent marking and compilers, libuv's
 * pool): what a CPU profile, which samples the main thread only, accounts for, and what it does not.
 */
export function threadCpuSeconds(pid: number): { readonly main: number; readonly others: number } {
  const main = ownSeconds(pid, pid);
  return { main, others: ownSeconds(pid) - main };
}

/**
 * CPU seconds of the PostgreSQL backends serving `db`'s database now — the listener's writer and
 * its pool, and whoever else is connected to that database (not other databases' backends, nor
 * the WAL writer and checkpointer, which the machine's other work shares).
 */
export async function databaseCpuSeconds(db: Kysely<Database>): Promise<Map<number, number>> {
  const backends = await sql<{ pid: number }>`
    select pid from pg_stat_activity where datname = current_database()`.execute(db);
  return new Map(backends.rows.map(({ pid }) => [pid, ownSeconds(pid)]));
}

/** CPU seconds the backends spent between two readings (one connected in between counts from its start). */
export function cpuBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}
