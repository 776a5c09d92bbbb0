// A store that loses the hub's log under open subscribers (a Redis restarted without persistence,
// here also the memory engine's log deleted): the subscribers are told (herald-id-too-old) and
// get, in the same stream, every update stored after the log started over, once each. A log not
// made yet (before the first publish; a memory engine after every restart) lost nothing: a
// subscriber asking for `earliest` gets the log from its first update, with no such event.

import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import type { Engine, Entry } from "../../src/engine/engine.js"
import { type FollowEnd, follow } from "../../src/engine/follow.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { START } from "../../src/engine/position.js"
import { createRedisEngine } from "../../src/engine/redis.js"
import { createSqliteEngine } from "../../src/engine/sqlite.js"
import { DEFAULT_HUB_LOG } from "../../src/hub/update-log.js"
import {
  deleteKeys,
  type RedisServer,
  redisAnswers,
  redisServerInstalled,
  SHARED_REDIS_URL,
  STRICT,
  startRedis,
} from "../engine/redis-servers.js"
import {
  type LogEntry,
  openStream,
  recordingLogger,
  type StreamReader,
  waitUntil,
} from "../server/helpers.js"
import { publish, startHub, subscribeUrl, type TestHub, token } from "./hub-helpers.js"

const serverInstalled = await redisServerInstalled()
const sharedRedisUp = await redisAnswers(SHARED_REDIS_URL)
const RUN = `herald-restart-${randomBytes(4).toString("hex")}`
const root = mkdtempSync(join(tmpdir(), "herald-store-restart-"))
afterAll(async () => {
  rmSync(root, { recursive: true, force: true })
  if (sharedRedisUp) await deleteKeys(SHARED_REDIS_URL, RUN)
})

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function hubOn(engine: Engine, logger = recordingLogger()): Promise<TestHub> {
  const hub = await startHub({ engine, allowAnonymousSubscribe: true, logger })
  cleanups.push(() => hub.close())
  return hub
}

async function subscribe(hub: TestHub, lastEventId?: string): Promise<StreamReader> {
  const params: Array<[string, string]> = [["match", "t"]]
  if (lastEventId !== undefined) params.push(["last_event_id", lastEventId])
  const stream = await openStream(subscribeUrl(hub.hubUrl, params))
  expect(stream.status).toBe(200)
  cleanups.push(async () => stream.close())
  return stream
}

/** Publishes `id` on topic `t` until the hub acknowledges it (it answers 503 while its store is away). */
async function publishAcknowledged(hub: TestHub, id: string): Promise<void> {
  const bearer = await token(hub.hubUrl, { publish: ["*"] })
  for (let attempt = 0; attempt < 200; attempt++) {
    const response = await publish(hub.hubUrl, { topic: "t", data: `data of ${id}`, id }, bearer)
    if (response.status === 200) return
    expect(response.status).toBe(503)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${id} was never acknowledged`)
}

/** The stream's events as `type id` lines (`herald-id-too-old <lastEventId>` for the loss). */
function seen(stream: StreamReader): string[] {
  return stream.events.map((event) =>
    event.type === "herald-id-too-old"
      ? `${event.type} ${(JSON.parse(event.data) as { lastEventId: string }).lastEventId}`
      : `${event.type} ${event.lastEventId}`,
  )
}

const warnings = (entries: readonly LogEntry[]) =>
  entries.filter((entry) => entry.level === "warn" || entry.level === "error")

describe("a hub whose log is deleted under its subscribers (memory engine)", () => {
  it("tells each open subscriber, and goes on in the same stream with every update stored since, once each", async () => {
    const engine = createMemoryEngine()
    cleanups.push(() => engine.close())
    const logger = recordingLogger()
    const hub = await hubOn(engine, logger)
    await publishAcknowledged(hub, "old-1")
    const live = await subscribe(hub)
    const resumed = await subscribe(hub, "earliest")
    await publishAcknowledged(hub, "old-2")
    await live.waitForEvents(1)
    await resumed.waitForEvents(2)

    await engine.delete(DEFAULT_HUB_LOG)
    for (const id of ["new-1", "new-2", "new-3"]) await publishAcknowledged(hub, id)
    await live.waitForEvents(5)
    await resumed.waitForEvents(6)
    const after = ["herald-id-too-old old-2", "message new-1", "message new-2", "message new-3"]
    expect(seen(live)).toEqual(["message old-2", ...after])
    expect(seen(resumed)).toEqual(["message old-1", "message old-2", ...after])
    expect(hub.hub.connections).toBe(2)

    await waitUntil(
      () => warnings(logger.entries).length > 0,
      () => undefined,
    )
    expect(warnings(logger.entries)).toEqual([
      expect.objectContaining({ fields: { subscribers: 2 }, message: expect.stringMatching(/started over/) }),
    ])
  })
})

describe.skipIf(!serverInstalled && !STRICT)("hubs on a Redis restarted empty", () => {
  it("give the subscribers of every node every update acknowledged after Redis is back, once each, after herald-id-too-old", async () => {
    const redis: RedisServer = await startRedis({ aof: false })
    cleanups.push(() => redis.destroy())
    const keyPrefix = `herald-restart-${randomBytes(4).toString("hex")}`
    const nodes: TestHub[] = []
    for (let i = 0; i < 2; i++) {
      const engine = createRedisEngine({
        url: redis.url,
        keyPrefix,
        connectWaitMs: 300,
        commandTimeoutMs: 1000,
        logger: recordingLogger(),
      })
      cleanups.push(() => engine.close())
      nodes.push(await hubOn(engine))
    }
    const [one, two] = nodes as [TestHub, TestHub]
    for (const id of ["old-1", "old-2"]) await publishAcknowledged(one, id)
    const streams = [await subscribe(one, "earliest"), await subscribe(two, "earliest"), await subscribe(two)]
    await publishAcknowledged(one, "old-3")
    await Promise.all(streams.map((stream, i) => stream.waitForEvents(i < 2 ? 3 : 1)))

    await redis.stop("SIGKILL")
    // Away for a while, publishes refused meanwhile (503), then back empty.
    const back = new Promise((resolve) => setTimeout(resolve, 1500)).then(() => redis.start())
    const acknowledged = ["new-1", "new-2", "new-3", "new-4", "new-5"]
    for (const [i, id] of acknowledged.entries()) await publishAcknowledged(i % 2 === 0 ? one : two, id)
    await back
    await Promise.all(streams.map((stream, i) => stream.waitForEvents((i < 2 ? 3 : 1) + 1 + 5)))
    // A little longer: nothing more (no duplicate) arrives.
    await new Promise((resolve) => setTimeout(resolve, 200))
    const after = ["herald-id-too-old old-3", ...acknowledged.map((id) => `message ${id}`)]
    const before = ["message old-1", "message old-2", "message old-3"]
    expect(streams.map(seen)).toEqual([
      [...before, ...after],
      [...before, ...after],
      ["message old-3", ...after],
    ])
    expect(nodes.map((node) => node.hub.connections)).toEqual([1, 2])
  })
})

/** Hubs on one store whose hub log is not made yet: one node, or two on one Redis. */
const emptyStores: [string, boolean, () => Engine[]][] = [
  ["memory", true, () => [createMemoryEngine()]],
  [
    "sqlite",
    true,
    () => [createSqliteEngine({ path: join(root, randomBytes(4).toString("hex"), "herald.db") })],
  ],
  [
    "redis, two nodes",
    sharedRedisUp || STRICT,
    () => {
      const keyPrefix = `${RUN}-${randomBytes(3).toString("hex")}`
      return [1, 2].map(() => createRedisEngine({ url: SHARED_REDIS_URL, keyPrefix }))
    },
  ],
]

describe.each(emptyStores)(
  "last_event_id=earliest on a hub whose log is not made yet (%s)",
  (_name, runs, open) => {
    it.skipIf(!runs)(
      "lost nothing: no herald-id-too-old, and the stream gets the log from its first update, published on any node",
      async () => {
        const engines = open()
        for (const engine of engines) cleanups.push(() => engine.close())
        const nodes: TestHub[] = []
        for (const engine of engines) nodes.push(await hubOn(engine))
        const streams = await Promise.all(nodes.map((node) => subscribe(node, "earliest")))
        for (const stream of streams) expect(stream.headers["mercure-last-event-id"]).toBe("earliest")
        // The log is made by the first publish, on the first node: the other node's subscriber hears of it too.
        for (const id of ["first-1", "first-2"]) await publishAcknowledged(nodes[0] as TestHub, id)
        await Promise.all(streams.map((stream) => stream.waitForEvents(2)))
        // A little longer: nothing more (no duplicate) arrives.
        await new Promise((resolve) => setTimeout(resolve, 100))
        for (const stream of streams) expect(seen(stream)).toEqual(["message first-1", "message first-2"])
      },
    )
  },
)

describe("last_event_id=earliest on a hub log made while the subscriber looks", () => {
  it("says herald-id-too-old when an update is stored between the read that found no log and the look at its tail", async () => {
    const engine = createMemoryEngine()
    cleanups.push(() => engine.close())
    const hub = await hubOn(engine)
    // The first read of the hub's log finds none; an update is stored before the follower looks
    // at the tail, which it then starts after: that update is skipped, so the subscriber is told.
    const read = engine.read.bind(engine)
    let raced = false
    engine.read = async (log, after, limit, options) => {
      const result = await read(log, after, limit, options)
      if (log === DEFAULT_HUB_LOG && !raced) {
        raced = true
        await publishAcknowledged(hub, "raced")
      }
      return result
    }
    const stream = await subscribe(hub, "earliest")
    await publishAcknowledged(hub, "after")
    await stream.waitForEvents(2)
    expect(seen(stream)).toEqual(["herald-id-too-old earliest", "message after"])
  })
})

describe("follow() with onRecreated", () => {
  const data = (entries: readonly Entry[]) => entries.map((entry) => entry.data)

  it("goes on with a log deleted and created again (another epoch) from its first entry, and says so once", async () => {
    const engine = createMemoryEngine()
    cleanups.push(() => engine.close())
    await engine.append("log", [{ data: "a" }, { data: "b" }], { create: {} })
    const got: Entry[] = []
    const ends: FollowEnd[] = []
    let recreated = 0
    // A feed that never says it lost anything: the follower learns of the new epoch from its entries.
    const source = {
      head: engine.head.bind(engine),
      read: engine.read.bind(engine),
      watch: (log: string, sink: Parameters<Engine["watch"]>[1]) =>
        engine.watch(log, {
          onAppend: (entries, closed) => sink.onAppend(entries, closed),
          onLost: () => {},
        }),
    }
    const follower = await follow(source, "log", START, {
      onEnd: (reason) => ends.push(reason),
      onRecreated: () => {
        recreated++
        got.push({ position: "", seq: 0, data: "(recreated)", key: undefined, time: 0 })
      },
    })
    cleanups.push(async () => follower.stop())
    await follower.start(
      (entry) => got.push(entry) > 0,
      async () => {},
    )
    // Gone and back: the follower hears entries of another epoch, reads, and finds the log recreated.
    await engine.delete("log")
    await engine.append("log", [{ data: "c" }, { data: "d" }], { create: {} })
    await engine.append("log", [{ data: "e" }])
    await waitUntil(
      () => got.length === 6,
      () => undefined,
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(data(got)).toEqual(["a", "b", "(recreated)", "c", "d", "e"])
    expect([recreated, ends]).toEqual([1, []])
  })

  it("still ends with gap when entries it has yet to deliver are trimmed in the same epoch", async () => {
    const engine = createMemoryEngine({ retention: { maxEntries: 4 } })
    cleanups.push(() => engine.close())
    await engine.append("log", [{ data: "a" }, { data: "b" }], { create: {} })
    const ends: FollowEnd[] = []
    let recreated = 0
    const follower = await follow(engine, "log", START, {
      pageSize: 1,
      onEnd: (reason) => ends.push(reason),
      onRecreated: () => recreated++,
    })
    let release: (() => void) | undefined
    void follower.start(
      () => false,
      () => new Promise<void>((resolve) => (release = resolve)),
    )
    await waitUntil(
      () => release !== undefined,
      () => undefined,
    )
    await engine.append("log", [{ data: "c" }, { data: "d" }, { data: "e" }, { data: "f" }])
    // The follower's next read, after "a", is trimmed; the feed entries it held do not follow "a".
    release?.()
    await waitUntil(
      () => ends.length > 0,
      () => undefined,
    )
    expect([recreated, ends]).toEqual([0, ["gap"]])
  })
})
