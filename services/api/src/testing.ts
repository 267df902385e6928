import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { PassThrough } from "node:stream";
import { createTestDatabase, type TestDatabase } from "@paimon/core/testing";
import { spawnService } from "@paimon/core/testing/service-process";
import { afterAll, beforeAll } from "vitest";
import { createLogger } from "@paimon/core/logger";
import Ajv2020 from "ajv/dist/2020";
import type { Registry } from "prom-client";
import { createApp, type AppDeps } from "./app";
import { createApiMetrics } from "./metrics";
import { openApiDocument } from "./openapi";

/** The JWT secret of test apps. */
export const TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256";

/**
 * An app for a test, on the test's own database and Redis: a silent logger, its own metrics
 * registry, readiness not tied to the chain, a rate limit counted over an hour (no test's requests
 * outlast it, however slow the machine), and whatever the test overrides.
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
    rateLimitWindowMs: 3_600_000,
    ...deps,
  });
  return { app, registry: deps.registry ?? registry };
}

/** A JSON pointer's segment, as a URI fragment (`/v1/x/{id}` → `~1v1~1x~1%7Bid%7D`). */
const pointer = (segment: string) => encodeURIComponent(segment.replaceAll("~", "~0").replaceAll("/", "~1"));

/**
 * Checks a response against the OpenAPI document: its status must be one the operation documents,
 * and its JSON body must match that response's schema (JSON Schema 2020-12, as OpenAPI 3.1 says).
 * Throws naming every mismatch.
 */
export function openApiChecker(): (
  operation: { readonly method: "get" | "post"; readonly path: string },
  response: { readonly status: number; readonly body: unknown },
) => void {
  const document = openApiDocument();
  // Strict mode would refuse the document's own keywords (paths, parameters) around the schemas.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat("uuid", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat(
    "date-time",
    (value: string) => /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)),
  );
  ajv.addSchema(document, "openapi");
  return (operation, response) => {
    const responses = (
      document["paths"] as Record<string, Record<string, { responses?: Record<string, unknown> }> | undefined>
    )[operation.path]?.[operation.method]?.responses;
    if (!responses) throw new Error(`the document has no ${operation.method} ${operation.path}`);
    if (!(String(response.status) in responses))
      throw new Error(`${operation.method} ${operation.path} does not document status ${response.status}`);
    const ref = `openapi#/paths/${pointer(operation.path)}/${operation.method}/responses/${response.status}/content/application~1json/schema`;
    const validate = ajv.getSchema(ref);
    if (!validate) throw new Error(`no schema at ${ref}`);
    if (!validate(response.body))
      throw new Error(
        `${operation.method} ${operation.path} ${response.status} does not match the document: ${ajv.errorsText(validate.errors, { separator: "; " })}`,
      );
  };
}

/**
 * The API as a real process (`bin.ts` through tsx), for a test file: its own database holding one
 * fund snapshot, created before the file's tests and dropped after them, and every process it
 * started killed at the end, pass or fail. Call it at the top of the file; it registers its hooks.
 */
export function apiProcesses() {
  let database: TestDatabase | undefined;
  const spawned = new Set<ChildProcess>();
  beforeAll(async () => {
    database = await createTestDatabase();
    await database.db
      .insertInto("fund_snapshots")
      .values({
        recorded_at: new Date(),
        block_number: "4200",
        nav: "1000000",
        l1_value: "100000",
        l2_value: "300000",
        l3_value: "600000",
      })
      .execute();
  });
  afterAll(async () => {
    for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await database?.drop();
  });
  return {
    get database(): TestDatabase {
      if (!database) throw new Error("the API's test database exists only inside the file's tests");
      return database;
    },
    start(env: Record<string, string>) {
      const service = spawnService(["--import", "tsx", path.join(__dirname, "bin.ts")], {
        cwd: path.resolve(__dirname, "..", "..", ".."),
        env,
      });
      spawned.add(service.child);
      return service;
    },
  };
}
