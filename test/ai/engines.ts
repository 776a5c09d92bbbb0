// The engines the AI suites run on: memory, sqlite (a file, as `herald serve` runs it) and redis
// (the shared Redis, a key prefix per engine). Whoever opens an engine closes it.
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createRedisEngine } from "../../src/engine/redis.js"
import { createSqliteEngine } from "../../src/engine/sqlite.js"
import { deleteKeys, redisAnswers, SHARED_REDIS_URL, STRICT } from "../engine/redis-servers.js"

/** An engine a suite is run on. */
export interface EngineKind {
  readonly name: string
  /** False only when its server does not answer outside HERALD_TEST_STRICT=1: its tests are skipped. */
  readonly available: boolean
  /** A new engine on a store of its own. */
  open(): Engine
  /** The engine another node has on the same store as `engine`. */
  nodeBeside(engine: Engine): Engine
}

/**
 * The three engine kinds for the calling test file, whose stores (sqlite files, redis keys) are
 * deleted after its tests.
 */
export async function testEngines(suite: string): Promise<readonly EngineKind[]> {
  const sqliteRoot = mkdtempSync(join(tmpdir(), `herald-${suite}-test-`))
  let sqliteFiles = 0
  const run = `herald-${suite}-test-${randomBytes(4).toString("hex")}`
  const redisUp = await redisAnswers(SHARED_REDIS_URL)
  const redisPrefixes = new WeakMap<Engine, string>()
  let redisEngines = 0
  afterAll(async () => {
    rmSync(sqliteRoot, { recursive: true, force: true })
    if (redisUp) await deleteKeys(SHARED_REDIS_URL, run)
  })
  return [
    {
      name: "memory",
      available: true,
      open: () => createMemoryEngine(),
      // A memory store lives in its engine: nodes on one store share the engine.
      nodeBeside: (engine) => engine,
    },
    {
      name: "sqlite",
      available: true,
      open: () => createSqliteEngine({ path: join(sqliteRoot, `${++sqliteFiles}.db`) }),
      // One process per file (sqlite-lock.ts), and signals stay in it: nodes on one file share its engine.
      nodeBeside: (engine) => engine,
    },
    {
      name: "redis",
      available: redisUp || STRICT,
      open() {
        // Under HERALD_TEST_STRICT=1 a missing Redis fails each test at once, not at its timeout.
        if (!redisUp) throw new Error(`no Redis answers at ${SHARED_REDIS_URL}`)
        const keyPrefix = `${run}-${++redisEngines}`
        const engine = createRedisEngine({ url: SHARED_REDIS_URL, keyPrefix })
        redisPrefixes.set(engine, keyPrefix)
        return engine
      },
      nodeBeside: (engine) =>
        createRedisEngine({ url: SHARED_REDIS_URL, keyPrefix: redisPrefixes.get(engine) as string }),
    },
  ]
}
