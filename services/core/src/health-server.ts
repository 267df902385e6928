/**
 * A background service's health and metrics over plain HTTP: `/health` answers while the process
 * serves, `/health/ready` answers 200 or 503 with what is wrong, `/metrics` is the service's own
 * registry. Each service says what readiness means for it.
 */
import http from "node:http";
import type { Registry } from "prom-client";

export interface Readiness {
  readonly ready: boolean;
  /** What is wrong, by check: shown in the 503 body. */
  readonly problems: Readonly<Record<string, string>>;
}

export function createHealthServer(options: {
  readonly registry: Registry;
  readonly readiness: () => Readiness;
  /** Extra fields of the `/health` body (a role, a worker's name). */
  readonly describe?: () => Record<string, unknown>;
}): http.Server {
  return http.createServer((request, response) => {
    const reply = (status: number, body: unknown, type = "application/json") => {
      response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      response.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET") {
      reply(405, { error: { code: "method_not_allowed", message: "GET only" } });
      return;
    }
    if (path === "/health") {
      reply(200, { status: "ok", ...options.describe?.() });
    } else if (path === "/health/ready") {
      const { ready, problems } = options.readiness();
      reply(ready ? 200 : 503, ready ? { status: "ready" } : { status: "unready", checks: problems });
    } else if (path === "/metrics") {
      options.registry.metrics().then(
        (text) => {
          reply(200, text, options.registry.contentType);
        },
        (error: unknown) => {
          reply(500, { error: { code: "metrics_failed", message: String(error) } });
        },
      );
    } else {
      reply(404, { error: { code: "not_found", message: `no route ${String(path)}` } });
    }
  });
}

/** Stops accepting, closes every open connection and resolves once the server is closed. */
export async function closeServer(server: http.Server): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  server.closeAllConnections();
  await closed;
}
