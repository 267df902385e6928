import { EventEmitter, once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small HTTP load balancer for rolling-restart tests, behaving as the cluster's does: it
 * health-checks every upstream's readiness path on an interval, routes round-robin over the
 * healthy ones through keep-alive connections, and — like Envoy's `retry_on: connect-failure,reset`
 * or nginx's `proxy_next_upstream error` — sends an idempotent request that failed before any
 * response byte to another healthy upstream. A response cut after it started is not retried: it
 * reaches the client as a failure. Like an ALB's target group, it takes an upstream out only
 * after several failed checks in a row, each check given seconds to answer: one slow answer (a
 * busy instance, a loaded machine) is not an instance going away.
 */
export interface LoadBalancer {
  readonly url: string;
  /** Replaces the upstreams (the endpoints of a Service); a new one is unhealthy until checked. */
  setUpstreams(urls: readonly string[]): void;
  /** Resolves once `url` has passed a health check. */
  waitUntilHealthy(url: string): Promise<void>;
  /** Requests sent again to another upstream after a connection failure or reset. */
  readonly retries: number;
  close(): Promise<void>;
}

/** An ALB's default idle timeout: how long it keeps a client's idle keep-alive connection. */
const ALB_IDLE_TIMEOUT_MS = 60_000;

export interface LoadBalancerOptions {
  readonly healthPath: string;
  /** How often each upstream is checked; a check still in flight is not sent again. */
  readonly intervalMs: number;
  /** A check not answered within this fails. @default 5_000 (an ALB target group's default) */
  readonly timeoutMs?: number;
  /** Failed checks in a row that take an upstream out. @default 2 (an ALB target group's default) */
  readonly unhealthyThreshold?: number;
}

export async function createLoadBalancer(options: LoadBalancerOptions): Promise<LoadBalancer> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const unhealthyThreshold = options.unhealthyThreshold ?? 2;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const events = new EventEmitter();
  const healthy = new Map<string, boolean>();
  /** Each upstream's failed checks since its last passed one. */
  const failures = new Map<string, number>();
  /** The upstreams with a check in flight. */
  const checking = new Set<string>();
  let upstreams: string[] = [];
  let next = 0;
  let retries = 0;

  const check = (url: string) => {
    if (checking.has(url)) return;
    checking.add(url);
    const request = http.get(new URL(options.healthPath, url), { agent, timeout: timeoutMs }, (response) => {
      response.resume();
      setHealth(url, response.statusCode === 200);
    });
    request.on("timeout", () => request.destroy(new Error("health check timed out")));
    request.on("error", () => {
      setHealth(url, false);
    });
  };
  const setHealth = (url: string, ok: boolean) => {
    checking.delete(url);
    if (!upstreams.includes(url)) return;
    if (ok) {
      failures.set(url, 0);
      healthy.set(url, true);
      events.emit(`healthy:${url}`);
      return;
    }
    const failed = (failures.get(url) ?? 0) + 1;
    failures.set(url, failed);
    if (failed >= unhealthyThreshold) healthy.set(url, false);
  };
  const timer = setInterval(() => {
    for (const url of upstreams) check(url);
  }, options.intervalMs);

  const pick = (exclude: ReadonlySet<string>) => {
    const candidates = upstreams.filter((url) => healthy.get(url) === true && !exclude.has(url));
    if (candidates.length === 0) return undefined;
    next = (next + 1) % candidates.length;
    return candidates[next];
  };

  const forward = (client: http.IncomingMessage, reply: http.ServerResponse, body: Buffer, tried: Set<string>) => {
    const upstream = pick(tried);
    if (upstream === undefined) {
      reply.writeHead(503, { "content-type": "application/json" }).end('{"error":"no healthy upstream"}');
      return;
    }
    tried.add(upstream);
    const request = http.request(
      new URL(client.url ?? "/", upstream),
      { method: client.method, headers: { ...client.headers, host: new URL(upstream).host }, agent },
      (response) => {
        reply.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(reply);
        response.on("error", () => reply.destroy());
        response.on("aborted", () => reply.destroy());
      },
    );
    request.on("error", () => {
      if (reply.headersSent) {
        reply.destroy();
        return;
      }
      // Nothing of the response arrived: the upstream is going away. Check it now, retry elsewhere.
      check(upstream);
      if (client.method === "GET" || client.method === "HEAD") {
        retries += 1;
        forward(client, reply, body, tried);
      } else {
        reply.writeHead(502, { "content-type": "application/json" }).end('{"error":"upstream failed"}');
      }
    });
    request.end(body);
  };

  const server = http.createServer((client, reply) => {
    const chunks: Buffer[] = [];
    client.on("data", (chunk: Buffer) => chunks.push(chunk));
    client.on("end", () => {
      forward(client, reply, Buffer.concat(chunks), new Set());
    });
  });
  // An ALB keeps an idle client connection for 60 s (its default idle timeout). Node's default of
  // 5 s would close, whenever this process is held up that long, a connection a client is about to
  // reuse: its next request would meet a reset no balancer in the cluster sends.
  server.keepAliveTimeout = ALB_IDLE_TIMEOUT_MS;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");

  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    setUpstreams(urls) {
      upstreams = [...urls];
      for (const url of healthy.keys()) {
        if (!upstreams.includes(url)) {
          healthy.delete(url);
          failures.delete(url);
        }
      }
      for (const url of upstreams) if (!healthy.has(url)) healthy.set(url, false);
    },
    async waitUntilHealthy(url) {
      if (healthy.get(url) === true) return;
      await once(events, `healthy:${url}`);
    },
    get retries() {
      return retries;
    },
    async close() {
      clearInterval(timer);
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
