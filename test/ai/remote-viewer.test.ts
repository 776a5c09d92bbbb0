// A viewer on another node than the generation's keeps it from being stopped for a disconnect
// (docs/ai.md, "Disconnect is not cancel"), also when the `ai.viewer` signal that tells its node
// is lost: signals are at most once, and Redis drops its subscribers (past
// `client-output-buffer-limit pubsub`, in a failover, a network blip) with what they missed.
import { setTimeout as sleep } from "node:timers/promises"
import { Redis } from "ioredis"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { DisconnectGrace } from "../../src/ai/disconnect-grace.js"
import type { Entry } from "../../src/ai/entries.js"
import { createGenerations, type Generations, VIEWER_SIGNAL } from "../../src/ai/generations.js"
import type { Provider } from "../../src/ai/provider.js"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createRedisEngine } from "../../src/engine/redis.js"
import { type RedisServer, redisServerInstalled, STRICT, startRedis } from "../engine/redis-servers.js"
import { recordingLogger } from "../server/helpers.js"
import { META, REQUEST } from "./generation-fixtures.js"

/** A slow upstream: a text delta every 5 ms until aborted. */
const slow: Provider = {
  kind: "test",
  async *stream(_request, signal) {
    for (let index = 0; ; index++) {
      await sleep(5, undefined, { signal })
      yield { type: "text-delta", text: `t${index} ` } satisfies Entry
    }
  },
}

let generations: Generations[] = []
let engines: Engine[] = []
afterEach(async () => {
  await Promise.all(generations.map((each) => each.close({ deadlineMs: 0 })))
  await Promise.all(engines.map((engine) => engine.close()))
  generations = []
  engines = []
})

function generationsOn(engine: Engine, disconnectGraceMs?: number): Generations {
  engines.push(engine)
  const created = createGenerations({
    engine,
    logger: recordingLogger(),
    ...(disconnectGraceMs === undefined ? {} : { disconnectGraceMs }),
  })
  generations.push(created)
  return created
}

const installed = await redisServerInstalled()

describe.skipIf(!installed && !STRICT)("a viewer on another node while the signals are down", () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(() => redis.destroy())

  for (const graceMs of [0, 300]) {
    it(`keeps the generation running when its creator leaves (disconnect grace ${graceMs} ms)`, async () => {
      const keyPrefix = `viewer-${graceMs}`
      const running = generationsOn(createRedisEngine({ url: redis.url, keyPrefix }), graceMs)
      const viewing = generationsOn(createRedisEngine({ url: redis.url, keyPrefix }))
      const run = await running.start({ provider: slow, request: REQUEST, meta: META })
      const creatorLeaves = run.attachViewer()
      await run.started
      // What Redis does to a subscriber past its output buffer limit: the running node's signals
      // are lost until it has subscribed again.
      const admin = new Redis(redis.url)
      try {
        expect(await admin.client("KILL", "TYPE", "pubsub")).toBeGreaterThanOrEqual(1)
      } finally {
        admin.disconnect()
      }
      const viewerLeaves = viewing.watch(run.id)
      await sleep(200)
      creatorLeaves()
      await sleep(graceMs + 300)
      expect(run.running).toBe(true)
      viewerLeaves()
    })
  }
})

describe("the viewers of a generation on another node", () => {
  it("tell its node once per node, however many they are", async () => {
    const engine = createMemoryEngine()
    const running = generationsOn(engine)
    const signals: string[] = []
    const creates: string[] = []
    const viewerEngine = new Proxy(engine, {
      get(target, name) {
        if (name === "signal")
          return (signal: Parameters<Engine["signal"]>[0]) => {
            signals.push(signal.topic)
            return target.signal(signal)
          }
        if (name === "create")
          return (log: string, config: Parameters<Engine["create"]>[1]) => {
            creates.push(log)
            return target.create(log, config)
          }
        return Reflect.get(target, name, target).bind(target)
      },
    })
    const viewing = createGenerations({ engine: viewerEngine, logger: recordingLogger() })
    generations.push(viewing)
    const run = await running.start({ provider: slow, request: REQUEST, meta: META })
    const leaves = [viewing.watch(run.id), viewing.watch(run.id), viewing.watch(run.id)]
    await sleep(20)
    expect(signals).toEqual([VIEWER_SIGNAL])
    expect(creates).toHaveLength(1)
    for (const leave of leaves) leave()
  })
})

describe("a disconnect grace that is over", () => {
  it("stops the generation only when no viewer came while the mark was looked for", async () => {
    let stops = 0
    const answers: ((watched: boolean) => void)[] = []
    const grace = new DisconnectGrace(
      0,
      () => stops++,
      () => new Promise((resolve) => answers.push(resolve)),
    )
    grace.attach()()
    // A viewer came back here and left again while the store was asked: its own departure decides.
    grace.attach()()
    answers[0]?.(false)
    await sleep(0)
    expect(stops).toBe(0)
    answers[1]?.(false)
    await sleep(0)
    expect(stops).toBe(1)
    // A mark found: never stopped for a disconnect again.
    grace.attach()()
    answers[2]?.(true)
    await sleep(0)
    grace.attach()()
    expect(answers).toHaveLength(3)
    expect(stops).toBe(1)
  })
})
