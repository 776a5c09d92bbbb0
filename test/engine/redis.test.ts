// The redis engine against a real Redis: the shared engine suite on the Redis at 127.0.0.1:6379
// (a unique key prefix per engine, its keys deleted afterwards), and what only Redis has: round
// trips per append, the Lua producer fence against producer.ts, two nodes on one Redis, a Redis
// restarted from its AOF, a Redis that comes back empty.
import { randomBytes } from "node:crypto"
import fc from "fast-check"
import { Redis } from "ioredis"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import type { Engine, Entry, FeedSink, ReadResult } from "../../src/engine/engine.js"
import { hasHealth } from "../../src/engine/health.js"
import { formatPosition, parsePosition, START } from "../../src/engine/position.js"
import { checkProducer, type ProducerState } from "../../src/engine/producer.js"
import {
  createRedisEngine,
  EngineUnavailableError,
  openRedisEngine,
  type RedisEngineOptions,
} from "../../src/engine/redis.js"
import { createExpiryWatch } from "../../src/engine/redis-expiry-watch.js"
import { logKeys } from "../../src/engine/redis-keys.js"
import { EXPIRY_SLACK_MS, PRODUCER_CHECK_LUA } from "../../src/engine/redis-scripts.js"
import {
  blackHoleProxy,
  deleteKeys,
  type RedisServer,
  redisAnswers,
  redisServerInstalled,
  SHARED_REDIS_URL,
  STRICT,
  startRedis,
  waitFor,
} from "./redis-servers.js"
import { appended, describeEngine, newEntries } from "./suite.js"

const RUN = `herald-test-${randomBytes(4).toString("hex")}`
const sharedUp = await redisAnswers(SHARED_REDIS_URL)
const serverInstalled = await redisServerInstalled()

let engines = 0
const open: Engine[] = []

/** A fresh engine on the shared Redis, under a key prefix no other engine of this run uses. */
function engineOnShared(options: RedisEngineOptions = {}): Engine & { readonly prefix: string } {
  const prefix = `${RUN}-${++engines}`
  const engine = createRedisEngine({ url: SHARED_REDIS_URL, keyPrefix: prefix, ...options })
  open.push(engine)
  return Object.assign(engine, { prefix })
}

/** Another node on the same Redis and key prefix as `engine`: the engine of a second process. */
function nodeBeside(engine: { readonly prefix: string }): Engine {
  const other = createRedisEngine({ url: SHARED_REDIS_URL, keyPrefix: engine.prefix })
  open.push(other)
  return other
}

/**
 * What `call` returned, and the COUNT of each XRANGE a script ran on the stream of `log` meanwhile
 * (as MONITOR shows the commands a script runs): the entries it loaded from the stream.
 */
async function streamLoads<T>(
  engine: { readonly prefix: string },
  log: string,
  call: () => Promise<T>,
): Promise<{ result: T; pages: number[] }> {
  const stream = logKeys(engine.prefix, log).stream
  const monitor = await new Redis(SHARED_REDIS_URL).monitor()
  const pages: number[] = []
  let done = false
  const marker = `${stream}:done`
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source === "lua" && args[0]?.toLowerCase() === "xrange" && args[1] === stream) {
      pages.push(Number(args[args.indexOf("COUNT") + 1]))
    }
    if (args[0]?.toLowerCase() === "exists" && args[1] === marker) done = true
  })
  try {
    const result = await call()
    // MONITOR output may trail the replies: a command sent after the call marks its end.
    const client = new Redis(SHARED_REDIS_URL)
    await client.exists(marker)
    client.disconnect()
    await waitFor(() => done, "the monitor to pass the call")
    return { result, pages }
  } finally {
    monitor.disconnect()
  }
}

/** A logger that keeps its warnings' messages, and says nothing. */
function warningsLogger() {
  const warnings: string[] = []
  const logger = {
    error() {},
    warn: (_: unknown, message: string) => warnings.push(message),
    info() {},
    debug() {},
  }
  return { logger, warnings }
}

/** Whether `engine` reads `log`'s head now (false while its connection fails). */
function answersHead(engine: Engine, log: string): Promise<boolean> {
  return engine.head(log).then(
    (head) => head !== undefined,
    () => false,
  )
}

/** A sink that records what the feed gives it. */
function recordingSink() {
  const sink = {
    batches: [] as { entries: readonly Entry[]; closed: boolean }[],
    lost: 0,
    onAppend(entries: readonly Entry[], closed: boolean) {
      sink.batches.push({ entries, closed })
    },
    onLost() {
      sink.lost++
    },
  } satisfies FeedSink & Record<string, unknown>
  return sink
}

afterAll(async () => {
  if (sharedUp) await deleteKeys(SHARED_REDIS_URL, RUN)
})

describe.skipIf(!sharedUp && !STRICT)("redis engine: the shared suite", () => {
  describeEngine("redis", (options) => engineOnShared(options))
})

describe("redis engine: test setup", () => {
  it.runIf(STRICT)("has a Redis at the shared URL and redis-server installed (HERALD_TEST_STRICT=1)", () => {
    expect(sharedUp, `no Redis answers at ${SHARED_REDIS_URL}`).toBe(true)
    expect(serverInstalled, "redis-server is not installed").toBe(true)
  })
})

describe.skipIf(!sharedUp && !STRICT)("redis engine on the shared Redis", () => {
  afterEach(async () => {
    await Promise.all(open.splice(0).map((engine) => engine.close()))
  })
  it("reads a log's head once for many watches of it before it is made, and tells them nothing", async () => {
    const engine = engineOnShared()
    let heads = 0
    const head = engine.head.bind(engine)
    engine.head = (log: string) => {
      heads++
      return head(log)
    }
    const sinks = Array.from({ length: 100 }, () => recordingSink())
    for (const sink of sinks) await engine.watch("not-yet", sink)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(heads).toBe(1)
    expect(sinks.reduce((lost, sink) => lost + sink.lost, 0)).toBe(0)
  })

  // A watched log not made yet is looked at again every few seconds: one made and expired in
  // between must still be told, as on the memory and sqlite engines. Real time (the watch's
  // timers are real ones; the engine's clock only dates its logs), a log living 400 ms, and a
  // wait well short of the watch's next look.
  describe("tells the watchers of a log made after the watch began and expired before its next look", () => {
    const LIFE_MS = 400
    const TOLD_WITHIN_MS = 3000

    /**
     * An engine whose head reads are counted, and held back (once read) from `hold()` to its
     * release: all of them, or only those that found the log missing (`hold(true)`), counted as `held`.
     */
    function countingHeads(engine: Engine) {
      const heads = {
        started: 0,
        read: 0,
        held: 0,
        done: 0,
        gate: undefined as Promise<void> | undefined,
        missingOnly: false,
        hold(missingOnly = false) {
          heads.missingOnly = missingOnly
          let open = () => {}
          heads.gate = new Promise<void>((resolve) => {
            open = resolve
          })
          return () => {
            heads.gate = undefined
            open()
          }
        },
      }
      const head = engine.head.bind(engine)
      engine.head = async (log: string) => {
        heads.started++
        try {
          const found = await head(log)
          heads.read++
          if (heads.gate !== undefined && (found === undefined || !heads.missingOnly)) {
            heads.held++
            await heads.gate
          }
          return found
        } finally {
          heads.done++
        }
      }
      return heads
    }

    /** Watches `log` on `engine`, and waits until the watch's first look found nothing. */
    async function watchedBeforeMade(engine: Engine, log: string) {
      const heads = countingHeads(engine)
      const sink = recordingSink()
      await engine.watch(log, sink)
      await waitFor(() => heads.done === 1, "the watch's first look")
      return sink
    }

    const made: [string, (node: Engine, other: Engine, log: string) => Promise<unknown>][] = [
      ["made here by create", (node, _, log) => node.create(log, { expiresAt: Date.now() + LIFE_MS })],
      [
        "made here by an append of nothing",
        (node, _, log) => node.append(log, [], { create: { expiresAt: Date.now() + LIFE_MS } }),
      ],
      [
        "made on another node by an append",
        (_, other, log) => other.append(log, newEntries(1), { create: { expiresAt: Date.now() + LIFE_MS } }),
      ],
      // No entries to carry: the log's channel tells only that it was made.
      [
        "made on another node by create",
        (_, other, log) => other.create(log, { expiresAt: Date.now() + LIFE_MS }),
      ],
      [
        "made on another node by an append of nothing (a Durable Streams PUT with no body)",
        (_, other, log) => other.append(log, [], { create: { expiresAt: Date.now() + LIFE_MS } }),
      ],
      [
        "made on another node by an append its producer check then refused",
        (_, other, log) =>
          other.append(log, newEntries(1), {
            create: { expiresAt: Date.now() + LIFE_MS },
            producer: { id: "p", epoch: 0, seq: 3 },
          }),
      ],
    ]
    for (const [how, make] of made) {
      it(how, async () => {
        const engine = engineOnShared()
        const other = nodeBeside(engine)
        const log = "expiry/made-later"
        const sink = await watchedBeforeMade(engine, log)
        await make(engine, other, log)
        await waitFor(() => sink.lost > 0, "onLost after the log expired", TOLD_WITHIN_MS)
        expect(await engine.head(log)).toBeUndefined()
      })
    }

    it("is told by the log's channel once, when another node makes it, and its sinks get nothing from it", async () => {
      const engine = engineOnShared()
      const other = nodeBeside(engine)
      const log = "expiry/made-told"
      const listener = new Redis(SHARED_REDIS_URL)
      try {
        const messages: string[] = []
        listener.on("message", (_, message: string) => messages.push(message))
        await listener.subscribe(logKeys(engine.prefix, log).channel)
        const heads = countingHeads(engine)
        const sink = recordingSink()
        await engine.watch(log, sink)
        await waitFor(() => heads.done === 1, "the watch's first look")
        const config = { expiresAt: Date.now() + 60_000 }
        expect((await other.create(log, config)).status).toBe("created")
        // Looked at on the channel's word, well before its next look.
        await waitFor(() => heads.done === 2, "the look after the create", TOLD_WITHIN_MS)
        // Found there already: nothing said.
        expect((await other.create(log, config)).status).toBe("exists")
        expect((await other.append(log, [], { create: config })).status).toBe("appended")
        // An append after them, on the same connection: what they published has come before it.
        await other.append(log, newEntries(1))
        await waitFor(() => messages.length === 2, "the append's notification")
        expect(messages[0]).toBe('{"m":1}')
        expect(sink.batches.map((batch) => batch.entries.map((entry) => entry.seq))).toEqual([[1]])
        expect(sink.lost).toBe(0)
      } finally {
        listener.disconnect()
      }
    })

    it("made while the watch's first look was under way (which read before it was made)", async () => {
      const engine = engineOnShared()
      const log = "expiry/made-during-look"
      const heads = countingHeads(engine)
      const release = heads.hold()
      const sink = recordingSink()
      await engine.watch(log, sink)
      // The look's read found nothing before the log is made.
      await waitFor(() => heads.read === 1, "the watch's first read")
      await engine.create(log, { expiresAt: Date.now() + LIFE_MS })
      release()
      await waitFor(() => sink.lost > 0, "onLost after the log expired", TOLD_WITHIN_MS)
      expect(await engine.head(log)).toBeUndefined()
    })

    // A watch held across a log's incarnations (a follower with onRecreated): the first expiry
    // must not make the watch forget the log.
    for (const [how, make] of made) {
      it(`made again, ${how}, after an expiry the same watch was told of`, async () => {
        const engine = engineOnShared()
        const other = nodeBeside(engine)
        const log = "expiry/made-again"
        await engine.create(log, { expiresAt: Date.now() + LIFE_MS })
        const sink = recordingSink()
        await engine.watch(log, sink)
        await waitFor(() => sink.lost === 1, "onLost after the first incarnation expired", TOLD_WITHIN_MS)
        await make(engine, other, log)
        await waitFor(() => sink.lost === 2, "onLost after the second incarnation expired", TOLD_WITHIN_MS)
        expect(await engine.head(log)).toBeUndefined()
      })
    }

    it("made again while the look that found the first incarnation gone was under way", async () => {
      const engine = engineOnShared()
      const log = "expiry/made-during-loss-look"
      await engine.create(log, { expiresAt: Date.now() + LIFE_MS })
      const heads = countingHeads(engine)
      const sink = recordingSink()
      await engine.watch(log, sink)
      await waitFor(() => heads.done === 1, "the watch's first look")
      // A look may come a moment before the expiry and find the log still there: the one held is
      // the one that found it gone, before the second incarnation is made.
      const release = heads.hold(true)
      await waitFor(() => heads.held === 1, "a look that found the first incarnation gone", TOLD_WITHIN_MS)
      await engine.create(log, { expiresAt: Date.now() + LIFE_MS })
      release()
      await waitFor(() => sink.lost === 2, "onLost after the second incarnation expired", TOLD_WITHIN_MS)
      expect(await engine.head(log)).toBeUndefined()
    })

    it("tells a delete once, though an append came while an earlier look was under way", async () => {
      const engine = engineOnShared()
      const other = nodeBeside(engine)
      const log = "expiry/deleted-once"
      await engine.create(log)
      const heads = countingHeads(engine)
      const release = heads.hold()
      const sink = recordingSink()
      await engine.watch(log, sink)
      await waitFor(() => heads.started === 1, "the watch's first look")
      await other.append(log, newEntries(1))
      await waitFor(() => sink.batches.length === 1, "the append, told while the look was under way")
      release()
      await waitFor(() => heads.done === 1, "the first look's end")
      await other.delete(log)
      await waitFor(() => heads.done === 2, "the look after the delete")
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(sink.lost).toBe(1)
    })

    // A delete tells the watchers at once; the log made again then has an expiry of its own.
    const remakes: [string, (node: Engine, other: Engine, log: string) => Promise<unknown>][] = [
      [
        "here, made again by create",
        async (node, _, log) => {
          await node.delete(log)
          await node.create(log, { expiresAt: Date.now() + LIFE_MS })
        },
      ],
      [
        "on another node, made again by an append",
        async (_, other, log) => {
          await other.delete(log)
          await other.append(log, newEntries(1), { create: { expiresAt: Date.now() + LIFE_MS } })
        },
      ],
      [
        "on another node, made again by create",
        async (_, other, log) => {
          await other.delete(log)
          await other.create(log, { expiresAt: Date.now() + LIFE_MS })
        },
      ],
    ]
    for (const [where, remake] of remakes) {
      it(`made again after a delete ${where}, with an expiry of its own`, async () => {
        const engine = engineOnShared()
        const other = nodeBeside(engine)
        const log = "expiry/deleted"
        await engine.create(log)
        const sink = await watchedBeforeMade(engine, log)
        await remake(engine, other, log)
        await waitFor(() => sink.lost === 1, "onLost for the delete", TOLD_WITHIN_MS)
        await waitFor(() => sink.lost === 2, "onLost after the new incarnation expired", TOLD_WITHIN_MS)
        expect(await engine.head(log)).toBeUndefined()
      })
    }
  })

  it("trims a log made without a retention of its own by the engine's retention as it is now, after a restart with another", async () => {
    const before = engineOnShared({ retention: { maxEntries: 3 } })
    await before.create("hub")
    await before.create("own", { retention: { maxEntries: 2 } })
    for (const log of ["hub", "own"])
      for (let i = 0; i < 5; i++) await before.append(log, [{ data: `a${i}` }])
    await before.close()
    const after = createRedisEngine({
      url: SHARED_REDIS_URL,
      keyPrefix: before.prefix,
      retention: { maxEntries: 10 },
    })
    open.push(after)
    for (const log of ["hub", "own"])
      for (let i = 0; i < 10; i++) await after.append(log, [{ data: `b${i}` }])
    const kept = async (log: string) => {
      const read = await after.read(log, START, 100)
      return read.held ? read.entries.length : -1
    }
    expect(await kept("hub")).toBe(10)
    expect(await kept("own")).toBe(2)
  })

  it("keeps a log's retention where a node of an older version reads it, and brings a log made by one to the engine's at its next create", async () => {
    const engine = engineOnShared({ retention: { maxEntries: 3 } })
    await engine.create("new")
    const meta = (log: string) => logKeys(engine.prefix, log).meta
    const redis = new Redis(SHARED_REDIS_URL)
    try {
      // An older script trims by these fields: they are there for a log made without its own.
      expect(await redis.hmget(meta("new"), "mn", "ma", "dr")).toEqual(["3", "3600000", "1"])
      // A log as an older version made it: its default retention frozen, and no mark.
      await engine.create("old")
      await redis.hdel(meta("old"), "dr")
      await engine.close()
      const later = createRedisEngine({
        url: SHARED_REDIS_URL,
        keyPrefix: engine.prefix,
        retention: { maxEntries: 10 },
      })
      open.push(later)
      for (let i = 0; i < 10; i++) await later.append("old", [{ data: `${i}` }], { create: {} })
      const read = await later.read("old", START, 100)
      expect(read.held ? read.entries.length : -1).toBe(10)
      expect(await redis.hget(meta("old"), "dr")).toBe("1")
    } finally {
      redis.disconnect()
    }
  })

  it("trims a log whose meta has no retention fields at all by the engine's", async () => {
    const engine = engineOnShared({ retention: { maxEntries: 2 } })
    await engine.create("bare")
    const redis = new Redis(SHARED_REDIS_URL)
    try {
      await redis.hdel(logKeys(engine.prefix, "bare").meta, "mn", "ma", "dr")
    } finally {
      redis.disconnect()
    }
    for (let i = 0; i < 4; i++) await engine.append("bare", [{ data: `${i}` }])
    const read = await engine.read("bare", START, 10)
    expect(read.held ? read.entries.map((entry) => entry.data) : read).toEqual(["2", "3"])
  })

  it("keeps a log in the list when another node creates it again while it is deleted", async () => {
    const engine = engineOnShared()
    const other = nodeBeside(engine)
    let unlisted = 0
    for (let i = 0; i < 200; i++) {
      const log = `race/${i}`
      await engine.create(log)
      await Promise.all([engine.delete(log), other.create(log)])
      const there = (await engine.head(log)) !== undefined
      const listed = (await engine.list({ prefix: log, limit: 2 })).logs.some((head) => head.name === log)
      if (there && !listed) unlisted++
    }
    expect(unlisted).toBe(0)
  })

  it("runs the producer fence in Lua exactly as checkProducer does", async () => {
    const client = new Redis(SHARED_REDIS_URL)
    try {
      const script = `${PRODUCER_CHECK_LUA}
local state = false
if ARGV[1] ~= '' then state = ARGV[1] end
return check_producer(state, tonumber(ARGV[2]), tonumber(ARGV[3]))`
      const small = fc.integer({ min: 0, max: 6 })
      const big = fc.maxSafeInteger().filter((n) => n >= 0)
      const number = fc.oneof(small, small, big)
      await fc.assert(
        fc.asyncProperty(
          fc.option(fc.record({ epoch: number, seq: number }), { nil: undefined }),
          number,
          number,
          async (state: ProducerState | undefined, epoch, seq) => {
            const reply = (await client.eval(
              script,
              0,
              state === undefined ? "" : `${state.epoch}:${state.seq}`,
              epoch,
              seq,
            )) as string[]
            const expected = checkProducer(state, { id: "p", epoch, seq })
            const fields: Record<string, string[]> = {
              accepted: [],
              duplicate: ["lastSeq"],
              "stale-epoch": ["currentEpoch"],
              "invalid-epoch-seq": [],
              "sequence-gap": ["expectedSeq", "receivedSeq"],
            }
            const values = (fields[expected.status] ?? []).map((name) =>
              String((expected as unknown as Record<string, number>)[name]),
            )
            expect(reply).toEqual([expected.status, ...values])
          },
        ),
        { numRuns: 300 },
      )
    } finally {
      client.disconnect()
    }
  })

  it("loads the oldest entry once where trim and head both need it (a log older than its age bound), none to make a log", async () => {
    let now = Date.now()
    const engine = engineOnShared({ now: () => now })
    const log = "aged"
    // Connected first: a MONITOR started while the engine subscribes may take its lines for replies.
    await engine.head(log)
    // A log made just now holds no entry: none is looked for.
    const create = await streamLoads(engine, log, () =>
      engine.create(log, { retention: { maxAgeMs: 60_000 } }),
    )
    expect(create.pages).toEqual([])
    now += 100_000
    await engine.append(log, [{ data: "a" }])
    now += 20_000
    // The log is past its age bound, its entries young: the oldest says nothing is trimmed.
    const append = await streamLoads(engine, log, () => engine.append(log, [{ data: "b" }]))
    expect(append.pages).toEqual([1])
    const head = await streamLoads(engine, log, () => engine.head(log))
    expect(head.pages).toEqual([1])
    expect(head.result).toMatchObject({ floor: formatPosition(head.result?.epoch as string, 0) })
    // Once the oldest is past the bound, it goes: the floor is the entry it was.
    now += 45_000
    expect(await engine.head(log)).toMatchObject({
      floor: formatPosition(head.result?.epoch as string, 1),
    })
  })

  it("costs one round trip per append, for one entry and for a batch", async () => {
    const engine = engineOnShared()
    const log = "rt/log"
    await engine.append(log, [{ data: "warm-up" }], { create: {} })
    await engine.append(log, [{ data: "warm-up" }])
    const monitor = await new Redis(SHARED_REDIS_URL).monitor()
    const seen: string[][] = []
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      // Commands a script runs show up with the source "lua"; the prefix picks this engine's.
      if (source !== "lua" && args.some((arg) => arg.includes(engine.prefix))) seen.push(args)
    })
    try {
      await engine.append(log, [{ data: "one" }])
      await engine.append(
        log,
        Array.from({ length: 200 }, (_, i) => ({ data: `batch ${i}`, key: `k${i}` })),
      )
      await engine.append(log, [{ data: "closing" }], {
        close: true,
        producer: { id: "p", epoch: 0, seq: 0 },
      })
      await engine.append(log, [{ data: "refused" }])
      // MONITOR output may trail the replies: wait until nothing more arrives.
      let count = -1
      await waitFor(async () => {
        const settled = seen.length === count
        count = seen.length
        await new Promise((resolve) => setTimeout(resolve, 100))
        return settled
      }, "the monitor to settle")
      expect(seen.map((args) => args[0]?.toLowerCase())).toEqual(["evalsha", "evalsha", "evalsha", "evalsha"])
    } finally {
      monitor.disconnect()
    }
  })

  describe("a read bounded by bytes loads no entry it does not return but the one that ends it", () => {
    /** The entries `read` has the read script load, in all and per XRANGE, and how many it returned. */
    async function loads(
      engine: Engine & { readonly prefix: string },
      log: string,
      read: () => Promise<ReadResult>,
    ) {
      const { result, pages } = await streamLoads(engine, log, read)
      if (!result.held) throw new Error(`not held: ${result.reason}`)
      return {
        loaded: pages.reduce((sum, count) => sum + count, 0),
        pages,
        returned: result.entries.length,
      }
    }

    it("on a log of large entries, where the first read's page asked for 16 and one more before", async () => {
      const engine = engineOnShared()
      const big = "x".repeat(100 * 1024)
      await engine.append(
        "big",
        Array.from({ length: 20 }, () => ({ data: big })),
        { create: {} },
      )
      const read = await loads(engine, "big", () => engine.read("big", START, 16, { maxBytes: 250_000 }))
      expect(read).toMatchObject({ returned: 2, loaded: 3 })
      const one = await loads(engine, "big", () => engine.read("big", START, 16, { maxBytes: 1 }))
      expect(one).toMatchObject({ returned: 1, loaded: 1 })
    })

    it("on small entries before and after a large one, asking for many at once only where none is large", async () => {
      const engine = engineOnShared()
      const small = (count: number) =>
        Array.from({ length: count }, (_, i) => ({ data: `${i}`.padEnd(100, ".") }))
      await engine.append("mixed", small(200), { create: {} })
      const [large] = appended(await engine.append("mixed", [{ data: "L".repeat(100 * 1024) }])).entries
      await engine.append("mixed", small(200))
      // Before the large entry, each may be it: one at a time, and the one that does not fit.
      const before = await loads(engine, "mixed", () => engine.read("mixed", START, 1000, { maxBytes: 5050 }))
      expect(before).toMatchObject({ returned: 50, loaded: 51 })
      // After it, none is large: as many at once as fit at the smallest size noted; a read that
      // ends exactly full loads none past it.
      const after = await loads(engine, "mixed", () =>
        engine.read("mixed", large?.position as string, 1000, { maxBytes: 5000 }),
      )
      expect(after).toMatchObject({ returned: 50, loaded: 50 })
      expect(after.pages[0]).toBe(4)
      const all = await loads(engine, "mixed", () =>
        engine.read("mixed", large?.position as string, 200, { maxBytes: 256 * 1024 }),
      )
      // Pages grow from 16 by what was read: sz is trusted for one page at a time.
      expect(all).toEqual({ returned: 200, loaded: 200, pages: [16, 32, 64, 88] })
    })

    it("on large entries a node of an older version appended unnoted, no more than 16 past those that fit", async () => {
      const engine = engineOnShared()
      await engine.append("upgraded", [{ data: "hello" }], { create: {} })
      const meta = logKeys(engine.prefix, "upgraded").meta
      const redis = new Redis(SHARED_REDIS_URL)
      try {
        expect(await redis.hget(meta, "sz")).toBe("0")
        const big = "x".repeat(256 * 1024)
        for (let i = 0; i < 20; i++)
          await engine.append(
            "upgraded",
            Array.from({ length: 10 }, () => ({ data: big })),
          )
        // An older node appends as this one does but leaves sz as it was.
        await redis.hset(meta, "sz", "0")
        const read = await loads(engine, "upgraded", () =>
          engine.read("upgraded", START, 1000, { maxBytes: 1024 * 1024 }),
        )
        // "hello" and three of 256 KiB fit; the first page asked for 1000 (50 MiB loaded).
        expect(read).toEqual({ returned: 4, loaded: 16, pages: [16] })
        // After small entries, a page of unnoted large ones is no larger than those read + 16.
        await engine.append(
          "mixed-upgraded",
          Array.from({ length: 100 }, (_, i) => ({ data: `${i}`.padEnd(100, ".") })),
          { create: {} },
        )
        await engine.append(
          "mixed-upgraded",
          Array.from({ length: 50 }, () => ({ data: big })),
        )
        await redis.hset(logKeys(engine.prefix, "mixed-upgraded").meta, "sz", "0")
        const mixed = await loads(engine, "mixed-upgraded", () =>
          engine.read("mixed-upgraded", START, 1000, { maxBytes: 1024 * 1024 }),
        )
        expect(mixed).toEqual({ returned: 103, loaded: 112, pages: [16, 32, 64] })
      } finally {
        redis.disconnect()
      }
    })

    it("on a log an older version wrote: one at a time until its sizes are known, from its next append on", async () => {
      const engine = engineOnShared()
      await engine.append(
        "old",
        Array.from({ length: 10 }, (_, i) => ({ data: `${i}` })),
        { create: {} },
      )
      const meta = logKeys(engine.prefix, "old").meta
      const redis = new Redis(SHARED_REDIS_URL)
      try {
        expect(await redis.hget(meta, "sz")).toBe("0")
        await redis.hdel(meta, "sz")
        const unknown = await loads(engine, "old", () =>
          engine.read("old", START, 10, { maxBytes: 64 * 1024 }),
        )
        expect(unknown).toEqual({ returned: 10, loaded: 10, pages: Array(10).fill(1) })
        await engine.append(
          "old",
          Array.from({ length: 10 }, (_, i) => ({ data: `${10 + i}` })),
        )
        expect(await redis.hget(meta, "sz")).toBe("10")
        const head = await engine.head("old")
        const known = await loads(engine, "old", () =>
          engine.read("old", formatPosition(head?.epoch as string, 10), 10, { maxBytes: 64 * 1024 }),
        )
        expect(known).toEqual({ returned: 10, loaded: 10, pages: [10] })
      } finally {
        redis.disconnect()
      }
    })
  })

  it("keeps every key of a log under one hash tag, bounded for long or braced names", () => {
    const tagOf = (key: string) => /\{([^}]*)\}/.exec(key)?.[1]
    for (const log of ["a", "gen/42", "x".repeat(1024), "odd{name}", "}{", "#abc"]) {
      const keys = logKeys("herald", log)
      const tags = new Set(Object.values(keys).map(tagOf))
      expect(tags.size, log).toBe(1)
      const [tag] = tags
      expect(tag?.length, log).toBeLessThanOrEqual(110)
    }
    expect(logKeys("herald", "a").meta).not.toBe(logKeys("herald", "b").meta)
    expect(logKeys("herald", "x".repeat(200)).meta).not.toBe(logKeys("herald", `${"x".repeat(199)}y`).meta)
  })

  it("works as two nodes: a watch on B gets A's appends; B follows from a position minted on A", async () => {
    const a = engineOnShared()
    const b = nodeBeside(a)
    const log = "nodes/log"
    const sinkA = recordingSink()
    const sinkB = recordingSink()
    await a.watch(log, sinkA)
    await b.watch(log, sinkB)
    const heard: string[] = []
    b.onSignal((signal) => heard.push(signal.payload))
    const first = await a.append(log, [{ data: "one" }, { data: "two", key: "k2" }], { create: {} })
    if (first.status !== "appended") throw new Error(first.status)
    await waitFor(() => sinkB.batches.length === 1 && sinkA.batches.length === 1, "both nodes' feeds")
    expect(sinkB.batches[0]?.entries).toEqual(first.entries)
    // On the appending node, the feed and the append result share the entry objects.
    expect(sinkA.batches[0]?.entries[0]).toBe(first.entries[0])
    expect(await b.locate(log, "k2")).toBe(first.entries[1]?.position)
    const read = await b.read(log, first.entries[0]?.position as string, 10)
    expect(read).toMatchObject({ held: true, entries: [first.entries[1]] })
    await a.signal({ topic: "cancel", payload: "from A" })
    await waitFor(() => heard.length === 1, "the signal on B")
    expect(heard).toEqual(["from A"])
    await a.holdLease("node-a", 60_000)
    expect(await b.liveNodes()).toEqual(["node-a"])
  })

  it("gives a watch on another node what a read gives, whatever the data holds", async () => {
    const a = engineOnShared()
    const b = nodeBeside(a)
    const log = "nodes/odd-data"
    const sink = recordingSink()
    await b.watch(log, sink)
    const odd = [
      { data: 'quote " backslash \\ slash / newline \n tab \t nul \u0000 é 🙂' },
      { data: "lone \ud800 surrogate", key: 'key \udfff " 🙂' },
      { data: "" },
    ]
    const appended = await a.append(log, odd, { create: {} })
    if (appended.status !== "appended") throw new Error(appended.status)
    await waitFor(() => sink.batches.length === 1, "B's feed")
    const read = await b.read(log, START, 10)
    if (!read.held) throw new Error(read.reason)
    expect(sink.batches[0]?.entries).toEqual(read.entries)
    // Redis keeps UTF-8: a lone surrogate is stored, and so heard, as U+FFFD.
    expect(read.entries[1]).toMatchObject({ data: "lone \ufffd surrogate", key: 'key \ufffd " 🙂' })
    expect(read.entries[0]?.data).toBe(odd[0]?.data)
  })

  it("gives every key of an expiring log Redis's own expiry, so Redis reclaims it unvisited", async () => {
    const engine = engineOnShared()
    const client = new Redis(SHARED_REDIS_URL)
    try {
      for (const [log, config, slack] of [
        ["ttl/log", { ttlMs: 60_000 }, EXPIRY_SLACK_MS],
        ["at/log", { expiresAt: Date.now() + 60_000 }, 0],
      ] as const) {
        await engine.append(
          log,
          [
            { data: "a", key: "k" },
            { data: "b", key: "k" },
          ],
          { create: config },
        )
        await engine.append(log, [], { close: true, producer: { id: "p", epoch: 0, seq: 0 } })
        const keys = logKeys(engine.prefix, log)
        const stored = [keys.meta, keys.stream, keys.keyFirst, keys.keyLast, keys.keyNext, keys.producers]
        for (const key of stored) {
          const ttl = await client.pttl(key)
          expect(ttl, key).toBeGreaterThan(0)
          expect(ttl, key).toBeLessThanOrEqual(60_000 + slack)
        }
      }
    } finally {
      client.disconnect()
    }
  })

  it("keeps Redis's expiry of a sliding log's keys at or after the log's, at most the slack past it", async () => {
    let now = Date.now()
    const engine = engineOnShared({ now: () => now })
    const client = new Redis(SHARED_REDIS_URL)
    const ttlMs = 10 * EXPIRY_SLACK_MS
    try {
      const log = "sliding/log"
      await engine.create(log, { ttlMs })
      // Writes and touching reads, each a third of the slack after the last: the log's expiry
      // moves on every one, Redis's only once it would fall short.
      for (let step = 0; step < 8; step++) {
        now += EXPIRY_SLACK_MS / 3
        if (step % 2 === 0) await engine.append(log, [{ data: String(step), key: `k${step % 3}` }])
        else await engine.read(log, START, 10)
        const expiresAt = (await engine.head(log))?.expiresAt as number
        expect(expiresAt).toBe(now + ttlMs)
        const keys = logKeys(engine.prefix, log)
        for (const key of [keys.meta, keys.stream, keys.keyFirst]) {
          // Redis counts from its own clock: the fake one stood still since the script ran.
          const ttl = await client.pttl(key)
          expect(ttl, key).toBeGreaterThan(expiresAt - now - 1_000)
          expect(ttl, key).toBeLessThanOrEqual(expiresAt - now + EXPIRY_SLACK_MS)
        }
      }
    } finally {
      client.disconnect()
    }
  })

  it("reports its health, and says it is up with a latency", async () => {
    const engine = engineOnShared()
    expect(hasHealth(engine)).toBe(true)
    if (!hasHealth(engine)) return
    const health = await engine.health()
    expect(health.status).toBe("up")
    if (health.status === "up") expect(health.latencyMs).toBeGreaterThanOrEqual(0)
  })
})

describe.skipIf(!serverInstalled && !STRICT)("redis engine closed while a watch subscribes", () => {
  let server: RedisServer | undefined
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.destroy()
  })

  it("rejects the watch, and looks at the log's expiry neither then nor later", async () => {
    const looks: string[] = []
    const logger = {
      error() {},
      warn() {},
      info() {},
      debug(_fields: object, message: string) {
        if (/expiry/.test(message)) looks.push(message)
      },
    }
    const engine = createRedisEngine({ url: (server as RedisServer).url, keyPrefix: RUN, logger })
    const sink = recordingSink()
    // The subscriber connection is ready: the next SUBSCRIBE is answered before the QUIT.
    await engine.watch("closing/first", sink)
    const watching = expect(engine.watch("closing/log", sink)).rejects.toThrow(
      "redis engine: the engine is closed.",
    )
    await engine.close()
    await watching
    // A look would fail at once on the closed engine, and say so.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(looks).toEqual([])
  })

  it("has the expiry watch look at nothing once closed", async () => {
    const heads: string[] = []
    const expiry = createExpiryWatch({
      head: async (log) => {
        heads.push(log)
        return undefined
      },
      lost() {},
      now: Date.now,
      logger: { error() {}, warn() {}, info() {}, debug() {} },
    })
    expiry.close()
    const release = expiry.watch("closed/log")
    expiry.made("closed/log")
    release()
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(heads).toEqual([])
  })
})

describe.skipIf(!serverInstalled && !STRICT)("redis engine when Redis goes away", () => {
  let server: RedisServer | undefined
  beforeAll(async () => {
    server = await startRedis({ aof: true })
  })
  afterEach(async () => {
    await Promise.all(open.splice(0).map((engine) => engine.close()))
  })
  afterAll(async () => {
    await server?.destroy()
  })

  it("rejects with EngineUnavailableError while Redis is down, recovers by itself, and loses nothing acknowledged", async () => {
    const redis = server as RedisServer
    const engine = createRedisEngine({
      url: redis.url,
      keyPrefix: RUN,
      commandTimeoutMs: 1000,
      connectWaitMs: 300,
    })
    open.push(engine)
    const log = "restart/log"
    await engine.create(log)
    const sink = recordingSink()
    await engine.watch(log, sink)
    const acknowledged: string[] = []
    const failures: unknown[] = []
    let i = 0
    const appendOne = async () => {
      const data = `e${i++}`
      try {
        const result = await engine.append(log, [{ data }])
        if (result.status === "appended") acknowledged.push(data)
      } catch (error) {
        failures.push(error)
      }
    }
    for (let n = 0; n < 20; n++) await appendOne()
    await redis.stop("SIGKILL")
    const downSince = Date.now()
    for (let n = 0; n < 5; n++) await appendOne()
    expect(failures.length).toBe(5)
    expect(Date.now() - downSince).toBeLessThan(10_000)
    for (const failure of failures) expect(failure).toBeInstanceOf(EngineUnavailableError)
    if (hasHealth(engine)) expect((await engine.health()).status).toBe("down")
    await redis.start()
    // No restart of the engine: it reconnects by itself.
    for (let n = 0; n < 200 && acknowledged.length < 30; n++) {
      await appendOne()
      if (acknowledged.length < 21) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(30)
    const stored = await engine.read(log, START, 1000)
    if (!stored.held) throw new Error(stored.reason)
    const data = stored.entries.map((entry) => entry.data)
    for (const each of acknowledged) expect(data).toContain(each)
    expect(new Set(data).size).toBe(data.length)
    expect(stored.entries.map((entry) => entry.seq)).toEqual(stored.entries.map((_, n) => n + 1))
    // The feed came back too: the watcher was told it may have missed appends, and hears new ones.
    await waitFor(() => sink.lost > 0, "onLost after the reconnect")
    const before = sink.batches.length
    await engine.append(log, [{ data: "after" }])
    await waitFor(() => sink.batches.length > before, "a live batch after the reconnect")
  })

  it("takes connections gone silent without closing for lost: reconnects, and its watchers re-read", async () => {
    const redis = server as RedisServer
    const proxy = await blackHoleProxy(redis.port)
    try {
      const logger = { error() {}, warn() {}, info() {}, debug() {} }
      const engine = createRedisEngine({
        url: proxy.url,
        keyPrefix: RUN,
        commandTimeoutMs: 200,
        connectWaitMs: 200,
        socketTimeoutMs: 300,
        logger,
      })
      open.push(engine)
      const writer = createRedisEngine({ url: redis.url, keyPrefix: RUN })
      open.push(writer)
      const log = "half-open/log"
      await writer.create(log)
      const sink = recordingSink()
      await engine.watch(log, sink)
      await writer.append(log, [{ data: "before" }])
      await waitFor(() => sink.batches.length === 1, "the append before")
      const connections = proxy.connections()
      proxy.blackHole()
      // The subscriber hears nothing now, though its channel carries appends: its PING, unanswered,
      // closes it; the reconnect resubscribes and tells the sinks they may have missed some.
      await writer.append(log, [{ data: "unheard" }])
      await waitFor(() => sink.lost > 0, "onLost after the subscriber went silent", 5000)
      // Commands time out, and the silent connection is replaced by one that answers.
      await waitFor(() => answersHead(engine, log), "a command answered on a new connection", 5000)
      expect(proxy.connections()).toBeGreaterThanOrEqual(connections + 2)
      const heard = sink.batches.length
      await writer.append(log, [{ data: "after" }])
      await waitFor(() => sink.batches.length > heard, "a live batch after the reconnect")
    } finally {
      proxy.close()
    }
  })

  it("keeps a reconnected connection whose old one closed owing a reply: the old deadline dies with it", async () => {
    const redis = server as RedisServer
    const proxy = await blackHoleProxy(redis.port)
    try {
      const { logger, warnings: lost } = warningsLogger()
      const engine = createRedisEngine({
        url: proxy.url,
        keyPrefix: RUN,
        commandTimeoutMs: 300,
        connectWaitMs: 300,
        socketTimeoutMs: 800,
        logger,
      })
      open.push(engine)
      const log = "stale-deadline/log"
      await engine.create(log)
      proxy.blackHole()
      // A command owes a reply when its connection closes: ioredis armed its 800 ms deadline.
      await expect(engine.head(log)).rejects.toThrow()
      proxy.cut()
      await waitFor(() => answersHead(engine, log), "a command answered on the new connection", 3000)
      const connections = proxy.connections()
      const losses = lost.length
      // Past the old deadline: the new connection, which owes nothing, stays.
      await new Promise((resolve) => setTimeout(resolve, 1000))
      expect(await engine.head(log)).toBeDefined()
      expect(proxy.connections()).toBe(connections)
      expect(lost.slice(losses)).toEqual([])
    } finally {
      proxy.close()
    }
  })

  it("keeps its connections through a Redis busy for seconds (a long script), by default", async () => {
    const redis = server as RedisServer
    const { logger, warnings } = warningsLogger()
    const engine = createRedisEngine({ url: redis.url, keyPrefix: RUN, logger })
    open.push(engine)
    const log = "busy/log"
    await engine.create(log)
    const sink = recordingSink()
    await engine.watch(log, sink)
    // Two scripts of 4.9 s each (under Redis's busy-reply-threshold, so nothing answers meanwhile),
    // back to back: a PING of the subscriber waits up to 4.9 s for its reply.
    const busy = new Redis(redis.url)
    const script =
      "local t = redis.call('TIME') repeat local n = redis.call('TIME') until (n[1] - t[1]) * 1000000 + n[2] - t[2] >= 4900000 return 1"
    try {
      await Promise.all([busy.eval(script, 0), busy.eval(script, 0)])
    } finally {
      busy.disconnect()
    }
    await engine.append(log, [{ data: "after" }])
    await waitFor(() => sink.batches.length === 1, "the append after")
    expect(sink.lost).toBe(0)
    expect(warnings).toEqual([])
  }, 20_000)

  it("hears signals on a node started while Redis was away, once Redis comes", async () => {
    const redis = server as RedisServer
    await redis.stop("SIGKILL")
    // The outage's warnings are expected here.
    const logger = { error() {}, warn() {}, info() {}, debug() {} }
    const options = { url: redis.url, keyPrefix: `${RUN}-away`, connectWaitMs: 200, logger }
    const heard: Record<string, string[]> = { created: [], opened: [] }
    try {
      const created = createRedisEngine(options)
      open.push(created)
      created.onSignal((signal) => heard.created?.push(signal.payload))
      // openRedisEngine's probe, which holds the signals channel too, does not run on a Redis away.
      const opened = await openRedisEngine(options)
      open.push(opened)
      opened.onSignal((signal) => heard.opened?.push(signal.payload))
      // Longer than connectWaitMs: the subscription each asked at start has failed.
      await new Promise((resolve) => setTimeout(resolve, 500))
    } finally {
      await redis.start()
    }
    const sender = createRedisEngine(options)
    open.push(sender)
    let sent = 0
    await waitFor(async () => {
      await sender.signal({ topic: "cancel", payload: String(++sent) })
      await new Promise((resolve) => setTimeout(resolve, 50))
      return (heard.created?.length ?? 0) > 0 && (heard.opened?.length ?? 0) > 0
    }, "both nodes to hear a signal of another node")
  })

  it("gives honest gaps when Redis comes back empty: a new epoch, old positions not held", async () => {
    const empty = await startRedis({ aof: false })
    try {
      const engine = createRedisEngine({ url: empty.url, keyPrefix: RUN, connectWaitMs: 300 })
      open.push(engine)
      const log = "empty/log"
      const first = await engine.append(log, [{ data: "a" }, { data: "b" }], { create: {} })
      if (first.status !== "appended") throw new Error(first.status)
      const old = first.entries[0]?.position as string
      const oldEpoch = parsePosition(old)?.epoch
      const sink = recordingSink()
      await engine.watch(log, sink)
      await empty.stop("SIGKILL")
      await empty.start()
      await waitFor(async () => {
        try {
          return (await engine.head(log)) === undefined
        } catch (error) {
          if (error instanceof EngineUnavailableError) return false
          throw error
        }
      }, "the engine to see the empty Redis")
      expect(await engine.read(log, old, 10)).toEqual({ held: false, after: old, reason: "missing" })
      const again = await engine.append(log, [{ data: "c" }], { create: {} })
      if (again.status !== "appended") throw new Error(again.status)
      expect(again.entries[0]?.seq).toBe(1)
      expect(parsePosition(again.entries[0]?.position as string)?.epoch).not.toBe(oldEpoch)
      expect(await engine.read(log, old, 10)).toEqual({ held: false, after: old, reason: "other-epoch" })
      expect(await engine.read(log, formatPosition(oldEpoch as string, 2), 10)).toMatchObject({
        reason: "other-epoch",
      })
      await waitFor(() => sink.lost > 0, "onLost after the reconnect")
    } finally {
      await Promise.all(open.splice(0).map((engine) => engine.close()))
      await empty.destroy()
    }
  })
})
