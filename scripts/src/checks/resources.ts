/**
 * §9.2 "resource trends": each service's memory and CPU now and how they moved over the period
 * (Prometheus), Redis's memory against its limit (RedisMemoryHigh's line, also as a projection
 * one period ahead) and the database's size. The spec sets no line for a process's memory or the
 * database's size: those are shown, and only Redis is judged.
 */
import { m, quote } from "./promql";
import { crosses } from "./rules";
import { range, worst, type CheckContext, type CheckItem, type Status } from "./types";

/** Node's own process metrics, which every service's registry exports besides the catalog's. */
const PROCESS_MEMORY = "process_resident_memory_bytes";
const PROCESS_CPU = "process_cpu_seconds_total";

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(0)} MB`;

async function serviceTrends(context: CheckContext): Promise<string[]> {
  const prometheus = context.prometheus;
  if (!prometheus) return [];
  const jobs = quote(context.services.map((service) => service.job).join("|") || ".+");
  const seconds = range(context);
  const [memory, growth, cpu] = await Promise.all([
    prometheus.query(`sum by (job) (${PROCESS_MEMORY}{job=~${jobs}})`),
    prometheus.query(`sum by (job) (deriv(${PROCESS_MEMORY}{job=~${jobs}}[${seconds}])) * ${seconds.replace("s", "")}`),
    prometheus.query(`sum by (job) (rate(${PROCESS_CPU}{job=~${jobs}}[${seconds}]))`),
  ]);
  return memory.map((sample) => {
    const job = sample.labels["job"] ?? "?";
    const grew = growth.find((g) => g.labels["job"] === job)?.value;
    const used = cpu.find((c) => c.labels["job"] === job)?.value;
    return `${job} ${mb(sample.value)}${grew === undefined ? "" : ` (${grew >= 0 ? "+" : ""}${mb(grew)} over the period)`}${used === undefined ? "" : `, ${(used * 1000).toFixed(0)} mCPU`}`;
  });
}

export const resourceTrends: CheckItem = {
  id: "resources.trends",
  title: "Resource trends",
  async run(context) {
    const line = context.prometheus ? (await context.rules()).threshold("RedisMemoryHigh") : undefined;
    const threshold = `warn: Redis memory over its limit's ${line ? `${line.value} (${line.label})` : "line (RedisMemoryHigh not loaded)"} now or one period ahead on its trend; process memory, CPU and database size are shown, the spec sets no line for them`;
    const parts: string[] = [];
    const statuses: Status[] = [];
    parts.push(...(await serviceTrends(context)));
    if (context.redis) {
      const info = await context.redis();
      const used = Number(info["used_memory"] ?? 0);
      const max = Number(info["maxmemory"] ?? 0);
      if (max > 0) {
        const ratio = used / max;
        if (line && crosses(line, ratio)) statuses.push("warn");
        parts.push(`Redis ${mb(used)} of ${mb(max)} (${(ratio * 100).toFixed(1)} %)`);
      } else parts.push(`Redis ${mb(used)}, no maxmemory set`);
    }
    if (context.prometheus && line) {
      const ahead = await context.prometheus.query(
        `predict_linear(${m("redis_memory_used_bytes")}[${range(context)}], ${range(context).replace("s", "")}) / ${m("redis_memory_max_bytes")}`,
      );
      for (const sample of ahead) {
        if (crosses(line, sample.value)) statuses.push("warn");
        parts.push(
          `Redis ${sample.labels["instance"] ?? ""} projected at ${(sample.value * 100).toFixed(1)} % one period ahead`,
        );
      }
    }
    if (context.database) {
      const [size] = await context.database<{ bytes: string }>(
        "select pg_database_size(current_database())::text as bytes",
      );
      parts.push(`database ${mb(Number(size?.bytes ?? 0))}`);
    }
    if (parts.length === 0)
      return {
        status: "unknown",
        evidence: "nothing to read: set PROMETHEUS_URL, REDIS_URL or DATABASE_URL",
        threshold,
      };
    return { status: worst(statuses), evidence: parts.join("; "), threshold };
  },
};
