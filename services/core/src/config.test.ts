import { describe, expect, it } from "vitest";
import { z } from "zod";
import { baseEnvSchema, envNumber, loadConfig } from "./config";
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

  it("when a number is empty, not a number, or out of range, then it is refused by name, never read as 0 or as missing", () => {
    const schema = baseEnvSchema.extend({
      PORT: envNumber(z.number().int().min(0).max(65535)).default(8000),
      FINALITY_DEPTH: envNumber(z.number().int().min(0)).default(3),
      RATIO: envNumber(z.number().min(0).max(1)).default(0.5),
    });
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(schema, { ...valid, ...env });
        return [];
      } catch (error) {
        return ((error as AppError).details as { problems: string[] }).problems;
      }
    };
    expect(problems({ PORT: "", FINALITY_DEPTH: " " })).toEqual([
      'PORT: must be a number, not ""',
      'FINALITY_DEPTH: must be a number, not " "',
    ]);
    expect(problems({ PORT: "abc" })).toEqual(['PORT: must be a number, not "abc"']);
    expect(problems({ PORT: "0x10", RATIO: "1e-1" })).toEqual([
      'PORT: must be a number, not "0x10"',
      'RATIO: must be a number, not "1e-1"',
    ]);
    expect(problems({ PORT: "70000" })).toEqual([expect.stringMatching(/^PORT: Too big/)]);
    expect(problems({ PORT: "8.5" })).toEqual([expect.stringMatching(/^PORT: .*int/i)]);
    const config = loadConfig(schema, { ...valid, PORT: " 8080 ", RATIO: ".25" });
    expect([config.PORT, config.FINALITY_DEPTH, config.RATIO]).toEqual([8080, 3, 0.25]);
  });
});
