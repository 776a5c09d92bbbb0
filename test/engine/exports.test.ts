// herald/engine (src/engine/index.ts) exports every engine, yet importing it loads no driver:
// ioredis and better-sqlite3 are optional dependencies, required only when an engine that needs
// one is created.
import { createRequire } from "node:module"
import { expect, it } from "vitest"

const require = createRequire(import.meta.url)

/** Whether Node has loaded a file of the package `name`. */
function loaded(name: string): boolean {
  return Object.keys(require.cache).some((path) => path.includes(`/node_modules/${name}/`))
}

it("loads neither ioredis nor better-sqlite3 on import, each once its engine is created", async () => {
  // Nothing else in this file's process loaded them (vitest isolates test files).
  expect(loaded("ioredis")).toBe(false)
  expect(loaded("better-sqlite3")).toBe(false)

  const engine = await import("../../src/engine/index.js")
  expect(loaded("ioredis")).toBe(false)
  expect(loaded("better-sqlite3")).toBe(false)

  const sqlite = engine.createSqliteEngine({ path: ":memory:" })
  await sqlite.close()
  expect(loaded("better-sqlite3")).toBe(true)
  expect(loaded("ioredis")).toBe(false)

  // No Redis needs to answer: the engine connects in the background.
  const redis = engine.createRedisEngine({ url: "redis://127.0.0.1:6379", keyPrefix: "herald-exports-test" })
  expect(engine.hasHealth(redis)).toBe(true)
  await redis.close()
  expect(loaded("ioredis")).toBe(true)
  expect(new engine.EngineUnavailableError("down")).toBeInstanceOf(Error)
})
