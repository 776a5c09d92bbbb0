// One suite for every engine: the invariants of src/engine/engine.ts and of follow() above it,
// checked the same way on memory, sqlite and redis. Each engine's test file calls describeEngine().
import fc from "fast-check"
import { afterEach, describe, expect, it } from "vitest"
import type {
  AppendResult,
  Engine,
  Entry,
  FeedSink,
  NewEntry,
  ReadResult,
  Retention,
} from "../../src/engine/engine.js"
import {
  type FollowEnd,
  type Follower,
  type FollowOptions,
  type FollowSource,
  follow,
} from "../../src/engine/follow.js"
import { formatPosition, newEpoch, parsePosition, START } from "../../src/engine/position.js"
import type { Logger } from "../../src/logger.js"
import { recordingLogger } from "../server/helpers.js"
import { FAITHFUL_FEED, LaggingFeed, seededRandom } from "./lagging-feed.js"

/** What the suite may ask of an engine factory. */
export interface EngineTestOptions {
  readonly retention?: Retention
  /** The engine's clock (entry times, age retention, TTLs, leases). */
  readonly now?: () => number
  readonly logger?: Logger
}

/** Makes a fresh, empty engine for one test. */
export type EngineFactory = (options: EngineTestOptions) => Engine | Promise<Engine>

/** Suite knobs for engines whose writes cost more. */
export interface EngineSuiteOptions {
  /** Entries in the large-history lookup check. Default 50 000. */
  readonly largeHistory?: number
  /** Runs of the follow() property test. Default 25. */
  readonly propertyRuns?: number
}

const LOG = "suite/log"
const T0 = 1_700_000_000_000

/** `count` entries with data `${prefix}${i}`. */
export function newEntries(count: number, prefix = "e", key?: (i: number) => string): NewEntry[] {
  return Array.from({ length: count }, (_, i) =>
    key === undefined ? { data: `${prefix}${i}` } : { data: `${prefix}${i}`, key: key(i) },
  )
}

/** The result of an append that must have been stored; fails the test otherwise. */
export function appended(result: AppendResult): Extract<AppendResult, { status: "appended" }> {
  if (result.status !== "appended") throw new Error(`expected "appended", got ${JSON.stringify(result)}`)
  return result
}

/** The result of a read that must be held; fails the test otherwise. */
export function held(result: ReadResult): Extract<ReadResult, { held: true }> {
  if (!result.held) throw new Error(`expected a held read, got ${JSON.stringify(result)}`)
  return result
}

/** Everything held of `log`, oldest first, read page by page. */
export async function readAll(engine: Engine, log: string, pageSize = 1000): Promise<Entry[]> {
  const all: Entry[] = []
  let after: string = START
  for (let pages = 0; pages < 10_000; pages++) {
    const page = held(await engine.read(log, after, pageSize))
    all.push(...page.entries)
    if (!page.more) return all
    after = page.entries[page.entries.length - 1]?.position as string
  }
  throw new Error("readAll: too many pages")
}

/** Waits until `done()` holds, yielding to timers; fails after `ms`. */
export async function until(done: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

/** Lets queued callbacks and microtasks run (a few turns of the event loop). */
export async function settleTurns(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** A follower started with a recording reader. */
export interface Recorded {
  readonly follower: Follower
  readonly got: Entry[]
  readonly batches: (readonly Entry[])[]
  readonly ends: { reason: FollowEnd; error: unknown }[]
  readonly started: Promise<void>
}

/** Follows `log` and starts at once with a reader that records everything. */
export async function followAndRecord(
  engine: Engine,
  log: string,
  from: string | undefined,
  options: Omit<FollowOptions, "onEnd"> & { batches?: boolean } = {},
): Promise<Recorded> {
  const ends: Recorded["ends"] = []
  const follower = await follow(engine, log, from, {
    ...options,
    onEnd: (reason, error) => ends.push({ reason, error }),
  })
  const got: Entry[] = []
  const batches: (readonly Entry[])[] = []
  const started = follower.start(
    (entry) => got.push(entry) > 0,
    async () => {},
    options.batches === true
      ? (entries) => {
          batches.push(entries)
          got.push(...entries)
        }
      : undefined,
  )
  return { follower, got, batches, ends, started }
}

/** The seqs of `entries`. */
function seqs(entries: readonly Entry[]): number[] {
  return entries.map((entry) => entry.seq)
}

/** 1..n, or from..to. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)
}

/** A sink that records what the feed gives it. */
function recordingSink(): FeedSink & {
  batches: { entries: readonly Entry[]; closed: boolean }[]
  lost: number
} {
  const sink = {
    batches: [] as { entries: readonly Entry[]; closed: boolean }[],
    lost: 0,
    onAppend(entries: readonly Entry[], closed: boolean) {
      sink.batches.push({ entries, closed })
    },
    onLost() {
      sink.lost++
    },
  }
  return sink
}

/** A reader whose deliveries ask to wait until released: a stalled replay. */
function stalledReader() {
  const got: Entry[] = []
  let release: () => void = () => {}
  let stalls = 0
  return {
    got,
    get stalls() {
      return stalls
    },
    deliver: (entry: Entry) => {
      got.push(entry)
      return false
    },
    whenWritable: () =>
      new Promise<void>((resolve) => {
        stalls++
        release = resolve
      }),
    release: () => release(),
  }
}

/**
 * `inner` behind a feed that drops every batch (the test hands the follower what it hears, with
 * `inject`), whose next read runs `duringRead` once, after reading and before answering: the read
 * answers from before what the hook did. `sinks` are the sinks it was given to watch with.
 */
class SlowRead extends LaggingFeed {
  duringRead: (() => Promise<void>) | undefined
  readonly sinks: FeedSink[] = []

  constructor(inner: Engine) {
    super(inner, 1, { ...FAITHFUL_FEED, droppedSilently: 1 })
  }

  override watch(log: string, sink: FeedSink) {
    this.sinks.push(sink)
    return super.watch(log, sink)
  }

  override async read(log: string, after: string, limit: number) {
    const result = await super.read(log, after, limit)
    const hook = this.duringRead
    this.duringRead = undefined
    await hook?.()
    return result
  }
}

/** Checks the contract of src/engine/engine.ts (and follow) on the engines `makeEngine` makes. */
export function describeEngine(
  name: string,
  makeEngine: EngineFactory,
  suite: EngineSuiteOptions = {},
): void {
  describe(`engine contract: ${name}`, () => {
    const open: Engine[] = []
    async function make(options: EngineTestOptions = {}): Promise<Engine> {
      const engine = await makeEngine(options)
      open.push(engine)
      return engine
    }
    /** An engine with a hand-set clock. */
    async function makeClocked(options: Omit<EngineTestOptions, "now"> = {}) {
      const clock = { now: T0 }
      const engine = await make({ ...options, now: () => clock.now })
      return { engine, clock }
    }
    afterEach(async () => {
      await Promise.all(open.splice(0).map((engine) => engine.close()))
    })

    describe("positions and entries", () => {
      it("gives strictly increasing, string-sortable positions with contiguous seqs from 1", async () => {
        const { engine, clock } = await makeClocked()
        const first = appended(await engine.append(LOG, newEntries(3, "a"), { create: {} }))
        clock.now += 7
        const second = appended(await engine.append(LOG, [{ data: "b", key: "k" }]))
        const all = [...first.entries, ...second.entries]
        const head = await engine.head(LOG)
        expect(head?.epoch).toMatch(/^[0-9a-z]{8}$/)
        expect(seqs(all)).toEqual([1, 2, 3, 4])
        expect(all.map((entry) => entry.position)).toEqual(
          [1, 2, 3, 4].map((seq) => formatPosition(head?.epoch as string, seq)),
        )
        expect([...all.map((e) => e.position)].reverse().sort()).toEqual(all.map((e) => e.position))
        expect(all.map((entry) => entry.time)).toEqual([T0, T0, T0, T0 + 7])
        expect(all[3]).toMatchObject({ data: "b", key: "k" })
        expect(all[0]?.key).toBeUndefined()
        expect(first.tail).toBe(all[2]?.position)
        expect(second.tail).toBe(all[3]?.position)
        expect(first).toMatchObject({ closed: false, stopRequested: false })
        expect(held(await engine.read(LOG, START, 10)).entries).toEqual(all)
        expect(head).toMatchObject({ name: LOG, tail: all[3]?.position, closed: false, stopRequested: false })
        expect(head?.floor).toBe(formatPosition(head?.epoch as string, 0))
        expect(head?.createdAt).toBe(T0)
      })

      it("sorts positions as strings across a power of ten (seq 9 < seq 10 < seq 100)", async () => {
        const engine = await make()
        await engine.create(LOG)
        const stored: Entry[] = []
        for (let i = 0; i < 11; i++)
          stored.push(...appended(await engine.append(LOG, newEntries(10))).entries)
        const positions = stored.map((entry) => entry.position)
        expect([...positions].sort()).toEqual(positions)
        expect((positions[8] as string) < (positions[9] as string)).toBe(true)
        expect((positions[98] as string) < (positions[99] as string)).toBe(true)
      })

      it("answers head of an empty log with tail = floor = seq 0, and of a missing log with undefined", async () => {
        const engine = await make()
        expect(await engine.head(LOG)).toBeUndefined()
        const created = await engine.create(LOG, { meta: { contentType: "text/plain" } })
        expect(created.status).toBe("created")
        const head = await engine.head(LOG)
        expect(head?.tail).toBe(formatPosition(head?.epoch as string, 0))
        expect(head?.floor).toBe(head?.tail)
        expect(head?.config).toEqual({ meta: { contentType: "text/plain" } })
        expect(head?.expiresAt).toBeUndefined()
        expect(held(await engine.read(LOG, START, 5))).toEqual({
          held: true,
          after: head?.tail,
          entries: [],
          more: false,
          tail: head?.tail,
          closed: false,
        })
      })

      it("round-trips Unicode data and keys byte for byte (emoji, CJK, NUL, CR LF, long)", async () => {
        const engine = await make()
        const odd = [
          { data: "😀 emoji 👩‍👩‍👧", key: "🔑" },
          { data: "漢字かなカナ 한국어", key: "鍵" },
          { data: "nul\u0000inside\u0000", key: "k\u0000ey" },
          { data: "line\r\nline\rline\n", key: "\r\n" },
          { data: "" },
          { data: `${"x".repeat(100_000)}é` },
        ]
        const stored = appended(await engine.append(LOG, odd, { create: {} })).entries
        const read = held(await engine.read(LOG, START, 10)).entries
        expect(read.map((e) => [e.data, e.key])).toEqual(odd.map((e) => [e.data, e.key]))
        expect(read).toEqual(stored)
        expect(await engine.locate(LOG, "鍵")).toBe(stored[1]?.position)
        expect(await engine.locate(LOG, "k\u0000ey")).toBe(stored[2]?.position)
        expect(await engine.locate(LOG, "k")).toBeUndefined()
      })
    })

    describe("read", () => {
      it("pages after a position with `more` until the end, and says what it read after", async () => {
        const engine = await make()
        const stored = appended(await engine.append(LOG, newEntries(25), { create: {} })).entries
        const pos = (i: number) => stored[i]?.position as string
        const tail = pos(24)
        expect(await engine.read(LOG, pos(4), 10)).toEqual({
          held: true,
          after: pos(4),
          entries: stored.slice(5, 15),
          more: true,
          tail,
          closed: false,
        })
        expect(held(await engine.read(LOG, pos(14), 10))).toMatchObject({
          entries: stored.slice(15),
          more: false,
        })
        expect(held(await engine.read(LOG, pos(19), 5))).toMatchObject({
          entries: stored.slice(20),
          more: false,
        })
        expect(held(await engine.read(LOG, tail, 10))).toMatchObject({ entries: [], more: false })
        const first = held(await engine.read(LOG, START, 3))
        expect(first).toMatchObject({ entries: stored.slice(0, 3), more: true })
        expect(parsePosition(first.after)?.seq).toBe(0)
      })

      it("answers not held with every reason, echoing the position given", async () => {
        const engine = await make({ retention: { maxEntries: 3 } })
        expect(await engine.read(LOG, START, 5)).toEqual({ held: false, after: START, reason: "missing" })
        const stored = appended(await engine.append(LOG, newEntries(5), { create: {} })).entries
        const epoch = (await engine.head(LOG))?.epoch as string
        let other = newEpoch()
        while (other === epoch) other = newEpoch()
        const cases: [string, string][] = [
          [stored[0]?.position as string, "trimmed"],
          [formatPosition(epoch, 0), "trimmed"],
          [formatPosition(other, 1), "other-epoch"],
          [formatPosition(epoch, 6), "ahead"],
          [formatPosition(epoch, 1_000_000), "ahead"],
          ["nope", "malformed"],
          ["", "malformed"],
          ["-1", "malformed"],
          [`${epoch}_5`, "malformed"],
          [`${epoch.toUpperCase()}_0000000000000001`, "malformed"],
        ]
        for (const [after, reason] of cases) {
          expect(await engine.read(LOG, after, 5), after).toEqual({ held: false, after, reason })
        }
        // The position before the oldest held entry is the floor: reading after it is held.
        expect(seqs(held(await engine.read(LOG, stored[1]?.position as string, 5)).entries)).toEqual([
          3, 4, 5,
        ])
      })

      it("reads START from the floor once retention trimmed the oldest", async () => {
        const engine = await make({ retention: { maxEntries: 4 } })
        appended(await engine.append(LOG, newEntries(10), { create: {} }))
        const head = await engine.head(LOG)
        expect(parsePosition(head?.floor as string)?.seq).toBe(6)
        const read = held(await engine.read(LOG, START, 2))
        expect(read.after).toBe(head?.floor)
        expect(seqs(read.entries)).toEqual([7, 8])
        expect(read.more).toBe(true)
      })

      it("rejects bad arguments with errors naming them, storing nothing", async () => {
        const engine = await make()
        await engine.create(LOG)
        for (const limit of [0, -1, 1.5, Number.NaN]) {
          await expect(engine.read(LOG, START, limit)).rejects.toThrow(/limit/)
        }
        await expect(engine.list({ limit: 0 })).rejects.toThrow(/limit/)
        for (const log of ["", "x".repeat(1025)]) {
          await expect(engine.append(log, newEntries(1), { create: {} })).rejects.toThrow(/log/i)
          await expect(engine.read(log, START, 1)).rejects.toThrow(/log/i)
          await expect(engine.create(log)).rejects.toThrow(/log/i)
        }
        const bad = engine.append(LOG, "nope" as unknown as NewEntry[])
        await expect(bad).rejects.toThrow(TypeError)
        // A batch is all or nothing: one bad entry stores none.
        const batch = [{ data: "ok" }, { data: 5 }] as unknown as NewEntry[]
        await expect(engine.append(LOG, batch)).rejects.toThrow(/data/)
        await expect(engine.append(LOG, [{ data: "ok", key: 7 }] as unknown as NewEntry[])).rejects.toThrow(
          /key/,
        )
        await expect(engine.append(LOG, [null] as unknown as NewEntry[])).rejects.toThrow(TypeError)
        expect(await readAll(engine, LOG)).toEqual([])
        // The longest name allowed works.
        const longest = "n".repeat(1024)
        expect(appended(await engine.append(longest, newEntries(1), { create: {} })).entries).toHaveLength(1)
      })

      it("bounds a read by maxBytes: the first entry whatever its size, the next ones while they fit, `more` and `closed` right", async () => {
        const engine = await make()
        const sizes = [300, 300, 300, 50, 1000]
        const data = sizes.map((size, i) => `${i}`.padEnd(size, "x"))
        const stored = appended(
          await engine.append(
            LOG,
            data.map((d) => ({ data: d })),
            { create: {}, close: true },
          ),
        ).entries
        const pos = (i: number) => stored[i]?.position as string
        const read = async (after: string, limit: number, maxBytes: number) => {
          const result = held(await engine.read(LOG, after, limit, { maxBytes }))
          return { seqs: seqs(result.entries), more: result.more, closed: result.closed }
        }
        // Exactly full, one byte short, and less than the first entry (which comes anyway).
        expect(await read(START, 10, 600)).toEqual({ seqs: [1, 2], more: true, closed: false })
        expect(await read(START, 10, 599)).toEqual({ seqs: [1], more: true, closed: false })
        expect(await read(START, 10, 1)).toEqual({ seqs: [1], more: true, closed: false })
        // A small entry still fits after a large one; the next, too large, waits for the next read.
        expect(await read(pos(1), 10, 400)).toEqual({ seqs: [3, 4], more: true, closed: false })
        // The tail reached by bytes, by count, and not reached one entry before it.
        expect(await read(pos(2), 10, 1050)).toEqual({ seqs: [4, 5], more: false, closed: true })
        expect(await read(pos(2), 2, 5000)).toEqual({ seqs: [4, 5], more: false, closed: true })
        expect(await read(pos(2), 1, 5000)).toEqual({ seqs: [4], more: true, closed: false })
        expect(await read(pos(2), 10, 1049)).toEqual({ seqs: [4], more: true, closed: false })
        expect(await read(pos(3), 10, 1)).toEqual({ seqs: [5], more: false, closed: true })
        expect(await read(pos(4), 10, 1)).toEqual({ seqs: [], more: false, closed: true })
        // The bound does not change what a read answers otherwise.
        expect(held(await engine.read(LOG, pos(0), 10, { maxBytes: 5000 })).entries).toEqual(stored.slice(1))
        for (const maxBytes of [0, -1, 1.5, Number.NaN]) {
          await expect(engine.read(LOG, START, 10, { maxBytes })).rejects.toThrow(/maxBytes/)
        }
      })

      it("counts maxBytes as data.length or more, never less: a read of wide characters returns no more", async () => {
        const engine = await make()
        // 100 characters, 99 of them 2 bytes in UTF-8: an engine counting what it stores finds 199.
        const stored = appended(
          await engine.append(LOG, newEntries(5, "é".repeat(99)), { create: {} }),
        ).entries
        const read = held(await engine.read(LOG, START, 10, { maxBytes: 250 }))
        const bytes = read.entries.reduce((sum, entry) => sum + entry.data.length, 0)
        expect(read.entries.length).toBeGreaterThanOrEqual(1)
        expect(read.entries.length).toBeLessThanOrEqual(2)
        expect(bytes).toBeLessThanOrEqual(250)
        expect(read.entries).toEqual(stored.slice(0, read.entries.length))
        expect(read.more).toBe(true)
      })
    })

    describe("locate", () => {
      it("resolves a repeated key to the oldest held entry, then the next once it is trimmed", async () => {
        const engine = await make({ retention: { maxEntries: 3 } })
        await engine.create(LOG)
        const append = async (data: string, key?: string) =>
          appended(await engine.append(LOG, [key === undefined ? { data } : { data, key }]))
            .entries[0] as Entry
        const a = await append("a", "dup")
        const b = await append("b", "dup")
        await append("c", "x")
        expect(await engine.locate(LOG, "dup")).toBe(a.position)
        const d = await append("d", "dup")
        expect(await engine.locate(LOG, "dup")).toBe(b.position)
        await append("e", "y")
        expect(await engine.locate(LOG, "dup")).toBe(d.position)
        for (const data of ["f", "g", "h"]) await append(data)
        expect(await engine.locate(LOG, "dup")).toBeUndefined()
        const i = await append("i", "dup")
        expect(await engine.locate(LOG, "dup")).toBe(i.position)
        expect(await engine.locate("suite/missing", "dup")).toBeUndefined()
      })

      it("stays right through many trims (checked against a model)", async () => {
        const engine = await make({ retention: { maxEntries: 50 } })
        await engine.create(LOG)
        const next = seededRandom(7)
        const model: { key: string; position: string }[] = []
        for (let round = 0; round < 300; round++) {
          const batch = newEntries(
            1 + Math.floor(next() * 8),
            `r${round}-`,
            () => `k${Math.floor(next() * 12)}`,
          )
          const stored = appended(await engine.append(LOG, batch)).entries
          for (const entry of stored) model.push({ key: entry.key as string, position: entry.position })
          const kept = model.slice(-50)
          const key = `k${Math.floor(next() * 12)}`
          expect(await engine.locate(LOG, key)).toBe(kept.find((entry) => entry.key === key)?.position)
        }
      })

      it(`finds positions and keys among ${(suite.largeHistory ?? 50_000).toLocaleString("en-US")} entries`, async () => {
        const count = suite.largeHistory ?? 50_000
        const engine = await make({ retention: { maxEntries: count, maxAgeMs: Number.POSITIVE_INFINITY } })
        await engine.create(LOG)
        for (let done = 0; done < count; done += 5000) {
          const size = Math.min(5000, count - done)
          appended(
            await engine.append(
              LOG,
              newEntries(size, `e${done}-`, (i) => `key-${done + i}`),
            ),
          )
        }
        const epoch = (await engine.head(LOG))?.epoch as string
        for (const seq of [1, Math.floor(count / 2), count - 1]) {
          const position = await engine.locate(LOG, `key-${seq - 1}`)
          expect(position).toBe(formatPosition(epoch, seq))
          expect(seqs(held(await engine.read(LOG, position as string, 2)).entries)).toEqual(
            [seq + 1, seq + 2].filter((s) => s <= count),
          )
        }
      })
    })

    describe("retention", () => {
      it("keeps at most maxEntries, dropping the oldest first", async () => {
        const engine = await make({ retention: { maxEntries: 10 } })
        for (let i = 0; i < 35; i++) await engine.append(LOG, [{ data: `e${i}` }], { create: {} })
        expect(seqs(await readAll(engine, LOG))).toEqual(range(26, 35))
      })

      it("drops entries older than maxAgeMs by the engine's clock", async () => {
        const { engine, clock } = await makeClocked({ retention: { maxAgeMs: 1000 } })
        const [old] = appended(await engine.append(LOG, [{ data: "old" }], { create: {} })).entries
        clock.now += 600
        const [mid] = appended(await engine.append(LOG, [{ data: "mid" }])).entries
        clock.now += 600
        expect(await engine.read(LOG, START, 10)).toMatchObject({ held: true, entries: [mid] })
        expect(await engine.read(LOG, (old as Entry).position, 10)).toMatchObject({
          held: true,
          entries: [mid],
        })
        const epoch = (await engine.head(LOG))?.epoch as string
        expect(await engine.read(LOG, formatPosition(epoch, 0), 10)).toMatchObject({
          held: false,
          reason: "trimmed",
        })
        clock.now += 1000
        expect(held(await engine.read(LOG, START, 10)).entries).toEqual([])
        const head = await engine.head(LOG)
        expect(head?.floor).toBe(head?.tail)
        expect(head?.tail).toBe(mid?.position)
        const [fresh] = appended(await engine.append(LOG, [{ data: "new" }])).entries
        expect(fresh?.seq).toBe(3)
        expect(held(await engine.read(LOG, START, 10)).entries).toEqual([fresh])
      })

      it("reports a floor that reads as held once entries aged out, with no write since", async () => {
        const { engine, clock } = await makeClocked({ retention: { maxAgeMs: 1000 } })
        appended(await engine.append(LOG, newEntries(2), { create: {} }))
        clock.now += 1001
        const head = await engine.head(LOG)
        expect(head?.floor).toBe(head?.tail)
        expect(held(await engine.read(LOG, head?.floor as string, 10)).entries).toEqual([])
      })

      it("lets a log's own retention override the engine's", async () => {
        const engine = await make({ retention: { maxEntries: 5 } })
        await engine.create("suite/short", { retention: { maxEntries: 2 } })
        await engine.create("suite/long", {
          retention: { maxEntries: 8, maxAgeMs: Number.POSITIVE_INFINITY },
        })
        await engine.create("suite/default")
        for (const log of ["suite/short", "suite/long", "suite/default"]) {
          for (let i = 0; i < 10; i++) await engine.append(log, newEntries(1))
        }
        expect(seqs(await readAll(engine, "suite/short"))).toEqual([9, 10])
        expect(seqs(await readAll(engine, "suite/long"))).toEqual(range(3, 10))
        expect(seqs(await readAll(engine, "suite/default"))).toEqual(range(6, 10))
      })

      it("rejects nonsense retention with a clear error", async () => {
        await expect(
          Promise.resolve().then(() => makeEngine({ retention: { maxEntries: 0 } })),
        ).rejects.toThrow(/maxEntries/)
        await expect(
          Promise.resolve().then(() => makeEngine({ retention: { maxAgeMs: -1 } })),
        ).rejects.toThrow(/maxAgeMs/)
        const engine = await make()
        await expect(engine.create(LOG, { retention: { maxEntries: 1.5 } })).rejects.toThrow(/maxEntries/)
      })
    })

    describe("many logs", () => {
      it("lists a log that an append made, even when a check then refused the append", async () => {
        const engine = await make()
        expect(
          (
            await engine.append("suite/fenced", newEntries(1), {
              create: { owner: "a" },
              fence: { owner: "b" },
            })
          ).status,
        ).toBe("fenced")
        expect(
          (
            await engine.append("suite/gap", newEntries(1), {
              create: {},
              producer: { id: "p", epoch: 0, seq: 3 },
            })
          ).status,
        ).toBe("sequence-gap")
        expect((await engine.list({ prefix: "suite/", limit: 10 })).logs.map((log) => log.name)).toEqual([
          "suite/fenced",
          "suite/gap",
        ])
      })

      it("keeps 200 logs apart while their appends interleave", async () => {
        const engine = await make()
        const names = Array.from({ length: 200 }, (_, i) => `many/${String(i).padStart(3, "0")}`)
        for (let round = 0; round < 5; round++) {
          await Promise.all(
            names.map((log) => engine.append(log, [{ data: `${log}#${round}` }], { create: {} })),
          )
        }
        const epochs = new Set<string>()
        for (const log of names) {
          const all = await readAll(engine, log)
          expect(seqs(all)).toEqual([1, 2, 3, 4, 5])
          expect(all.map((e) => e.data)).toEqual(range(0, 4).map((round) => `${log}#${round}`))
          epochs.add((await engine.head(log))?.epoch as string)
        }
        expect(epochs.size).toBe(200)
        const listed: string[] = []
        let after: string | undefined
        for (let page = 0; page < 10; page++) {
          const list = await engine.list({
            prefix: "many/",
            limit: 50,
            ...(after === undefined ? {} : { after }),
          })
          listed.push(...list.logs.map((head) => head.name))
          after = list.next
          if (after === undefined) break
        }
        expect(listed).toEqual(names)
      })

      it("lists by prefix, after a name, in name order, a page at a time", async () => {
        const engine = await make()
        for (const log of ["b/2", "a/1", "b/1", "c", "b/10", "bb"]) await engine.create(log)
        const first = await engine.list({ prefix: "b/", limit: 2 })
        expect(first.logs.map((head) => head.name)).toEqual(["b/1", "b/10"])
        expect(first.next).toBeDefined()
        const second = await engine.list({ prefix: "b/", limit: 2, after: first.next as string })
        expect(second.logs.map((head) => head.name)).toEqual(["b/2"])
        expect(second.next).toBeUndefined()
        const all = await engine.list({ limit: 100 })
        expect(all.logs.map((head) => head.name)).toEqual(["a/1", "b/1", "b/10", "b/2", "bb", "c"])
        expect(all.next).toBeUndefined()
        expect((await engine.list({ limit: 10, after: "b/2" })).logs.map((head) => head.name)).toEqual([
          "bb",
          "c",
        ])
        expect((await engine.list({ prefix: "zz", limit: 10 })).logs).toEqual([])
      })
    })

    describe("closure", () => {
      it("closes with final entries atomically; refuses later appends; a repeated close succeeds", async () => {
        const engine = await make()
        await engine.append(LOG, newEntries(1), { create: {} })
        const closing = appended(await engine.append(LOG, newEntries(2, "last"), { close: true }))
        expect(closing).toMatchObject({ closed: true })
        expect(seqs(closing.entries)).toEqual([2, 3])
        expect((await engine.head(LOG))?.closed).toBe(true)
        expect(await engine.append(LOG, newEntries(1))).toEqual({ status: "closed", tail: closing.tail })
        expect(await engine.append(LOG, newEntries(1), { close: true })).toEqual({
          status: "closed",
          tail: closing.tail,
        })
        expect(appended(await engine.append(LOG, [], { close: true }))).toMatchObject({
          entries: [],
          closed: true,
          tail: closing.tail,
        })
        expect(seqs(await readAll(engine, LOG))).toEqual([1, 2, 3])
        expect(held(await engine.read(LOG, START, 2))).toMatchObject({ more: true, closed: false })
        expect(held(await engine.read(LOG, START, 3))).toMatchObject({ more: false, closed: true })
        expect(held(await engine.read(LOG, closing.tail, 3))).toMatchObject({ entries: [], closed: true })
      })

      it("tells watchers of a close with entries, and of a close with none", async () => {
        const engine = await make()
        await engine.create("suite/a")
        await engine.create("suite/b")
        const a = recordingSink()
        const b = recordingSink()
        await engine.watch("suite/a", a)
        await engine.watch("suite/b", b)
        await engine.append("suite/a", newEntries(1), { close: true })
        await engine.append("suite/b", [], { close: true })
        await until(() => a.batches.length > 0 && b.batches.length > 0, "the close notices")
        await engine.append("suite/b", [], { close: true })
        await settleTurns()
        expect(a.batches.map((batch) => [seqs(batch.entries), batch.closed])).toEqual([[[1], true]])
        expect(b.batches.map((batch) => [seqs(batch.entries), batch.closed])).toEqual([[[], true]])
      })
    })

    describe("expiry", () => {
      it("expires a log ttlMs after it was last appended to or read (head does not touch it)", async () => {
        const { engine, clock } = await makeClocked()
        await engine.create(LOG, { ttlMs: 1000 })
        expect((await engine.head(LOG))?.expiresAt).toBe(T0 + 1000)
        clock.now += 900
        await engine.append(LOG, newEntries(1))
        clock.now += 900
        expect(held(await engine.read(LOG, START, 1)).entries).toHaveLength(1)
        clock.now += 900
        expect((await engine.head(LOG))?.expiresAt).toBe(clock.now + 100)
        clock.now += 101
        expect(await engine.head(LOG)).toBeUndefined()
        expect(await engine.read(LOG, START, 1)).toMatchObject({ held: false, reason: "missing" })
        expect(await engine.append(LOG, newEntries(1))).toEqual({ status: "missing" })
        expect((await engine.list({ limit: 10 })).logs).toEqual([])
        expect(await engine.delete(LOG)).toBe(false)
      })

      it("does not slide ttlMs on a refused append", async () => {
        const { engine, clock } = await makeClocked()
        await engine.create(LOG, { ttlMs: 1000 })
        await engine.append(LOG, newEntries(1), { close: true })
        clock.now += 900
        expect((await engine.append(LOG, newEntries(1))).status).toBe("closed")
        expect((await engine.append(LOG, newEntries(1), { fence: { owner: "n9" } })).status).toBe("fenced")
        clock.now += 101
        expect(await engine.head(LOG)).toBeUndefined()
      })

      it("tells the watchers of a log that expires while nobody writes it", async () => {
        const engine = await make()
        await engine.create(LOG, { expiresAt: Date.now() + 300 })
        const sink = recordingSink()
        await engine.watch(LOG, sink)
        await until(() => sink.lost > 0, "onLost after the log expired", 4000)
        expect(await engine.head(LOG)).toBeUndefined()
      })

      it("does not slide ttlMs on a read with touch: false", async () => {
        const { engine, clock } = await makeClocked()
        await engine.create(LOG, { ttlMs: 1000 })
        await engine.append(LOG, newEntries(1))
        clock.now += 900
        expect(held(await engine.read(LOG, START, 1, { touch: false })).entries).toHaveLength(1)
        clock.now += 101
        expect(await engine.head(LOG)).toBeUndefined()
      })

      it("expires a log at expiresAt, touched or not; it may be created again, afresh", async () => {
        const { engine, clock } = await makeClocked()
        await engine.create(LOG, { expiresAt: T0 + 500 })
        const [old] = appended(await engine.append(LOG, newEntries(1))).entries
        clock.now += 499
        expect((await engine.head(LOG))?.expiresAt).toBe(T0 + 500)
        clock.now += 2
        expect(await engine.head(LOG)).toBeUndefined()
        expect((await engine.create(LOG)).status).toBe("created")
        expect(await engine.read(LOG, (old as Entry).position, 1)).toMatchObject({
          held: false,
          reason: "other-epoch",
        })
      })

      it("refuses ttlMs with expiresAt, and nonsense values", async () => {
        const engine = await make()
        await expect(engine.create(LOG, { ttlMs: 1000, expiresAt: T0 })).rejects.toThrow(/ttlMs|expiresAt/)
        await expect(engine.create(LOG, { ttlMs: 0 })).rejects.toThrow(/ttlMs/)
        await expect(engine.create(LOG, { expiresAt: Number.NaN })).rejects.toThrow(/expiresAt/)
        expect(await engine.head(LOG)).toBeUndefined()
      })
    })

    describe("delete", () => {
      it("deletes a log, tells its watchers, and a log created again has a new epoch", async () => {
        const engine = await make()
        const [old] = appended(await engine.append(LOG, newEntries(3), { create: {} })).entries
        const oldEpoch = (await engine.head(LOG))?.epoch
        const sink = recordingSink()
        await engine.watch(LOG, sink)
        expect(await engine.delete(LOG)).toBe(true)
        await until(() => sink.lost > 0, "onLost after delete")
        expect(await engine.delete(LOG)).toBe(false)
        expect(await engine.head(LOG)).toBeUndefined()
        expect(await engine.read(LOG, START, 5)).toMatchObject({ held: false, reason: "missing" })
        expect(await engine.locate(LOG, "anything")).toBeUndefined()
        const again = appended(await engine.append(LOG, newEntries(1), { create: {} }))
        expect(again.entries[0]?.seq).toBe(1)
        expect((await engine.head(LOG))?.epoch).not.toBe(oldEpoch)
        expect(await engine.read(LOG, (old as Entry).position, 5)).toMatchObject({
          held: false,
          reason: "other-epoch",
        })
      })

      it("appends with an epoch only to that incarnation: one made again answers missing and takes nothing", async () => {
        const engine = await make()
        await engine.create(LOG)
        const first = (await engine.head(LOG))?.epoch as string
        expect(appended(await engine.append(LOG, newEntries(1), { epoch: first })).entries).toHaveLength(1)
        await engine.delete(LOG)
        await engine.create(LOG)
        const second = (await engine.head(LOG))?.epoch as string
        expect(await engine.append(LOG, newEntries(1, "late"), { epoch: first, close: true })).toEqual({
          status: "missing",
        })
        expect(await engine.head(LOG)).toMatchObject({ closed: false, tail: formatPosition(second, 0) })
        expect(appended(await engine.append(LOG, newEntries(1), { epoch: second })).tail).toBe(
          formatPosition(second, 1),
        )
        await expect(engine.append(LOG, newEntries(1), { epoch: second, create: {} })).rejects.toThrow(
          /not both/,
        )
        await expect(engine.append(LOG, newEntries(1), { epoch: "Not An Epoch" })).rejects.toThrow(/epoch/)
      })
    })

    describe("create", () => {
      it("is idempotent for an equal config and a conflict for another; append can create", async () => {
        const engine = await make()
        const config = { ttlMs: 60_000, meta: { a: "1", b: "2" }, retention: { maxEntries: 9 } }
        const created = await engine.create(LOG, config)
        expect(created.status).toBe("created")
        const same = await engine.create(LOG, {
          retention: { maxEntries: 9 },
          meta: { b: "2", a: "1" },
          ttlMs: 60_000,
        })
        expect(same.status).toBe("exists")
        expect(same.head.epoch).toBe(created.head.epoch)
        const other = await engine.create(LOG, { ttlMs: 60_000 })
        expect(other.status).toBe("conflict")
        expect(other.head.config).toEqual(config)
        expect(await engine.append("suite/none", newEntries(1))).toEqual({ status: "missing" })
        expect(
          appended(await engine.append("suite/new", newEntries(1), { create: { meta: { m: "x" } } })),
        ).toBeTruthy()
        expect(
          appended(await engine.append("suite/new", newEntries(1), { create: { meta: { m: "x" } } })),
        ).toBeTruthy()
        const conflict = await engine.append("suite/new", newEntries(1), { create: {} })
        expect(conflict.status).toBe("conflict")
        expect(seqs(await readAll(engine, "suite/new"))).toEqual([1, 2])
      })
    })

    describe("what a config holds", () => {
      it("keeps a meta field named like a retention field as the string it is", async () => {
        const engine = await make()
        await engine.create(LOG, { meta: { maxAgeMs: "Infinity" } })
        expect((await engine.head(LOG))?.config.meta).toEqual({ maxAgeMs: "Infinity" })
      })

      it("compares only the retention fields that mean something", async () => {
        const engine = await make()
        const extra = { maxEntries: 5, extra: 1 } as unknown as Retention
        await engine.create(LOG, { retention: extra })
        expect((await engine.create(LOG, { retention: { maxEntries: 5 } })).status).toBe("exists")
      })
    })

    describe("text the store cannot hold", () => {
      it("stores a lone surrogate as U+FFFD, the same in the append's result, live and read back", async () => {
        const engine = await make()
        await engine.create(LOG)
        const sink = recordingSink()
        await engine.watch(LOG, sink)
        const [entry] = appended(await engine.append(LOG, [{ data: "x\ud800y", key: "k\udc00" }])).entries
        expect(entry).toMatchObject({ data: "x\ufffdy", key: "k\ufffd" })
        await until(() => sink.batches.length > 0, "the live entry")
        expect(sink.batches[0]?.entries[0]).toMatchObject({ data: "x\ufffdy", key: "k\ufffd" })
        expect((await readAll(engine, LOG))[0]).toMatchObject({ data: "x\ufffdy", key: "k\ufffd" })
        expect(await engine.locate(LOG, "k\ufffd")).toBe(entry?.position)
      })

      it("refuses a log name holding a lone surrogate, and lists names in UTF-8 byte order", async () => {
        const engine = await make()
        await expect(engine.create("a\ud800")).rejects.toThrow(/surrogate/)
        for (const name of ["a", "\u{1f600}", "\uff61"]) await engine.create(name)
        expect((await engine.list({ limit: 10 })).logs.map((log) => log.name)).toEqual([
          "a",
          "\uff61",
          "\u{1f600}",
        ])
        expect((await engine.list({ after: "\uff61", limit: 10 })).logs.map((log) => log.name)).toEqual([
          "\u{1f600}",
        ])
      })
    })

    describe("producer fences", () => {
      it("accepts, deduplicates and refuses by producer epoch and seq, writing nothing when refused", async () => {
        const engine = await make()
        await engine.create(LOG)
        const p = (epoch: number, seq: number, id = "p") => ({ producer: { id, epoch, seq } })
        expect(appended(await engine.append(LOG, newEntries(1, "a"), p(0, 0))).entries[0]?.seq).toBe(1)
        expect(await engine.append(LOG, newEntries(1, "a"), p(0, 0))).toMatchObject({
          status: "duplicate",
          lastSeq: 0,
        })
        appended(await engine.append(LOG, newEntries(1, "b"), p(0, 1)))
        const duplicate = await engine.append(LOG, newEntries(1, "a"), p(0, 0))
        expect(duplicate).toEqual({
          status: "duplicate",
          lastSeq: 1,
          tail: formatPosition((await engine.head(LOG))?.epoch as string, 2),
          closed: false,
        })
        expect(await engine.append(LOG, newEntries(1), p(0, 3))).toEqual({
          status: "sequence-gap",
          expectedSeq: 2,
          receivedSeq: 3,
        })
        expect(await engine.append(LOG, newEntries(1), p(1, 1))).toEqual({ status: "invalid-epoch-seq" })
        appended(await engine.append(LOG, newEntries(1, "c"), p(1, 0)))
        expect(await engine.append(LOG, newEntries(1), p(0, 2))).toEqual({
          status: "stale-epoch",
          currentEpoch: 1,
        })
        expect(await engine.append(LOG, newEntries(1), p(0, 5, "fresh"))).toEqual({
          status: "sequence-gap",
          expectedSeq: 0,
          receivedSeq: 5,
        })
        appended(await engine.append(LOG, newEntries(1, "d"), p(0, 0, "fresh")))
        // Producers are per log.
        appended(await engine.append("suite/other", newEntries(1), { create: {}, ...p(0, 0) }))
        expect((await readAll(engine, LOG)).map((e) => e.data)).toEqual(["a0", "b0", "c0", "d0"])
        await expect(
          engine.append(LOG, newEntries(1), { producer: { id: "", epoch: 0, seq: 0 } }),
        ).rejects.toThrow(/id/)
      })

      it("answers a retried close as a duplicate", async () => {
        const engine = await make()
        await engine.create(LOG)
        const options = { producer: { id: "p", epoch: 0, seq: 0 }, close: true }
        appended(await engine.append(LOG, newEntries(2), options))
        expect(await engine.append(LOG, newEntries(2), options)).toMatchObject({
          status: "duplicate",
          closed: true,
        })
        expect(
          await engine.append(LOG, newEntries(1), { producer: { id: "p", epoch: 0, seq: 1 } }),
        ).toMatchObject({
          status: "closed",
        })
      })

      it("checks the producer fence before closure: a stale epoch on a closed log is stale-epoch", async () => {
        const engine = await make()
        await engine.create(LOG)
        appended(
          await engine.append(LOG, newEntries(1), { producer: { id: "p", epoch: 1, seq: 0 }, close: true }),
        )
        expect(await engine.append(LOG, newEntries(1), { producer: { id: "p", epoch: 0, seq: 0 } })).toEqual({
          status: "stale-epoch",
          currentEpoch: 1,
        })
        expect(await engine.append(LOG, newEntries(1), { producer: { id: "p", epoch: 1, seq: 3 } })).toEqual({
          status: "sequence-gap",
          expectedSeq: 1,
          receivedSeq: 3,
        })
        expect(
          await engine.append(LOG, newEntries(1), { producer: { id: "p", epoch: 1, seq: 1 } }),
        ).toMatchObject({
          status: "closed",
        })
      })

      it("refuses a writer seq that does not sort after the last one", async () => {
        const engine = await make()
        await engine.create(LOG)
        appended(await engine.append(LOG, newEntries(1), { writerSeq: "0001" }))
        appended(await engine.append(LOG, newEntries(1), { writerSeq: "0002" }))
        for (const writerSeq of ["0002", "0001", "00019"]) {
          expect(await engine.append(LOG, newEntries(1), { writerSeq })).toEqual({
            status: "writer-seq-conflict",
            lastWriterSeq: "0002",
          })
        }
        appended(await engine.append(LOG, newEntries(1), { writerSeq: "0010" }))
        appended(await engine.append(LOG, newEntries(1)))
        expect(seqs(await readAll(engine, LOG))).toEqual([1, 2, 3, 4])
      })
    })

    describe("owner fences and leases", () => {
      it("lets only the owner append, and another node take over once the owner's lease expired", async () => {
        const { engine, clock } = await makeClocked()
        await engine.create(LOG, { owner: "n1" })
        await engine.holdLease("n1", 1000)
        appended(await engine.append(LOG, newEntries(1), { fence: { owner: "n1" } }))
        expect(await engine.append(LOG, newEntries(1), { fence: { owner: "n2" } })).toEqual({
          status: "fenced",
          owner: "n1",
        })
        expect(await engine.append(LOG, newEntries(1), { fence: { takeOver: "n2", from: "n1" } })).toEqual({
          status: "fenced",
          owner: "n1",
        })
        expect(await engine.append(LOG, newEntries(1), { fence: { takeOver: "n2", from: "n3" } })).toEqual({
          status: "fenced",
          owner: "n1",
        })
        clock.now += 1001
        expect(await engine.liveNodes()).toEqual([])
        appended(await engine.append(LOG, newEntries(1, "taken"), { fence: { takeOver: "n2", from: "n1" } }))
        // The old owner comes back: renewing its lease does not give the log back.
        await engine.holdLease("n1", 1000)
        expect(await engine.append(LOG, newEntries(1), { fence: { owner: "n1" } })).toEqual({
          status: "fenced",
          owner: "n2",
        })
        appended(await engine.append(LOG, newEntries(1), { fence: { owner: "n2" } }))
        expect((await engine.head(LOG))?.config.owner).toBe("n2")
        expect(seqs(await readAll(engine, LOG))).toEqual([1, 2, 3])
        // Creates compare the config the log was created with; the old owner's create-and-append
        // is fenced, not a conflict.
        expect((await engine.create(LOG, { owner: "n1" })).status).toBe("exists")
        expect((await engine.create(LOG, { owner: "n2" })).status).toBe("conflict")
        expect(
          await engine.append(LOG, newEntries(1), { create: { owner: "n1" }, fence: { owner: "n1" } }),
        ).toEqual({ status: "fenced", owner: "n2" })
      })

      it("takes a lease of a fractional number of milliseconds", async () => {
        const { engine } = await makeClocked()
        await engine.holdLease("n1", 1500.5)
        expect(await engine.liveNodes()).toEqual(["n1"])
      })

      it("keeps the owner when a takeover is refused by a later check", async () => {
        const engine = await make()
        await engine.create(LOG, { owner: "n1" })
        const takeOver = { fence: { takeOver: "n2", from: "n1" } }
        expect(
          await engine.append(LOG, newEntries(1), { ...takeOver, producer: { id: "p", epoch: 0, seq: 1 } }),
        ).toMatchObject({ status: "sequence-gap" })
        appended(await engine.append(LOG, [], { close: true }))
        expect(await engine.append(LOG, newEntries(1), takeOver)).toMatchObject({ status: "closed" })
        expect((await engine.head(LOG))?.config.owner).toBe("n1")
      })

      it("lets a takeover through at once when the owner released its lease", async () => {
        const engine = await make()
        await engine.create(LOG, { owner: "n1" })
        await engine.holdLease("n1", 60_000)
        await engine.releaseLease("n1")
        appended(await engine.append(LOG, newEntries(1), { fence: { takeOver: "n2", from: "n1" } }))
      })

      it("lists the nodes whose lease is current", async () => {
        const { engine, clock } = await makeClocked()
        expect(await engine.liveNodes()).toEqual([])
        await engine.holdLease("n1", 1000)
        await engine.holdLease("n2", 5000)
        expect([...(await engine.liveNodes())].sort()).toEqual(["n1", "n2"])
        clock.now += 900
        await engine.holdLease("n1", 1000)
        clock.now += 900
        expect([...(await engine.liveNodes())].sort()).toEqual(["n1", "n2"])
        clock.now += 1000
        expect(await engine.liveNodes()).toEqual(["n2"])
        await engine.releaseLease("n2")
        expect(await engine.liveNodes()).toEqual([])
      })
    })

    describe("stop requests", () => {
      it("sets a durable flag that appends and head report", async () => {
        const engine = await make()
        expect(await engine.requestStop(LOG)).toBe(false)
        await engine.create(LOG)
        expect(appended(await engine.append(LOG, newEntries(1))).stopRequested).toBe(false)
        expect(await engine.requestStop(LOG)).toBe(true)
        expect(appended(await engine.append(LOG, newEntries(1))).stopRequested).toBe(true)
        expect((await engine.head(LOG))?.stopRequested).toBe(true)
      })

      it("with an epoch marks only that incarnation: one made again is not marked and answers false", async () => {
        const engine = await make()
        await engine.create(LOG)
        const first = (await engine.head(LOG))?.epoch as string
        await engine.delete(LOG)
        expect(await engine.requestStop(LOG, { epoch: first })).toBe(false)
        await engine.create(LOG)
        const second = (await engine.head(LOG))?.epoch as string
        expect(await engine.requestStop(LOG, { epoch: first })).toBe(false)
        expect((await engine.head(LOG))?.stopRequested).toBe(false)
        expect(appended(await engine.append(LOG, newEntries(1))).stopRequested).toBe(false)
        expect(await engine.requestStop(LOG, { epoch: second })).toBe(true)
        expect((await engine.head(LOG))?.stopRequested).toBe(true)
        expect(appended(await engine.append(LOG, newEntries(1))).stopRequested).toBe(true)
        await expect(engine.requestStop(LOG, { epoch: "Not An Epoch" })).rejects.toThrow(/epoch/)
      })
    })

    describe("signals", () => {
      it("delivers every signal to every handler once; a stopped handler gets none", async () => {
        const engine = await make()
        const heard: string[][] = [[], [], []]
        const stops = heard.map((list) =>
          engine.onSignal((signal) => list.push(`${signal.topic}:${signal.payload}`)),
        )
        stops[2]?.()
        await engine.signal({ topic: "cancel", payload: "gen-1" })
        await engine.signal({ topic: "revoke", payload: "🔑" })
        await until(() => heard[0]?.length === 2 && heard[1]?.length === 2, "the signals")
        await settleTurns()
        expect(heard).toEqual([["cancel:gen-1", "revoke:🔑"], ["cancel:gen-1", "revoke:🔑"], []])
      })
    })

    describe("the live feed", () => {
      it("hands each batch to each watcher in log order, even for a log created after the watch", async () => {
        const engine = await make()
        const sinks = [recordingSink(), recordingSink()]
        const stops = await Promise.all(sinks.map((sink) => engine.watch(LOG, sink)))
        await engine.append(LOG, newEntries(2), { create: {} })
        await engine.append(LOG, newEntries(1))
        await engine.append("suite/elsewhere", newEntries(1), { create: {} })
        await until(() => sinks.every((sink) => sink.batches.length === 2), "two batches")
        stops[1]?.()
        stops[1]?.()
        await engine.append(LOG, newEntries(1))
        await until(() => sinks[0]?.batches.length === 3, "the third batch")
        await settleTurns()
        expect(sinks.map((sink) => sink.batches.map((batch) => seqs(batch.entries)))).toEqual([
          [[1, 2], [3], [4]],
          [[1, 2], [3]],
        ])
      })

      it("keeps feeding the other watchers, and stores the batch, when one throws; the error is logged", async () => {
        const logger = recordingLogger()
        const engine = await make({ logger })
        const sink = recordingSink()
        await engine.watch(LOG, {
          onAppend() {
            throw new Error("sink bug")
          },
          onLost() {},
        })
        await engine.watch(LOG, sink)
        appended(await engine.append(LOG, newEntries(1), { create: {} }))
        await until(() => sink.batches.length === 1, "the batch")
        // Info lines aside, and the warnings of what a Redis opened on risks (a test's keeps no AOF).
        expect(
          logger.entries
            .filter((entry) => entry.level !== "info" && !entry.message.startsWith("redis engine: Redis at "))
            .map((entry) => [entry.level, String((entry.fields as { err?: unknown }).err)]),
        ).toEqual([["error", "Error: sink bug"]])
      })

      it("never makes an append wait for a reader", async () => {
        const engine = await make()
        appended(await engine.append(LOG, newEntries(10), { create: {} }))
        // A reader stalled in its replay for good: live entries pile up behind it, appends go on.
        const follower = await follow(engine, LOG, START, { pageSize: 2, maxPending: 100_000 })
        const reader = stalledReader()
        void follower.start(reader.deliver, reader.whenWritable)
        await until(() => reader.stalls === 1, "the stall")
        for (let i = 0; i < 100; i++) appended(await engine.append(LOG, newEntries(10)))
        expect(parsePosition((await engine.head(LOG))?.tail as string)?.seq).toBe(1010)
        expect(seqs(reader.got)).toEqual([1])
        follower.stop()
      })
    })

    describe("follow()", () => {
      it("replays after a held position, then goes live, each entry once", async () => {
        const engine = await make()
        const stored = appended(await engine.append(LOG, newEntries(5), { create: {} })).entries
        const r = await followAndRecord(engine, LOG, stored[1]?.position, { pageSize: 2 })
        expect(r.follower.status).toBe("held")
        expect(r.follower.after).toBe(stored[1]?.position)
        await r.started
        await engine.append(LOG, newEntries(3))
        await until(() => r.got.length === 6, "six entries")
        await settleTurns()
        expect(seqs(r.got)).toEqual([3, 4, 5, 6, 7, 8])
        expect(r.ends).toEqual([])
        r.follower.stop()
      })

      it("has each read return no more than maxPageBytes, the first read too", async () => {
        const engine = await make()
        const sizes = [3000, 3000, 3000, 100, 100, 5000, 3000]
        const entries = sizes.map((size, i) => ({ data: `${i}`.padEnd(size, ".") }))
        appended(await engine.append(LOG, entries, { create: {} }))
        const returned: number[] = []
        const source: FollowSource = {
          watch: (log, sink) => engine.watch(log, sink),
          head: (log) => engine.head(log),
          read: async (log, after, limit, options) => {
            const result = await engine.read(log, after, limit, options)
            if (result.held) returned.push(result.entries.reduce((sum, entry) => sum + entry.data.length, 0))
            return result
          },
        }
        const got: Entry[] = []
        const follower = await follow(source, LOG, START, { maxPageBytes: 6200 })
        await follower.start(
          (entry) => got.push(entry) > 0,
          async () => {},
        )
        expect(seqs(got)).toEqual([1, 2, 3, 4, 5, 6, 7])
        // What fits in a page, and an entry that does not fit with the next alone.
        expect(returned).toEqual([6000, 3200, 5000, 3000])
        follower.stop()
      })

      it("replays everything held from START, and nothing old when live only", async () => {
        const engine = await make({ retention: { maxEntries: 4 } })
        appended(await engine.append(LOG, newEntries(6), { create: {} }))
        const all = await followAndRecord(engine, LOG, START, { pageSize: 3 })
        const live = await followAndRecord(engine, LOG, undefined)
        expect(all.follower.after).toBe((await engine.head(LOG))?.floor)
        expect(live.follower.status).toBe("live")
        expect(live.follower.after).toBe((await engine.head(LOG))?.tail)
        await Promise.all([all.started, live.started])
        await engine.append(LOG, newEntries(1))
        await until(() => all.got.length === 5 && live.got.length === 1, "the entries")
        expect(seqs(all.got)).toEqual([3, 4, 5, 6, 7])
        expect(seqs(live.got)).toEqual([7])
      })

      it("starts a live-only follower at the tail: nothing older is delivered, even from a late feed", async () => {
        // Fails for a follower that starts at -Infinity and trusts the feed: the feed here repeats
        // old batches, and an append lands between the watch and the head.
        const inner = await make()
        const stored = appended(await inner.append(LOG, newEntries(3), { create: {} })).entries
        let between: Entry[] = []
        class AppendBeforeHead extends LaggingFeed {
          override async head(log: string) {
            if (between.length === 0)
              between = [...appended(await inner.append(LOG, newEntries(1, "x"))).entries]
            return super.head(log)
          }
        }
        const engine = new AppendBeforeHead(inner, 1, FAITHFUL_FEED)
        const r = await followAndRecord(engine, LOG, undefined)
        expect(r.follower.after).toBe(between[0]?.position)
        await r.started
        engine.inject(LOG, stored)
        engine.inject(LOG, between)
        engine.inject(LOG, [...stored, ...between])
        const [y] = appended(await inner.append(LOG, newEntries(1, "y"))).entries
        engine.inject(LOG, [y as Entry])
        await until(() => r.got.length >= 1, "the live entry")
        await settleTurns()
        expect(r.got.map((e) => e.data)).toEqual(["y0"])
      })

      it("follows a log that does not exist yet from its first entry, in whatever epoch it gets", async () => {
        const engine = await make()
        const r = await followAndRecord(engine, LOG, undefined)
        expect(r.follower.status).toBe("live")
        expect(r.follower.after).toBeUndefined()
        await r.started
        await engine.append(LOG, newEntries(2), { create: {} })
        await engine.append(LOG, newEntries(1))
        await until(() => r.got.length === 3, "three entries")
        expect(seqs(r.got)).toEqual([1, 2, 3])
      })

      it("reports a position that is not held, then follows live from the tail or ends", async () => {
        const engine = await make({ retention: { maxEntries: 2 } })
        const stored = appended(await engine.append(LOG, newEntries(5), { create: {} })).entries
        const trimmed = await followAndRecord(engine, LOG, stored[0]?.position)
        expect(trimmed.follower).toMatchObject({
          status: "not-held",
          reason: "trimmed",
          after: stored[4]?.position,
        })
        const malformed = await followAndRecord(engine, LOG, "garbage")
        expect(malformed.follower).toMatchObject({ status: "not-held", reason: "malformed" })
        const ends: FollowEnd[] = []
        const ended = await follow(engine, LOG, stored[0]?.position as string, {
          notHeld: "end",
          onEnd: (reason) => ends.push(reason),
        })
        expect(ended).toMatchObject({ status: "not-held", reason: "trimmed" })
        const delivered: Entry[] = []
        await ended.start(
          (entry) => delivered.push(entry) > 0,
          async () => {},
        )
        await Promise.all([trimmed.started, malformed.started])
        await engine.append(LOG, newEntries(1))
        await until(() => trimmed.got.length === 1 && malformed.got.length === 1, "the live entry")
        await settleTurns()
        expect(seqs(trimmed.got)).toEqual([6])
        expect(seqs(malformed.got)).toEqual([6])
        expect(delivered).toEqual([])
        expect(ends).toEqual([])
      })

      it("ends with closed after the last entry: through a live close, a bare close, or a closed replay", async () => {
        const engine = await make()
        await engine.create("suite/a")
        await engine.create("suite/b")
        const a = await followAndRecord(engine, "suite/a", START, { batches: true })
        const b = await followAndRecord(engine, "suite/b", undefined)
        await Promise.all([a.started, b.started])
        await engine.append("suite/a", newEntries(1))
        await engine.append("suite/a", newEntries(2), { close: true })
        await engine.append("suite/b", newEntries(1))
        await engine.append("suite/b", [], { close: true })
        await until(() => a.ends.length > 0 && b.ends.length > 0, "the ends")
        expect([seqs(a.got), a.ends]).toEqual([[1, 2, 3], [{ reason: "closed", error: undefined }]])
        expect([seqs(b.got), b.ends.map((end) => end.reason)]).toEqual([[1], ["closed"]])
        const replay = await followAndRecord(engine, "suite/a", START, { pageSize: 2 })
        const live = await followAndRecord(engine, "suite/a", undefined)
        await Promise.all([replay.started, live.started])
        expect([seqs(replay.got), replay.ends.map((end) => end.reason)]).toEqual([[1, 2, 3], ["closed"]])
        expect([seqs(live.got), live.ends.map((end) => end.reason)]).toEqual([[], ["closed"]])
      })

      it("ends with closed when a bare close arrives while a fill read is in flight", async () => {
        // The read answers from before the close; the close notice must still cause a read.
        const inner = await make()
        appended(await inner.append(LOG, newEntries(3), { create: {} }))
        const engine = new SlowRead(inner)
        const r = await followAndRecord(engine, LOG, undefined)
        await r.started
        const [, fifth] = appended(await inner.append(LOG, newEntries(2))).entries
        engine.duringRead = async () => {
          appended(await inner.append(LOG, [], { close: true }))
          engine.inject(LOG, [], true)
        }
        engine.inject(LOG, [fifth as Entry])
        await until(() => r.ends.length > 0, "the end")
        expect(seqs(r.got)).toEqual([4, 5])
        expect(r.ends.map((end) => end.reason)).toEqual(["closed"])
      })

      // A fill read that finds nothing proves a hole only before entries stored when it ran: the
      // entry after the hole here was appended after it ran, its predecessor's notice lost (with a
      // loss heard, or silently), so the follower reads again instead of ending with a gap.
      const lostDuringEmptyRead: [string, boolean][] = [
        ["the feed lost and regained meanwhile", true],
        ["the notice of the entry before it dropped silently", false],
      ]
      for (const [how, lossHeard] of lostDuringEmptyRead) {
        it(`reads again when a fill read finds nothing and an entry after a hole comes while it is under way: ${how}`, async () => {
          const inner = await make()
          appended(await inner.append(LOG, newEntries(3), { create: {} }))
          const engine = new SlowRead(inner)
          const r = await followAndRecord(engine, LOG, undefined)
          await r.started
          engine.duringRead = async () => {
            appended(await inner.append(LOG, newEntries(1, "fourth")))
            if (lossHeard) for (const sink of engine.sinks) sink.onLost()
            const [fifth] = appended(await inner.append(LOG, newEntries(1, "fifth"))).entries
            engine.inject(LOG, [fifth as Entry])
          }
          // A loss while live: the follower reads after 3 and finds nothing (4 comes after the read).
          for (const sink of engine.sinks) sink.onLost()
          await until(() => r.got.length === 2 || r.ends.length > 0, "4 and 5, or an end")
          await settleTurns()
          expect(seqs(r.got)).toEqual([4, 5])
          expect(r.ends).toEqual([])
          r.follower.stop()
        })
      }

      it("ends with gap when entries still to replay are trimmed meanwhile", async () => {
        const engine = await make({ retention: { maxEntries: 10 } })
        appended(await engine.append(LOG, newEntries(10), { create: {} }))
        const ends: FollowEnd[] = []
        const follower = await follow(engine, LOG, START, {
          pageSize: 2,
          onEnd: (reason) => ends.push(reason),
        })
        const reader = stalledReader()
        const started = follower.start(reader.deliver, reader.whenWritable)
        await until(() => reader.stalls === 1, "the stall")
        appended(await engine.append(LOG, newEntries(20)))
        // The rest of the page read before the trim still goes; what comes after it is gone.
        reader.release()
        await until(() => reader.stalls === 2, "the second stall")
        reader.release()
        await started
        expect(ends).toEqual(["gap"])
        expect(seqs(reader.got)).toEqual([1, 2])
      })

      it("ends with pending when too many live entries pile up behind a slow replay", async () => {
        const engine = await make()
        appended(await engine.append(LOG, newEntries(4), { create: {} }))
        const ends: FollowEnd[] = []
        const follower = await follow(engine, LOG, START, {
          pageSize: 2,
          maxPending: 5,
          onEnd: (reason) => ends.push(reason),
        })
        const reader = stalledReader()
        const started = follower.start(reader.deliver, reader.whenWritable)
        await until(() => reader.stalls === 1, "the stall")
        for (let i = 0; i < 6; i++) await engine.append(LOG, newEntries(1))
        expect(ends).toEqual(["pending"])
        reader.release()
        await started
        await engine.append(LOG, newEntries(1))
        expect(seqs(reader.got)).toEqual([1])
        expect(ends).toEqual(["pending"])
      })

      it("reports a pile-up found before start() from start(), and not at all after stop()", async () => {
        const engine = await make()
        await engine.create(LOG)
        const ends: FollowEnd[][] = [[], []]
        const followers = await Promise.all(
          ends.map((list) =>
            follow(engine, LOG, START, { maxPending: 3, onEnd: (reason) => list.push(reason) }),
          ),
        )
        for (let i = 0; i < 4; i++) await engine.append(LOG, newEntries(1))
        expect(ends).toEqual([[], []])
        followers[1]?.stop()
        await followers[0]?.start(
          () => true,
          async () => {},
        )
        await followers[1]?.start(
          () => true,
          async () => {},
        )
        expect(ends).toEqual([["pending"], []])
      })

      it("ends with deleted when the log is deleted", async () => {
        const engine = await make()
        await engine.append(LOG, newEntries(1), { create: {} })
        const r = await followAndRecord(engine, LOG, START)
        await r.started
        await engine.delete(LOG)
        await until(() => r.ends.length > 0, "the end")
        expect(r.ends.map((end) => end.reason)).toEqual(["deleted"])
      })

      it("ends with error when deliver throws, and stops", async () => {
        const engine = await make()
        await engine.create(LOG)
        const ends: { reason: FollowEnd; error: unknown }[] = []
        const follower = await follow(engine, LOG, undefined, {
          onEnd: (reason, error) => ends.push({ reason, error }),
        })
        let calls = 0
        await follower.start(
          () => {
            calls++
            throw new Error("reader bug")
          },
          async () => {},
        )
        await engine.append(LOG, newEntries(1))
        await engine.append(LOG, newEntries(1))
        await until(() => ends.length > 0, "the end")
        await settleTurns()
        expect(calls).toBe(1)
        expect(ends.map((end) => [end.reason, String(end.error)])).toEqual([["error", "Error: reader bug"]])
      })

      it("hands a live batch to deliverBatch whole: the same array for every follower", async () => {
        const engine = await make()
        await engine.create(LOG)
        const followers = await Promise.all(
          [0, 1, 2].map(() => followAndRecord(engine, LOG, undefined, { batches: true })),
        )
        await Promise.all(followers.map((r) => r.started))
        await engine.append(LOG, newEntries(3))
        await engine.append(LOG, newEntries(1))
        await until(() => followers.every((r) => r.got.length === 4), "four entries each")
        const [first, ...others] = followers
        expect(first?.batches).toHaveLength(1)
        for (const r of others) expect(r.batches[0]).toBe(first?.batches[0])
        for (const r of followers) expect(seqs(r.got)).toEqual([1, 2, 3, 4])
      })

      it("waits for whenWritable before reading on, and stop() ends delivery and releases the watch", async () => {
        const engine = await make()
        appended(await engine.append(LOG, newEntries(6), { create: {} }))
        const ends: FollowEnd[] = []
        const follower = await follow(engine, LOG, START, {
          pageSize: 2,
          onEnd: (reason) => ends.push(reason),
        })
        const reader = stalledReader()
        const started = follower.start(reader.deliver, reader.whenWritable)
        await until(() => reader.stalls === 1, "the stall")
        await settleTurns()
        // Not the rest of the page: the entry that asked to wait is the last until it may go on.
        expect(seqs(reader.got)).toEqual([1])
        reader.release()
        await until(() => reader.stalls === 2, "the second stall")
        await settleTurns()
        expect(seqs(reader.got)).toEqual([1, 2])
        reader.release()
        await until(() => reader.stalls === 3, "the third stall")
        expect(seqs(reader.got)).toEqual([1, 2, 3])
        follower.stop()
        follower.stop()
        reader.release()
        await started
        await engine.append(LOG, newEntries(1))
        await settleTurns()
        expect(seqs(reader.got)).toEqual([1, 2, 3])
        expect(ends).toEqual([])
      })

      it("a live batch of several entries waits for whenWritable after the entry that asks to wait, then goes on live", async () => {
        const engine = await make()
        appended(await engine.append(LOG, newEntries(1), { create: {} }))
        const ends: FollowEnd[] = []
        const follower = await follow(engine, LOG, undefined, { onEnd: (reason) => ends.push(reason) })
        // A reader that keeps up, but whose transport is full after the second entry of a batch.
        const got: Entry[] = []
        let release: () => void = () => {}
        let waits = 0
        await follower.start(
          (entry) => {
            got.push(entry)
            return got.length !== 2
          },
          () =>
            new Promise<void>((resolve) => {
              waits++
              release = resolve
            }),
        )
        appended(await engine.append(LOG, newEntries(5)))
        await until(() => waits === 1, "the wait")
        await settleTurns()
        expect(seqs(got)).toEqual([2, 3])
        // Appended while it waits: held, then delivered in order after the rest of the batch.
        appended(await engine.append(LOG, newEntries(2)))
        await settleTurns()
        expect(seqs(got)).toEqual([2, 3])
        release()
        await until(() => got.length === 7, "the rest")
        expect(seqs(got)).toEqual([2, 3, 4, 5, 6, 7, 8])
        // Live again: the next batch comes straight from the feed.
        appended(await engine.append(LOG, newEntries(2), { close: true }))
        await until(() => ends.length === 1, "the end")
        expect(seqs(got)).toEqual(range(2, 10))
        expect(ends).toEqual(["closed"])
        expect(waits).toBe(1)
      })

      it("delivers every entry exactly once, in order, through a lagging feed", async () => {
        for (const seed of [1, 2, 3]) {
          const engine = new LaggingFeed(await make(), seed)
          const stored = appended(await engine.append(LOG, newEntries(20), { create: {} })).entries
          const random = seededRandom(seed)
          const followers = [
            await followAndRecord(engine, LOG, START, { pageSize: 3 }),
            await followAndRecord(engine, LOG, stored[9]?.position, { pageSize: 4, batches: true }),
            await followAndRecord(engine, LOG, undefined, { batches: true }),
          ]
          for (let i = 0; i < 150; i++) {
            appended(await engine.append(LOG, newEntries(1 + Math.floor(random() * 4))))
            if (random() < 0.3) await new Promise((resolve) => setTimeout(resolve, 1))
          }
          appended(await engine.append(LOG, [], { close: true }))
          const tail = parsePosition((await engine.head(LOG))?.tail as string)?.seq as number
          for (let round = 0; round < 500 && !followers.every((r) => r.ends.length > 0); round++) {
            engine.settle()
            await new Promise((resolve) => setTimeout(resolve, 2))
          }
          const [all, mid, live] = followers as [Recorded, Recorded, Recorded]
          expect(seqs(all.got), `seed ${seed}`).toEqual(range(1, tail))
          expect(seqs(mid.got), `seed ${seed}`).toEqual(range(11, tail))
          expect(seqs(live.got), `seed ${seed}`).toEqual(range(21, tail))
          for (const r of followers) expect(r.ends.map((end) => end.reason)).toEqual(["closed"])
          expect(
            Object.values(engine.faults).every((count) => count > 0),
            JSON.stringify(engine.faults),
          ).toBe(true)
        }
      })

      const seed = Number(process.env.HERALD_FC_SEED ?? Math.floor(Math.random() * 2 ** 31))
      it(`hands over from replay to live without duplicates under random interleavings (fast-check seed ${seed})`, async () => {
        const op = fc.oneof(
          fc.record({ kind: fc.constant("append" as const), count: fc.integer({ min: 1, max: 4 }) }),
          fc.record({
            kind: fc.constant("follow" as const),
            from: fc.oneof(fc.constant("start" as const), fc.constant("live" as const), fc.nat({ max: 60 })),
            pageSize: fc.integer({ min: 1, max: 5 }),
          }),
          fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 2 }) }),
          fc.constant({ kind: "settle" as const }),
        )
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), fc.nat(), async (ops, feedSeed) => {
            const inner = await makeEngine({})
            try {
              const engine = new LaggingFeed(inner, feedSeed)
              const random = seededRandom(feedSeed)
              await engine.create(LOG)
              let tail = 0
              const followers: { r: Recorded; first: [number, number] }[] = []
              for (const step of ops) {
                if (step.kind === "append") {
                  tail = appended(await engine.append(LOG, newEntries(step.count))).entries.at(-1)
                    ?.seq as number
                } else if (step.kind === "wait") {
                  await new Promise((resolve) => setTimeout(resolve, step.ms))
                } else if (step.kind === "settle") {
                  engine.settle()
                } else {
                  const before = tail
                  const at = typeof step.from === "number" ? Math.min(step.from, tail) : step.from
                  const epoch = (await engine.head(LOG))?.epoch as string
                  const from = at === "start" ? START : at === "live" ? undefined : formatPosition(epoch, at)
                  const ends: Recorded["ends"] = []
                  const follower = await follow(engine, LOG, from, {
                    pageSize: step.pageSize,
                    onEnd: (reason, error) => ends.push({ reason, error }),
                  })
                  const got: Entry[] = []
                  const started = follower.start(
                    (entry) => got.push(entry) > 0 && random() < 0.7,
                    () => new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 2))),
                  )
                  const first: [number, number] =
                    at === "start" ? [1, 1] : at === "live" ? [before + 1, tail + 1] : [at + 1, at + 1]
                  followers.push({ r: { follower, got, batches: [], ends, started }, first })
                }
              }
              appended(await engine.append(LOG, [], { close: true }))
              for (let round = 0; round < 500 && !followers.every(({ r }) => r.ends.length > 0); round++) {
                engine.settle()
                await new Promise((resolve) => setTimeout(resolve, 1))
              }
              for (const { r, first } of followers) {
                expect(r.ends.map((end) => end.reason)).toEqual(["closed"])
                const got = seqs(r.got)
                const start = got[0] ?? tail + 1
                expect(start).toBeGreaterThanOrEqual(first[0])
                expect(start).toBeLessThanOrEqual(first[1])
                expect(got).toEqual(range(start, tail))
              }
            } finally {
              await inner.close()
            }
          }),
          { numRuns: suite.propertyRuns ?? 25, seed },
        )
      })
    })
  })
}
