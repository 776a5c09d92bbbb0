import { defineConfig } from "vitest/config"

// Two projects. `unit` runs files in parallel. `processes` holds the tests that start other
// processes (herald serve, nginx, Redis, Chromium) — named `*.process.test.ts` — one file at a
// time: on a 2-core machine parallel browsers and hubs starve each other into timeouts.
const PROCESS_TESTS = "test/**/*.process.test.ts"

export default defineConfig({
  test: {
    // Integration tests open real sockets and a real browser; give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/**/*.test.ts"], exclude: [PROCESS_TESTS] },
      },
      {
        extends: true,
        test: { name: "processes", include: [PROCESS_TESTS], fileParallelism: false },
      },
    ],
  },
})
