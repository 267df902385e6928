/**
 * The listener's health and metrics on HEALTH_PORT (8001). `/health` answers 200 while the process
 * serves — it rides out every outage of its dependencies on its own, so a restart would not help —
 * with its role and, when something is wrong, the reason. `/health/ready` is 200 only for the
 * active writer that is following with everything it needs: not a standby (waiting for the lock,
 * or for a database it cannot reach), not a follower halted on a deep reorganisation, whose last
 * step failed (the node unreachable or not answering, a database error), that cannot hand work
 * to Redis, that lags more than MAX_HEAD_LAG_BLOCKS behind the head, or whose last step is older
 * than a few poll intervals. The 503's checks name each cause.
 */
import type http from "node:http";
import { createHealthServer } from "@paimon/core/health-server";
import type { Registry } from "prom-client";
import type { FollowerStatus } from "./follower";

export type Role = "starting" | "standby" | "writer" | "stopping";

export interface HealthState {
  role(): Role;
  /** Why the listener is not the writer now (another instance is, or the database is unreachable). */
  reason(): string | undefined;
  follower(): FollowerStatus | undefined;
}

export function readiness(
  state: HealthState,
  options: { readonly maxHeadLagBlocks: number; readonly maxStepAgeMs: number; readonly now?: () => number },
): { ready: boolean; problems: Record<string, string> } {
  const problems: Record<string, string> = {};
  const role = state.role();
  if (role !== "writer") {
    problems["role"] = role;
    const reason = state.reason();
    if (reason !== undefined) problems["reason"] = reason;
  }
  const status = state.follower();
  if (role === "writer") {
    if (status?.failure !== undefined) problems[status.failure.source] = status.failure.message;
    if (!status || status.lastStepAt === undefined) problems["sync"] ??= "no block processed yet";
    else {
      if (status.halted !== undefined) problems["halted"] = status.halted;
      const age = (options.now ?? Date.now)() - status.lastStepAt;
      if (age > options.maxStepAgeMs) problems["sync"] = `last step ${String(Math.round(age / 1000))} s ago`;
      if (status.head !== undefined && status.processed !== undefined) {
        const lag = status.head - status.processed;
        if (lag > BigInt(options.maxHeadLagBlocks)) problems["lag"] = `${lag.toString()} blocks behind the head`;
      }
    }
    if (status?.redis !== undefined) problems["redis"] = status.redis;
  }
  return { ready: Object.keys(problems).length === 0, problems };
}

/** What `/health` says beside `status: "ok"`: the role, and what is wrong if anything is. */
export function describeHealth(
  state: HealthState,
  options: { readonly maxHeadLagBlocks: number; readonly maxStepAgeMs: number; readonly now?: () => number },
): { role: Role; reason?: string } {
  const role = state.role();
  if (role !== "writer") {
    const reason = state.reason();
    return reason === undefined ? { role } : { role, reason };
  }
  const { problems } = readiness(state, options);
  const reasons = Object.entries(problems).map(([check, problem]) => `${check}: ${problem}`);
  return reasons.length === 0 ? { role } : { role, reason: reasons.join("; ") };
}

/** The listener's health server: the shared one, with the listener's readiness. */
export function createListenerHealthServer(options: {
  readonly state: HealthState;
  readonly registry: Registry;
  readonly maxHeadLagBlocks: number;
  readonly maxStepAgeMs: number;
}): http.Server {
  return createHealthServer({
    registry: options.registry,
    readiness: () => readiness(options.state, options),
    describe: () => describeHealth(options.state, options),
  });
}
