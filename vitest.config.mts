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
    // Two files at a time on the project's 2-core machines (vitest's default leaves one core
    // idle): most suites wait on PostgreSQL, Redis, a devnet's blocks or a child process, and
    // every wait is bounded for a loaded machine, so two share the cores well.
    maxWorkers: 2,
    // Tests that plan a stack start a fresh Node process for it; that takes seconds on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
