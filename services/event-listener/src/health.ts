/**
 * The listener's health and metrics on HEALTH_PORT (8001): `/health` answers while the process
 * serves; `/health/ready` only for the active writer that is following — not a standby waiting
 * for the lock, not a follower halted on a deep reorganisation, not one lagging more than
 * MAX_HEAD_LAG_BLOCKS behind the head or whose last step is older than a few poll intervals.
 */
import type http from "node:http";
import { createHealthServer } from "@paimon/core/health-server";
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
    describe: () => ({ role: options.state.role() }),
  });
}
