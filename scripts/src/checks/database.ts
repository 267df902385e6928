/**
 * §9.2 "database performance", from PostgreSQL itself: slow statements (pg_stat_statements where
 * the extension is installed, else what is running now in pg_stat_activity) against the API's
 * latency line (HighAPILatency: a statement slower than the whole request's P99 budget), the
 * connections left against one more service process's pool, and tables whose dead rows
 * autovacuum's own trigger says it should already have vacuumed (bloat it is not keeping up with).
 */
import { baseEnvSchema } from "@paimon/core/config";
import { need, worst, type CheckItem, type Query, type Status } from "./types";

/** The connections one service process opens (the services' DATABASE_POOL_SIZE default). */
const POOL_SIZE = baseEnvSchema.shape.DATABASE_POOL_SIZE.parse(undefined);

interface Slow {
  readonly text: string;
  readonly seconds: number;
}

async function slowStatements(query: Query, lineSeconds: number): Promise<{ source: string; slow: Slow[] }> {
  const [installed] = await query<{ present: boolean }>(
    "select exists (select 1 from pg_extension where extname = 'pg_stat_statements') as present",
  );
  if (installed?.present === true) {
    const rows = await query<{ query: string; calls: string; mean: number }>(
      `select left(regexp_replace(query, '\\s+', ' ', 'g'), 80) as query, calls::text as calls, mean_exec_time / 1000 as mean
         from pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database()) and mean_exec_time / 1000 > $1
        order by mean_exec_time desc limit 5`,
      [lineSeconds],
    );
    return {
      source: "pg_stat_statements",
      slow: rows.map((row) => ({ text: `${row.query} (${row.calls} calls)`, seconds: row.mean })),
    };
  }
  const rows = await query<{ query: string; seconds: number }>(
    `select left(regexp_replace(query, '\\s+', ' ', 'g'), 80) as query,
            extract(epoch from now() - query_start)::float8 as seconds
       from pg_stat_activity
      where datname = current_database() and state = 'active' and backend_type = 'client backend'
        and pid <> pg_backend_pid() and now() - query_start > make_interval(secs => $1)
      order by query_start limit 5`,
    [lineSeconds],
  );
  return {
    source: "pg_stat_activity (pg_stat_statements is not installed)",
    slow: rows.map((row) => ({ text: row.query, seconds: row.seconds })),
  };
}

export const databasePerformance: CheckItem = {
  id: "database.performance",
  title: "Database performance",
  async run(context) {
    const query = need(context.database, "DATABASE_URL");
    const slowLine = (await context.rules()).threshold("HighAPILatency");
    const threshold = `warn: a statement slower than ${slowLine.value} s (${slowLine.label}), fewer free connections than one process's pool (${POOL_SIZE}), or a table past autovacuum's trigger; fail: no connection left`;
    const [{ source, slow }, [connections], bloated] = await Promise.all([
      slowStatements(query, slowLine.value),
      query<{ used: number; max: number; reserved: number }>(
        `select (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as used,
                current_setting('max_connections')::int as max,
                current_setting('superuser_reserved_connections')::int as reserved`,
      ),
      // Autovacuum vacuums a table once its dead rows pass threshold + scale factor × rows.
      query<{ name: string; dead: number; live: number }>(
        `select schemaname || '.' || relname as name, n_dead_tup::float8 as dead, n_live_tup::float8 as live
           from pg_stat_user_tables
          where n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
                + current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(n_live_tup, 0)
          order by n_dead_tup desc limit 5`,
      ),
    ]);
    const statuses: Status[] = [];
    if (slow.length > 0) statuses.push("warn");
    const usable = (connections?.max ?? 0) - (connections?.reserved ?? 0);
    const free = usable - (connections?.used ?? 0);
    if (free <= 0) statuses.push("fail");
    else if (free < POOL_SIZE) statuses.push("warn");
    if (bloated.length > 0) statuses.push("warn");
    const evidence = [
      slow.length === 0
        ? `no statement over ${slowLine.value} s (${source})`
        : `slow (${source}): ${slow.map((s) => `${s.text} ${s.seconds.toFixed(2)} s`).join("; ")}`,
      `connections ${connections?.used ?? "?"} of ${usable} usable`,
      bloated.length === 0
        ? "no table past autovacuum's trigger"
        : `dead rows past autovacuum's trigger: ${bloated.map((t) => `${t.name} ${t.dead} dead / ${t.live} live`).join(", ")}`,
    ].join("; ");
    return { status: worst(statuses), evidence, threshold };
  },
};
