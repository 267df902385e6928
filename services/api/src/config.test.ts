import { describe, expect, it } from "vitest";
import { loadApiConfig } from "./config";

const valid = {
  ENVIRONMENT: "test",
  DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/paimon",
  METRICS_DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/paimon",
  REDIS_URL: "redis://127.0.0.1:6379",
  JWT_SECRET: "a-secret-that-is-at-least-32-characters-long",
};

describe("the API's configuration", () => {
  it("when the response cache's settings are absent, then it re-checks every second and reconnects within 10 s", () => {
    expect(loadApiConfig(valid)).toMatchObject({
      RESPONSE_CACHE_RECHECK_MS: 1_000,
      COMMIT_SIGNAL_RECONNECT_MAX_MS: 10_000,
    });
  });

  it("when they are out of range or not numbers, then it refuses, naming each", () => {
    expect(() =>
      loadApiConfig({ ...valid, RESPONSE_CACHE_RECHECK_MS: "0", COMMIT_SIGNAL_RECONNECT_MAX_MS: "soon" }),
    ).toThrow(/RESPONSE_CACHE_RECHECK_MS: .*; COMMIT_SIGNAL_RECONNECT_MAX_MS: must be a number, not "soon"/);
  });
});
