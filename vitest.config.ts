import { defineConfig } from "vitest/config";

// Each test file runs in its own child process (chDB allows one engine per process), and no
// more than two at once: the machine has 2 cores and several suites start real daemons.
export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    pool: "forks",
    isolate: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    globalSetup: ["tests/setup/global.ts"],
  },
});
