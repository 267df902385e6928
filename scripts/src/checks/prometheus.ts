/**
 * Prometheus's HTTP API, as the checks read it: instant and range queries, and the rules it has
 * loaded. Every answer is checked against the API's documented shape; an error names the server
 * and the expression.
 */
import { z } from "zod";

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  /** `[unix seconds, value]`, oldest first. */
  readonly points: readonly (readonly [number, number])[];
}

/** An alerting rule as Prometheus has loaded it. */
export interface LoadedRule {
  readonly name: string;
  readonly query: string;
  /** Its `for`, in seconds. */
  readonly forSeconds: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: string;
  /** How often its group is evaluated, in seconds. */
  readonly intervalSeconds: number;
}

const number = z.string().transform((text) => Number(text));
const labels = z.record(z.string(), z.string());
const failure = z.object({ status: z.literal("error"), errorType: z.string(), error: z.string() });
const vector = z.object({
  resultType: z.literal("vector"),
  result: z.array(z.object({ metric: labels, value: z.tuple([z.number(), number]) })),
});
const scalar = z.object({ resultType: z.literal("scalar"), result: z.tuple([z.number(), number]) });
const matrix = z.object({
  resultType: z.literal("matrix"),
  result: z.array(z.object({ metric: labels, values: z.array(z.tuple([z.number(), number])) })),
});
const ruleGroups = z.object({
  groups: z.array(
    z.object({
      interval: z.number(),
      rules: z.array(
        z.object({
          type: z.string(),
          name: z.string(),
          query: z.string(),
          duration: z.number().optional(),
          labels: labels.optional(),
          state: z.string().optional(),
        }),
      ),
    }),
  ),
});

export class PrometheusError extends Error {}

export interface PrometheusApi {
  readonly url: string;
  query(expr: string, at?: Date): Promise<Sample[]>;
  queryRange(expr: string, start: Date, end: Date, stepSeconds: number): Promise<Series[]>;
  rules(): Promise<LoadedRule[]>;
}

/** A client of the Prometheus at `url`, each request bounded by `timeoutMs`. */
export function prometheusApi(url: string, timeoutMs: number): PrometheusApi {
  const base = url.replace(/\/+$/, "");
  async function get<T extends z.ZodType>(
    path: string,
    params: Record<string, string>,
    data: T,
    what: string,
  ): Promise<z.infer<T>> {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort();
    }, timeoutMs);
    let text: string;
    let status: number;
    try {
      const response = await fetch(`${base}${path}?${new URLSearchParams(params).toString()}`, {
        signal: controller.signal,
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      const reason = controller.signal.aborted ? `no answer within ${timeoutMs} ms` : (error as Error).message;
      throw new PrometheusError(`Prometheus at ${base} did not answer ${what}: ${reason}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new PrometheusError(`Prometheus at ${base} answered ${what} with HTTP ${status} and no JSON`);
    }
    const refused = failure.safeParse(json);
    if (refused.success) throw new PrometheusError(`Prometheus at ${base} refused ${what}: ${refused.data.error}`);
    const answer = z.object({ status: z.literal("success"), data: z.unknown() }).safeParse(json);
    const parsed = data.safeParse(answer.success ? answer.data.data : undefined);
    if (!parsed.success)
      throw new PrometheusError(`Prometheus at ${base} answered ${what} in an unexpected shape (HTTP ${status})`);
    return parsed.data;
  }
  return {
    url: base,
    async query(expr, at) {
      const params = { query: expr, ...(at ? { time: String(at.getTime() / 1000) } : {}) };
      const data = await get("/api/v1/query", params, z.union([vector, scalar]), `the query ${expr}`);
      if (data.resultType === "scalar") return [{ labels: {}, value: data.result[1] }];
      return data.result.map((sample) => ({ labels: sample.metric, value: sample.value[1] }));
    },
    async queryRange(expr, start, end, stepSeconds) {
      const params = {
        query: expr,
        start: String(start.getTime() / 1000),
        end: String(end.getTime() / 1000),
        step: String(stepSeconds),
      };
      const data = await get("/api/v1/query_range", params, matrix, `the range query ${expr}`);
      return data.result.map((series) => ({ labels: series.metric, points: series.values }));
    },
    async rules() {
      const data = await get("/api/v1/rules", { type: "alert" }, ruleGroups, "its alerting rules");
      return data.groups.flatMap((group) =>
        group.rules
          .filter((rule) => rule.type === "alerting")
          .map((rule) => ({
            name: rule.name,
            query: rule.query,
            forSeconds: rule.duration ?? 0,
            labels: rule.labels ?? {},
            state: rule.state ?? "unknown",
            intervalSeconds: group.interval,
          })),
      );
    },
  };
}
