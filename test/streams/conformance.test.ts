// The official Durable Streams conformance suite on every engine: memory, sqlite (a file in a
// temp directory of this run) and redis (the shared Redis at 127.0.0.1:6379, under a key prefix
// of this run, deleted afterwards; under HERALD_TEST_STRICT=1 a missing Redis fails the run).
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createRedisEngine } from "../../src/engine/redis.js"
import { createSqliteEngine } from "../../src/engine/sqlite.js"
import { deleteKeys, redisAnswers, SHARED_REDIS_URL, STRICT } from "../engine/redis-servers.js"
import { describeConformance } from "./conformance.js"

const dir = mkdtempSync(join(tmpdir(), "herald-conformance-"))
const keyPrefix = `herald-conformance-${randomBytes(4).toString("hex")}`
const redisUp = await redisAnswers(SHARED_REDIS_URL)

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  if (redisUp) await deleteKeys(SHARED_REDIS_URL, keyPrefix)
})

describeConformance("the memory engine", () => createMemoryEngine())

describeConformance("the sqlite engine", () => createSqliteEngine({ path: join(dir, "streams.db") }))

describe.skipIf(!redisUp && !STRICT)("on Redis", () => {
  it.runIf(STRICT)("has a Redis at the shared URL (HERALD_TEST_STRICT=1)", () => {
    expect(redisUp, `no Redis answers at ${SHARED_REDIS_URL}`).toBe(true)
  })
  describeConformance("the redis engine", () => createRedisEngine({ url: SHARED_REDIS_URL, keyPrefix }))
})
