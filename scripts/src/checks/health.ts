/**
 * §9.1 "every service healthy": each service's `/health/ready` as its probe sees it, and every
 * scraped instance of it as Prometheus sees it (`up`, what ServiceDown, EventListenerDown and
 * WorkerDown alert on) — a Service URL reaches one pod, Prometheus sees them all.
 */
import { m, quote } from "./promql";
import { worst, type CheckContext, type CheckItem, type Status, type Verdict } from "./types";

interface Probe {
  readonly status: Status;
  readonly text: string;
}

async function probe(url: string, timeoutMs: number): Promise<Probe> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort();
  }, timeoutMs);
  try {
    const response = await fetch(`${url.replace(/\/+$/, "")}/health/ready`, { signal: controller.signal });
    const body = (await response.json().catch(() => ({}))) as {
      failed?: Record<string, string>;
      checks?: Record<string, string>;
      degraded?: Record<string, string>;
    };
    const named = (problems: Record<string, string> | undefined) =>
      Object.entries(problems ?? {})
        .map(([check, problem]) => `${check}: ${problem}`)
        .join(", ");
    if (!response.ok)
      return { status: "fail", text: `HTTP ${response.status} ${named(body.failed ?? body.checks)}`.trim() };
    // The API is ready but says what it serves from is behind (Redis, chain sync): shown to
    // clients and alerted on elsewhere, a warning here.
    if (body.degraded && Object.keys(body.degraded).length > 0)
      return { status: "warn", text: `ready, degraded (${named(body.degraded)})` };
    return { status: "pass", text: "ready" };
  } catch (error) {
    return {
      status: "fail",
      text: controller.signal.aborted
        ? `no answer within ${timeoutMs} ms`
        : `unreachable (${(error as Error).message})`,
    };
  } finally {
    clearTimeout(timer);
  }
}

async function scraped(context: CheckContext): Promise<{ status: Status; text: string }[]> {
  const prometheus = context.prometheus;
  if (!prometheus) return [{ status: "pass", text: "Prometheus not read (PROMETHEUS_URL is not set)" }];
  const jobs = context.services.map((service) => service.job);
  const samples = await prometheus.query(`${m("up")}{job=~${quote(jobs.join("|"))}}`);
  return jobs.map((job) => {
    const instances = samples.filter((sample) => sample.labels["job"] === job);
    const down = instances.filter((sample) => sample.value === 0).map((sample) => sample.labels["instance"] ?? "?");
    if (instances.length === 0) return { status: "fail", text: `${job}: no instance scraped` };
    if (down.length > 0) return { status: "fail", text: `${job}: down ${down.join(", ")} of ${instances.length}` };
    return { status: "pass", text: `${job}: ${instances.length} up` };
  });
}

export const servicesHealthy: CheckItem = {
  id: "services.health",
  title: "Every service healthy",
  async run(context): Promise<Verdict> {
    const threshold =
      "each service's /health/ready answers 200 (degraded: warn); every scraped instance up (up == 0 is ServiceDown, EventListenerDown, WorkerDown)";
    if (context.services.length === 0)
      return { status: "unknown", evidence: "no service URL is configured (API_URL, …)", threshold };
    const [probes, instances] = await Promise.all([
      Promise.all(
        context.services.map(async (service) => ({ service, result: await probe(service.url, context.timeoutMs) })),
      ),
      scraped(context),
    ]);
    const unhealthy = probes.filter(({ result }) => result.status !== "pass");
    const down = instances.filter((instance) => instance.status !== "pass");
    const evidence = [
      unhealthy.length === 0
        ? `${probes.length} services ready`
        : unhealthy.map(({ service, result }) => `${service.name} ${result.text}`).join("; "),
      down.length === 0 ? instances.map((instance) => instance.text).join(", ") : down.map((d) => d.text).join("; "),
    ].join("; ");
    return {
      status: worst([...probes.map(({ result }) => result.status), ...instances.map((instance) => instance.status)]),
      evidence,
      threshold,
    };
  },
};
