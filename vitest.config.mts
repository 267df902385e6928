import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "infra/**/*.test.ts",
      "services/**/*.test.ts",
      "monitoring/**/*.test.ts",
      "scripts/**/*.test.ts",
      "tools/**/*.test.ts",
    ],
    // The Pulumi runtime keeps global state: every test file gets its own process.
    pool: "forks",
    // Tests that plan a stack start a fresh Node process for it; that takes seconds on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
