import { describe, expect, it } from "vitest";
import { baseEnvSchema, loadConfig } from "./config";
import { AppError } from "./errors";

const valid = {
  ENVIRONMENT: "staging",
  DATABASE_URL: "postgresql://paimon@db:5432/paimon",
  REDIS_URL: "rediss://:token@cache:6379",
};

describe("loadConfig", () => {
  it("when the environment is complete, then it returns a frozen config with defaults", () => {
    const config = loadConfig(baseEnvSchema, valid);
    expect(config).toEqual({ ...valid, LOG_LEVEL: "info", DATABASE_POOL_SIZE: 10, REDIS_CLUSTER: false });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("when variables are missing or malformed, then every one is named at once", () => {
    let error: unknown;
    try {
      loadConfig(baseEnvSchema, { ENVIRONMENT: "prod", REDIS_URL: "http://cache" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AppError);
    const message = (error as AppError).message;
    expect(message).toContain("ENVIRONMENT:");
    expect(message).toContain("DATABASE_URL: missing");
    expect(message).toContain("REDIS_URL: must be a redis:// or rediss:// URL");
    expect((error as AppError).code).toBe("invalid_configuration");
  });
});
