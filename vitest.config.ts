import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/fast-check.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Most test time is waiting on simulators and the database over loopback, not CPU: more files at
    // once than cores keeps a 2-core CI machine busy (no test has a wall-clock threshold).
    maxWorkers: 4,
    reporters: ["default"],
  },
});
