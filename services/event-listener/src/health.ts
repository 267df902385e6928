/**
 * The listener's health and metrics on HEALTH_PORT (8001): `/health` answers while the process
 * serves; `/health/ready` only for the active writer that is following — not a standby waiting
 * for the lock, not a follower halted on a deep reorganisation, not one lagging more than
 * MAX_HEAD_LAG_BLOCKS behind the head or whose last step is older than a few poll intervals.
 */
import http from "node:http";
import type { Registry } from "prom-client";
import type { FollowerStatus } from "./follower";

export type Role = "starting" | "standby" | "writer" | "stopping";

export interface HealthState {
  role(): Role;
  follower(): FollowerStatus | undefined;
}

export function readiness(
  state: HealthState,
  options: { readonly maxHeadLagBlocks: number; readonly maxStepAgeMs: number; readonly now?: () => number },
): { ready: boolean; problems: Record<string, string> } {
  const problems: Record<string, string> = {};
  const role = state.role();
  if (role !== "writer") problems["role"] = role;
  const status = state.follower();
  if (role === "writer") {
    if (!status || status.lastStepAt === undefined) problems["sync"] = "no block processed yet";
    else {
      if (status.halted !== undefined) problems["halted"] = status.halted;
      const age = (options.now ?? Date.now)() - status.lastStepAt;
      if (age > options.maxStepAgeMs) problems["sync"] = `last step ${String(Math.round(age / 1000))} s ago`;
      if (status.head !== undefined && status.processed !== undefined) {
        const lag = status.head - status.processed;
        if (lag > BigInt(options.maxHeadLagBlocks)) problems["lag"] = `${lag.toString()} blocks behind the head`;
      }
    }
  }
  return { ready: Object.keys(problems).length === 0, problems };
}

export function createHealthServer(options: {
  readonly state: HealthState;
  readonly registry: Registry;
  readonly maxHeadLagBlocks: number;
  readonly maxStepAgeMs: number;
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
      reply(200, { status: "ok", role: options.state.role() });
    } else if (path === "/health/ready") {
      const { ready, problems } = readiness(options.state, options);
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
