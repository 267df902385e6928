import { PassThrough } from "node:stream";
import { createLogger } from "@paimon/core/logger";
import type { Registry } from "prom-client";
import { createApp, type AppDeps } from "./app";
import { createApiMetrics } from "./metrics";

/** The JWT secret of test apps. */
export const TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256";

/**
 * An app for a test, on the test's own database and Redis: a silent logger, its own metrics
 * registry, readiness not tied to the chain, and whatever the test overrides.
 */
export function createTestApp(deps: Pick<AppDeps, "db" | "metricsDb" | "redis"> & Partial<AppDeps>): {
  app: ReturnType<typeof createApp>;
  registry: Registry;
} {
  const { registry, metrics } = createApiMetrics({ defaultMetrics: false });
  const app = createApp({
    logger: createLogger({ service: "paimon-api", environment: "test", stream: new PassThrough() }),
    registry,
    metrics,
    maxChainSyncAgeSeconds: 0,
    accepting: () => true,
    jwtSecret: TEST_JWT_SECRET,
    ...deps,
  });
  return { app, registry: deps.registry ?? registry };
}
