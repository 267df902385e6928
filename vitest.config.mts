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
    // Three files at a time on the project's 2-core machines (vitest's default leaves one core
    // idle): most suites wait on PostgreSQL, Redis, a devnet's blocks, a child process or a
    // timeout under test, and every wait is bounded for a loaded machine (the suites pass beside a
    // CPU load of 12–20), so a third file uses the time the other two spend waiting.
    maxWorkers: 3,
    // Tests that plan a stack start a fresh Node process for it; that takes seconds on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
