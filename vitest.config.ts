import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests open real sockets and a real browser; give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
