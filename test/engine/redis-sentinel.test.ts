// The redis engine through real Sentinels: it finds the master they name, follows it through a
// failover (the replica promoted, the old master turned replica) without a restart, and refuses
// a master name they do not know at open instead of retrying it as an outage. A master, its
// replica and one Sentinel of the test's own (test/engine/redis-servers.ts).
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Entry } from "../../src/engine/engine.js"
import { follow } from "../../src/engine/follow.js"
import { START } from "../../src/engine/position.js"
import { openRedisEngine, RedisSetupError } from "../../src/engine/redis.js"
import type { Logger } from "../../src/logger.js"
import {
  type RedisSentinelSet,
  redisServerInstalled,
  replicaCaughtUp,
  STRICT,
  startSentinelSet,
  waitFor,
} from "./redis-servers.js"

const installed = await redisServerInstalled()
const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} }

describe.skipIf(!installed && !STRICT)("redis engine through Sentinels", () => {
  let set: RedisSentinelSet
  const keyPrefix = `herald-test-sentinel-${process.pid}`

  beforeAll(async () => {
    set = await startSentinelSet()
  }, 30_000)

  afterAll(async () => {
    await set?.destroy()
  })

  it("has redis-server installed (HERALD_TEST_STRICT=1)", () => {
    expect(installed).toBe(true)
  })

  it("refuses a master name the Sentinels do not know at open, naming the setting", async () => {
    const opening = openRedisEngine({
      sentinels: [set.sentinel],
      name: "no-such-master",
      keyPrefix,
      settingNames: { sentinelName: "--redis-sentinel-name" },
      logger: quiet,
    })
    await expect(opening).rejects.toBeInstanceOf(RedisSetupError)
    await expect(opening).rejects.toThrow(
      /^redis engine: Redis at master "no-such-master" is not a master the Sentinels know: give the name they monitor in --redis-sentinel-name/,
    )
  })

  it("writes to the master the Sentinels name, and goes on with the promoted replica after a failover", async () => {
    const options = { sentinels: [set.sentinel], name: set.name, keyPrefix, logger: quiet }
    const writer = await openRedisEngine(options)
    // Another node, following the log live through the failover.
    const reader = await openRedisEngine(options)
    const seen: Entry[] = []
    let ended: string | undefined
    try {
      expect(await set.masterPort()).toBe(set.master.port)
      for (let i = 0; i < 5; i++) await writer.append("log", [{ data: `before ${i}` }], { create: {} })
      const follower = await follow(reader, "log", START, {
        onEnd: (reason) => {
          ended = reason
        },
      })
      await follower.start(
        (entry) => seen.push(entry) > 0,
        async () => {},
      )
      // Nothing acknowledged is lost to the failover: the replica has every write first.
      await replicaCaughtUp(`redis://127.0.0.1:${set.master.port}`, `redis://127.0.0.1:${set.replica.port}`)

      const sentinel = new Redis({ ...set.sentinel, maxRetriesPerRequest: 0 })
      sentinel.on("error", () => {})
      try {
        expect(await sentinel.call("SENTINEL", "FAILOVER", set.name)).toBe("OK")
      } finally {
        sentinel.disconnect()
      }
      await waitFor(
        async () => (await set.masterPort()) === set.replica.port,
        "the replica's promotion",
        15_000,
      )

      // Calls may be refused while the engine moves (an outage, never a false success); then
      // they land on the new master.
      let after = 0
      const deadline = Date.now() + 15_000
      while (after < 5 && Date.now() < deadline) {
        try {
          await writer.append("log", [{ data: `after ${after}` }])
          after++
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
      expect(after).toBe(5)

      const read = await writer.read("log", START, 100)
      expect(read.held).toBe(true)
      const datas = read.held ? read.entries.map((entry) => entry.data) : []
      const expected = [
        ...Array.from({ length: 5 }, (_, i) => `before ${i}`),
        ...Array.from({ length: 5 }, (_, i) => `after ${i}`),
      ]
      expect(datas).toEqual(expected)
      expect(read.held && read.entries.map((entry) => entry.seq)).toEqual(expected.map((_, i) => i + 1))

      // The other node's follower got every entry once, in order, across the move.
      await waitFor(() => seen.length >= expected.length || ended !== undefined, "the follower", 15_000)
      expect(ended).toBeUndefined()
      expect(seen.map((entry) => entry.data)).toEqual(expected)
      follower.stop()
    } finally {
      await writer.close()
      await reader.close()
    }
  }, 60_000)
})
