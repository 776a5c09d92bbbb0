// One suite for every engine: the invariants of src/hub/engine/engine.ts, checked the same way on
// memory, sqlite and (later) redis. Each engine's test file calls describeEngine() once.
import { afterEach, describe, expect, it } from "vitest"
import {
  EARLIEST,
  type Engine,
  type NewUpdate,
  type ReadResult,
  type RetentionLimits,
  type StoredUpdate,
} from "../../src/hub/engine/engine.js"
import { follow } from "../../src/hub/engine/follow.js"
import type { Logger } from "../../src/logger.js"
import { createParser, encode, type ServerSentEvent } from "../../src/protocol/index.js"
import { recordingLogger } from "../server/helpers.js"

/** What the suite may ask of an engine factory. */
export interface EngineTestOptions {
  readonly retention?: RetentionLimits
  readonly now?: () => number
  readonly logger?: Logger
}

/** Makes a fresh, empty engine for one test. */
export type EngineFactory = (options: EngineTestOptions) => Engine | Promise<Engine>

/** Suite knobs for engines whose bulk writes cost more. */
export interface EngineSuiteOptions {
  /** Updates in the large-history check. Default 200 000. */
  readonly largeHistory?: number
}

/** A plain update on one topic. */
export function update(data: string, extra: Partial<NewUpdate> = {}): NewUpdate {
  return { topics: ["https://example.com/books/1"], data, private: false, ...extra }
}

/** The updates of a found read; fails the test on a not-found. */
export function found(result: ReadResult): readonly StoredUpdate[] {
  if (!result.found) throw new Error("expected the cursor to be found")
  return result.updates
}

/** Reads everything held, oldest first, through readAfter pages. */
async function readAll(engine: Engine): Promise<StoredUpdate[]> {
  const all: StoredUpdate[] = [...found(await engine.readAfter(EARLIEST, 1000))]
  for (;;) {
    const last = all[all.length - 1]
    if (last === undefined) return all
    const page = await engine.readAfterSeq(last.seq, 1000)
    const updates = found(page)
    if (updates.length === 0) return all
    all.push(...updates)
  }
}

/**
 * Follows `engine` from the earliest update, two per page, with a subscriber whose first
 * delivery blocks until `release()`; resolves once the replay is stalled on it.
 */
async function startStalledReplay(engine: Engine, options: { maxPending?: number } = {}) {
  const reasons: string[] = []
  const follower = await follow(engine, EARLIEST, {
    pageSize: 2,
    ...options,
    onOverflow: (reason) => reasons.push(reason),
  })
  const got: string[] = []
  let unblock: () => void = () => {}
  let stalled: () => void = () => {}
  const isStalled = new Promise<void>((resolve) => {
    stalled = resolve
  })
  const started = follower.start(
    (u) => {
      got.push(u.data)
      return false // asks to wait: the replay calls whenWritable next
    },
    () => {
      stalled()
      return new Promise<void>((resolve) => {
        unblock = resolve
      })
    },
  )
  await isStalled
  return { reasons, got, started, release: () => unblock() }
}

/** Parses one SSE frame with Herald's parser: what a subscriber would see. */
function parseFrame(frame: string): { events: ServerSentEvent[]; retries: number[] } {
  const events: ServerSentEvent[] = []
  const retries: number[] = []
  const parser = createParser({ onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms) })
  parser.feed(frame)
  return { events, retries }
}

/** A deterministic pseudo-random sequence (tests must be repeatable). */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

/** Checks the invariants of the engine contract on the engines `makeEngine` creates. */
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
    afterEach(async () => {
      await Promise.all(open.splice(0).map((engine) => engine.close()))
    })

    describe("order and ids", () => {
      it("orders updates by strictly increasing seq, keeps given ids and generates urn:uuid ones", async () => {
        const engine = await make()
        expect(engine.name).toBe(name)
        expect(await engine.lastId()).toBeUndefined()
        const first = await engine.append([update("a", { id: "given-1" }), update("b")])
        const second = await engine.append([update("c", { type: "note", retry: 1500, private: true })])
        const all = [...first, ...second]
        expect(all.map((u) => u.data)).toEqual(["a", "b", "c"])
        for (let i = 1; i < all.length; i++) expect(all[i]?.seq).toBeGreaterThan(all[i - 1]?.seq as number)
        expect(all[0]?.id).toBe("given-1")
        expect(all[1]?.id).toMatch(
          /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        )
        expect(all[2]?.id).not.toBe(all[1]?.id)
        expect(all[2]).toMatchObject({ type: "note", retry: 1500, private: true })
        expect(all[0]).toMatchObject({ type: undefined, retry: undefined, private: false })
        expect(await engine.lastId()).toBe(all[2]?.id)
        // What is read back is what was stored, field for field.
        expect(await readAll(engine)).toEqual(all)
      })

      it("serializes each update once, into the frame a subscriber parses back", async () => {
        const engine = await make()
        const [plain, typed] = await engine.append([
          update("line 1\nline 2", { id: "x1" }),
          update("{}", { id: "x2", type: "book", retry: 2000 }),
        ])
        expect(plain?.frame).toBe(encode({ id: "x1", data: "line 1\nline 2" }))
        expect(typed?.frame).toBe(encode({ id: "x2", event: "book", retry: 2000, data: "{}" }))
        const parsed = parseFrame(typed?.frame ?? "")
        expect(parsed.events).toEqual([{ type: "book", data: "{}", lastEventId: "x2" }])
        expect(parsed.retries).toEqual([2000])
        const replayed = found(await engine.readAfter(EARLIEST, 10))
        expect(replayed.map((u) => u.frame)).toEqual([plain?.frame, typed?.frame])
      })

      it("stamps updates with the engine's clock and keeps topics in order", async () => {
        let clock = 1_700_000_000_000
        const engine = await make({ now: () => clock })
        const [a] = await engine.append([update("a", { topics: ["urn:t:1", "urn:t:alt"] })])
        clock += 5
        const [b] = await engine.append([update("b")])
        expect(a?.time).toBe(1_700_000_000_000)
        expect(b?.time).toBe(1_700_000_000_005)
        expect(found(await engine.readAfter(EARLIEST, 1))[0]?.topics).toEqual(["urn:t:1", "urn:t:alt"])
      })

      it("hands every batch to every listener, in order, exactly once, before append resolves", async () => {
        const engine = await make()
        const seen: string[][] = [[], []]
        const stops = [0, 1].map((i) => engine.listen((batch) => seen[i]?.push(...batch.map((u) => u.data))))
        const appended = engine.append([update("1"), update("2")])
        // Listeners run as part of the append, before its promise settles.
        const order: string[] = []
        await appended.then(() => order.push(`resolved after ${seen[0]?.length}`))
        expect(order).toEqual(["resolved after 2"])
        await engine.append([update("3")])
        stops[1]?.()
        stops[1]?.()
        await engine.append([update("4")])
        expect(seen).toEqual([
          ["1", "2", "3", "4"],
          ["1", "2", "3"],
        ])
      })

      it("keeps every listener in order when a listener appends while it runs", async () => {
        const engine = await make()
        const seen: number[][] = [[], [], []]
        let reactions = 0
        engine.listen((batch) => {
          seen[0]?.push(...batch.map((u) => u.seq))
          // A reaction to a delivery, as a hub publishing a subscription event would do.
          if (reactions++ < 3) void engine.append([update("reaction")])
        })
        engine.listen((batch) => seen[1]?.push(...batch.map((u) => u.seq)))
        engine.listen((batch) => seen[2]?.push(...batch.map((u) => u.seq)))
        await engine.append([update("a"), update("b")])
        await new Promise((resolve) => setImmediate(resolve))
        const all = (await readAll(engine)).map((u) => u.seq)
        expect(all).toHaveLength(5)
        for (const list of seen) expect(list).toEqual(all)
      })

      it("gives every listener the same frame string: serialized once, not per subscriber", async () => {
        const engine = await make()
        const frames: string[][] = [[], [], []]
        for (const list of frames) engine.listen((batch) => list.push(...batch.map((u) => u.frame)))
        const [stored] = await engine.append([update("shared")])
        for (const list of frames) expect(list[0]).toBe(stored?.frame)
        expect(Buffer.from(frames[0]?.[0] ?? "")).toEqual(Buffer.from(stored?.frame ?? "x"))
      })

      it("keeps delivering to the other listeners, and stores the update, when one listener throws; the error goes to the logger", async () => {
        const logger = recordingLogger()
        const engine = await make({ logger })
        const got: string[] = []
        engine.listen(() => {
          throw new Error("listener bug")
        })
        engine.listen((batch) => got.push(...batch.map((u) => u.data)))
        await expect(engine.append([update("still here")])).resolves.toHaveLength(1)
        expect(got).toEqual(["still here"])
        expect(found(await engine.readAfter(EARLIEST, 5)).map((u) => u.data)).toEqual(["still here"])
        expect(logger.entries.map((entry) => [entry.level, String(entry.fields.err)])).toEqual([
          ["error", "Error: listener bug"],
        ])
      })
    })

    describe("readAfter", () => {
      it("pages through the history after a cursor with `more` set until the end", async () => {
        const engine = await make()
        const stored = await engine.append(
          Array.from({ length: 25 }, (_, i) => update(`e${i}`, { id: `id-${i}` })),
        )
        const first = await engine.readAfter("id-4", 10)
        expect(first).toEqual({ found: true, updates: stored.slice(5, 15), more: true })
        const second = await engine.readAfter("id-14", 10)
        expect(second).toEqual({ found: true, updates: stored.slice(15, 25), more: false })
        expect(await engine.readAfter("id-24", 10)).toEqual({ found: true, updates: [], more: false })
        expect(await engine.readAfter(EARLIEST, 3)).toEqual({
          found: true,
          updates: stored.slice(0, 3),
          more: true,
        })
        const exact = await engine.readAfter("id-19", 5)
        expect(exact).toEqual({ found: true, updates: stored.slice(20, 25), more: false })
      })

      it("pages by seq as well, and answers a seq at or past the newest with nothing", async () => {
        const engine = await make()
        const stored = await engine.append(Array.from({ length: 6 }, (_, i) => update(`e${i}`)))
        const from = stored[1]?.seq as number
        expect(await engine.readAfterSeq(from, 2)).toEqual({
          found: true,
          updates: stored.slice(2, 4),
          more: true,
        })
        const last = stored[5]?.seq as number
        expect(await engine.readAfterSeq(last, 2)).toEqual({ found: true, updates: [], more: false })
        expect(await engine.readAfterSeq(last + 100, 2)).toEqual({ found: true, updates: [], more: false })
      })

      it("reads `earliest` on an empty engine as found and empty", async () => {
        const engine = await make()
        expect(await engine.readAfter(EARLIEST, 10)).toEqual({ found: true, updates: [], more: false })
      })

      it("rejects a nonsense limit with a clear error", async () => {
        const engine = await make()
        await expect(engine.readAfter(EARLIEST, 0)).rejects.toThrow(/limit must be a positive integer/)
        await expect(engine.readAfter(EARLIEST, 1.5)).rejects.toThrow(/limit must be a positive integer/)
      })
    })

    describe("cursors the engine does not hold", () => {
      it("answers an unknown cursor, or one from another hub, with found: false", async () => {
        const engine = await make()
        const other = await make()
        const [foreign] = await other.append([update("elsewhere")])
        await engine.append([update("here", { id: "here-1" })])
        expect(await engine.readAfter("never-seen", 10)).toEqual({ found: false })
        expect(await engine.readAfter(foreign?.id as string, 10)).toEqual({ found: false })
        expect(await engine.readAfter("", 10)).toEqual({ found: false })
      })

      it("answers an evicted cursor with found: false, and a seq whose successor was evicted too", async () => {
        const engine = await make({ retention: { maxEvents: 3 } })
        const stored = await engine.append(
          Array.from({ length: 5 }, (_, i) => update(`e${i}`, { id: `id-${i}` })),
        )
        expect(await engine.readAfter("id-0", 10)).toEqual({ found: false })
        expect(await engine.readAfter("id-1", 10)).toEqual({ found: false })
        // id-1 is gone but everything after it is still held: a seq cursor there has no gap.
        expect(found(await engine.readAfterSeq(stored[1]?.seq as number, 10)).map((u) => u.id)).toEqual([
          "id-2",
          "id-3",
          "id-4",
        ])
        expect(await engine.readAfterSeq(stored[0]?.seq as number, 10)).toEqual({ found: false })
        expect(found(await engine.readAfter("id-2", 10)).map((u) => u.id)).toEqual(["id-3", "id-4"])
      })
    })

    describe("reused ids", () => {
      it("resolve to the earliest held update with that id", async () => {
        const engine = await make()
        const stored = await engine.append([
          update("a", { id: "dup" }),
          update("b", { id: "other" }),
          update("c", { id: "dup" }),
          update("d"),
        ])
        expect(found(await engine.readAfter("dup", 10))).toEqual(stored.slice(1))
      })

      it("resolve to the next use once the earliest is evicted, and not-found once all are", async () => {
        const engine = await make({ retention: { maxEvents: 3 } })
        await engine.append([
          update("a", { id: "dup" }),
          update("b", { id: "dup" }),
          update("c", { id: "x" }),
        ])
        expect(found(await engine.readAfter("dup", 10)).map((u) => u.data)).toEqual(["b", "c"])
        await engine.append([update("d", { id: "dup" })])
        // "a" is evicted: "dup" now means "b".
        expect(found(await engine.readAfter("dup", 10)).map((u) => u.data)).toEqual(["c", "d"])
        await engine.append([update("e", { id: "y" })])
        // "b" is evicted: "dup" now means "d".
        expect(found(await engine.readAfter("dup", 10)).map((u) => u.data)).toEqual(["e"])
        await engine.append([update("f"), update("g"), update("h")])
        expect(await engine.readAfter("dup", 10)).toEqual({ found: false })
        // A fresh use after every old one was evicted is found again.
        await engine.append([update("i", { id: "dup" }), update("j")])
        expect(found(await engine.readAfter("dup", 10)).map((u) => u.data)).toEqual(["j"])
      })

      it("stay correct through many evictions (checked against a model)", async () => {
        const engine = await make({ retention: { maxEvents: 50 } })
        const next = random(7)
        const model: { id: string; data: string }[] = []
        // 600 rounds: some 2 700 updates, enough for the memory engine to compact its buffer twice.
        for (let round = 0; round < 600; round++) {
          const batch = Array.from({ length: 1 + Math.floor(next() * 8) }, (_, i) =>
            update(`r${round}-${i}`, { id: `k${Math.floor(next() * 12)}` }),
          )
          await engine.append(batch)
          for (const u of batch) model.push({ id: u.id as string, data: u.data })
          const held = model.slice(-50)
          const id = `k${Math.floor(next() * 12)}`
          const earliest = held.findIndex((u) => u.id === id)
          const result = await engine.readAfter(id, 100)
          if (earliest === -1) expect(result).toEqual({ found: false })
          else expect(found(result).map((u) => u.data)).toEqual(held.slice(earliest + 1).map((u) => u.data))
        }
      })
    })

    describe("retention", () => {
      it("keeps at most maxEvents, dropping the oldest first", async () => {
        const engine = await make({ retention: { maxEvents: 10 } })
        for (let i = 0; i < 35; i++) await engine.append([update(`e${i}`, { id: `id-${i}` })])
        const held = await readAll(engine)
        expect(held.map((u) => u.id)).toEqual(Array.from({ length: 10 }, (_, i) => `id-${25 + i}`))
        expect(await engine.readAfter("id-24", 1)).toEqual({ found: false })
        expect(await engine.lastId()).toBe("id-34")
      })

      it("drops updates older than maxAgeMs, by the engine's clock", async () => {
        let clock = 1_000_000
        const engine = await make({ retention: { maxAgeMs: 1000 }, now: () => clock })
        await engine.append([update("old", { id: "old" })])
        clock += 600
        await engine.append([update("mid", { id: "mid" })])
        clock += 600
        // "old" is 1200 ms old now; "mid" 600 ms.
        expect(await engine.readAfter("old", 10)).toEqual({ found: false })
        expect(found(await engine.readAfter(EARLIEST, 10)).map((u) => u.id)).toEqual(["mid"])
        expect(await engine.lastId()).toBe("mid")
        clock += 1000
        expect(await engine.readAfter("mid", 10)).toEqual({ found: false })
        expect(await engine.readAfter(EARLIEST, 10)).toEqual({ found: true, updates: [], more: false })
        expect(await engine.lastId()).toBeUndefined()
        const [fresh] = await engine.append([update("new", { id: "new" })])
        expect(found(await engine.readAfter(EARLIEST, 10))).toEqual([fresh])
      })

      it("rejects nonsense limits with a clear error", async () => {
        await expect(
          Promise.resolve().then(() => makeEngine({ retention: { maxEvents: 0 } })),
        ).rejects.toThrow(/maxEvents must be a positive integer/)
        await expect(
          Promise.resolve().then(() => makeEngine({ retention: { maxAgeMs: -1 } })),
        ).rejects.toThrow(/maxAgeMs must be a positive number/)
      })
    })

    describe("bad input", () => {
      it("rejects a type or id with CR, LF or NUL: nothing is stored, no listener runs", async () => {
        const engine = await make()
        const heard: StoredUpdate[] = []
        engine.listen((batch) => heard.push(...batch))
        await engine.append([update("before", { id: "before" })])
        for (const bad of [
          update("x", { type: "a\nevent: injected" }),
          update("x", { type: "a\rb" }),
          update("x", { id: "1\nretry: 1" }),
          update("x", { id: "1\r\nb" }),
          update("x", { id: "a\0b" }),
        ]) {
          // The good update in front must not be stored either: a batch is all or nothing.
          await expect(engine.append([update("good"), bad])).rejects.toThrow(/must not contain CR, LF or NUL/)
        }
        expect(heard.map((u) => u.data)).toEqual(["before"])
        expect(await engine.lastId()).toBe("before")
        expect(found(await engine.readAfter(EARLIEST, 10)).map((u) => u.data)).toEqual(["before"])
        // And the engine goes on working.
        const [after] = await engine.append([update("after")])
        expect(after?.seq).toBeGreaterThan(heard[0]?.seq as number)
      })

      it("rejects other malformed updates with errors that name the field", async () => {
        const engine = await make()
        await expect(engine.append([update("x", { topics: [] })])).rejects.toThrow(/topics/)
        await expect(engine.append([update("x", { retry: -5 })])).rejects.toThrow(/retry/)
        await expect(engine.append([update("x", { id: "" })])).rejects.toThrow(/id/)
        await expect(engine.append([update("x", { id: EARLIEST })])).rejects.toThrow(/reserved/)
        await expect(
          engine.append([{ topics: ["t"], private: false } as unknown as NewUpdate]),
        ).rejects.toThrow(/data/)
        expect(await engine.lastId()).toBeUndefined()
      })

      it("refuses work once closed, with a clear error", async () => {
        const engine = await make()
        await engine.close()
        await expect(engine.append([update("late")])).rejects.toThrow(/closed/)
        await expect(engine.readAfter(EARLIEST, 1)).rejects.toThrow(/closed/)
        await engine.close()
      })
    })

    describe("follow()", () => {
      it("replays after a found cursor, then goes live, each update once", async () => {
        const engine = await make()
        const stored = await engine.append(
          Array.from({ length: 5 }, (_, i) => update(`e${i}`, { id: `id-${i}` })),
        )
        const follower = await follow(engine, "id-1")
        expect(follower.status).toBe("found")
        // Published between the lookup and start(): held back, then delivered after the replay.
        const [between] = await engine.append([update("between")])
        const got: StoredUpdate[] = []
        await follower.start(
          (u) => got.push(u) > 0,
          async () => {},
        )
        const [live] = await engine.append([update("live")])
        expect(got).toEqual([...stored.slice(2), between, live])
        follower.stop()
        await engine.append([update("after stop")])
        expect(got).toHaveLength(5)
      })

      it('replays everything held from "earliest", and only live updates without a cursor', async () => {
        const engine = await make()
        const stored = await engine.append([update("a"), update("b")])
        const all = await follow(engine, EARLIEST)
        const fresh = await follow(engine, undefined)
        expect(all.status).toBe("found")
        expect(fresh.status).toBe("fresh")
        const gotAll: string[] = []
        const gotFresh: string[] = []
        await all.start(
          (u) => gotAll.push(u.data) > 0,
          async () => {},
        )
        await fresh.start(
          (u) => gotFresh.push(u.data) > 0,
          async () => {},
        )
        await engine.append([update("c")])
        expect(gotAll).toEqual([...stored.map((u) => u.data), "c"])
        expect(gotFresh).toEqual(["c"])
        all.stop()
        fresh.stop()
      })

      it("answers an unknown or evicted cursor with status not-found, then live updates only", async () => {
        const engine = await make({ retention: { maxEvents: 2 } })
        await engine.append([update("a", { id: "a" }), update("b"), update("c")])
        for (const cursor of ["a", "from-another-hub"]) {
          const follower = await follow(engine, cursor)
          expect(follower.status).toBe("not-found")
          const got: string[] = []
          await follower.start(
            (u) => got.push(u.data) > 0,
            async () => {},
          )
          await engine.append([update(`live after ${cursor}`)])
          expect(got).toEqual([`live after ${cursor}`])
          follower.stop()
        }
      })

      it("never repeats an update when ids repeat inside the replay", async () => {
        const engine = await make()
        const stored = await engine.append(
          Array.from({ length: 40 }, (_, i) => update(`e${i}`, { id: `id-${i % 3}` })),
        )
        const follower = await follow(engine, "id-0", { pageSize: 4 })
        const got: StoredUpdate[] = []
        await follower.start(
          (u) => got.push(u) > 0,
          async () => {},
        )
        expect(got).toEqual(stored.slice(1))
        follower.stop()
      })

      it("hands over from replay to live with no gap and no duplicate while appends interleave", async () => {
        const next = random(42)
        for (let iteration = 0; iteration < 150; iteration++) {
          // A fresh engine each time keeps every iteration small and independent.
          const engine = await make()
          await engine.append(Array.from({ length: 1 + Math.floor(next() * 60) }, (_, i) => update(`h${i}`)))
          const held = await readAll(engine)
          const from = held[Math.floor(next() * held.length)] as StoredUpdate
          const pageSize = 1 + Math.floor(next() * 8)
          let appending = true
          // A concurrent publisher: appends on its own schedule until the follower is live.
          const publisher = (async () => {
            let n = 0
            while (appending && n < 200) {
              // Batches of one to three: live batches go to deliverBatch when it is given.
              await engine.append(Array.from({ length: 1 + (n % 3) }, () => update(`concurrent ${n++}`)))
              await new Promise((resolve) => setImmediate(resolve))
            }
          })()
          const follower = await follow(engine, from.id, { pageSize, maxPending: 100_000 })
          expect(follower.status).toBe("found")
          const got: number[] = []
          const appendsInside: Promise<unknown>[] = []
          await follower.start(
            (u) => {
              got.push(u.seq)
              // Appends from inside delivery itself (a listener-triggered publish).
              if (appendsInside.length < 20 && next() < 0.1)
                appendsInside.push(engine.append([update("inside")]))
              return next() < 0.7
            },
            async () => {
              if (next() < 0.5) await engine.append([update("while waiting")])
              await new Promise((resolve) => setImmediate(resolve))
            },
            iteration % 2 === 1 ? (batch) => got.push(...batch.map((u) => u.seq)) : undefined,
          )
          appending = false
          await publisher
          await Promise.all(appendsInside)
          await engine.append([update("after handover"), update("after handover, 2")])
          follower.stop()
          const expected = (await readAll(engine)).filter((u) => u.seq > from.seq).map((u) => u.seq)
          expect(got).toEqual(expected)
          await engine.close()
        }
      })

      it("hands a live batch to deliverBatch whole: the engine's own array, shared by every follower", async () => {
        const engine = await make()
        const batches: (readonly StoredUpdate[])[] = []
        const singles: string[] = []
        const followers = await Promise.all([follow(engine, undefined), follow(engine, undefined)])
        for (const follower of followers) {
          await follower.start(
            (u) => singles.push(u.data) > 0,
            async () => {},
            (batch) => batches.push(batch),
          )
        }
        const stored = await engine.append([update("a"), update("b")])
        await engine.append([update("alone")])
        expect(batches).toHaveLength(2)
        expect(batches[0]).toBe(batches[1])
        expect(batches[0]).toEqual(stored)
        // A single update goes to deliver, as without deliverBatch.
        expect(singles).toEqual(["alone", "alone"])
        for (const follower of followers) follower.stop()
      })

      it("waits for whenWritable before reading the next page when deliver returns false", async () => {
        const engine = await make()
        await engine.append(Array.from({ length: 10 }, (_, i) => update(`e${i}`)))
        const follower = await follow(engine, EARLIEST, { pageSize: 3 })
        const got: string[] = []
        let release: () => void = () => {}
        let waits = 0
        const started = follower.start(
          (u) => {
            got.push(u.data)
            return false
          },
          () => {
            waits++
            return new Promise<void>((resolve) => {
              release = resolve
            })
          },
        )
        // Each wait is a sentinel: the follower is parked on it, and nothing more can arrive until release().
        await expect.poll(() => waits).toBe(1)
        expect(got).toEqual(["e0", "e1", "e2"])
        release()
        await expect.poll(() => waits).toBe(2)
        expect(got).toHaveLength(6)
        // Appending never waits for this stuck subscriber.
        await expect(engine.append([update("publisher is not blocked")])).resolves.toHaveLength(1)
        for (const parked of [3, 4]) {
          release()
          await expect.poll(() => waits).toBe(parked)
        }
        release()
        await started
        expect(got).toEqual([...Array.from({ length: 10 }, (_, i) => `e${i}`), "publisher is not blocked"])
        follower.stop()
      })

      it("stops and calls onOverflow once when more than maxPending live updates pile up", async () => {
        const engine = await make()
        await engine.append([update("a", { id: "a" })])
        const reasons: string[] = []
        const follower = await follow(engine, "a", {
          maxPending: 5,
          onOverflow: (reason) => reasons.push(reason),
        })
        for (let i = 0; i < 5; i++) await engine.append([update(`p${i}`)])
        expect(reasons).toEqual([])
        await engine.append([update("one too many")])
        await engine.append([update("more")])
        // Found before start(): reported by start(), when the caller has a connection to close.
        expect(reasons).toEqual([])
        const got: string[] = []
        await follower.start(
          (u) => got.push(u.data) > 0,
          async () => {},
        )
        expect(reasons).toEqual(["pending"])
        await engine.append([update("after overflow")])
        expect(got).toEqual([])
        follower.stop()
        expect(reasons).toEqual(["pending"])
      })

      it("does not report an overflow found before start() if the caller stops instead", async () => {
        const engine = await make()
        const reasons: string[] = []
        const follower = await follow(engine, undefined, {
          maxPending: 1,
          onOverflow: (r) => reasons.push(r),
        })
        await engine.append([update("a"), update("b")])
        follower.stop()
        await follower.start(
          () => true,
          async () => {},
        )
        expect(reasons).toEqual([])
      })

      it("overflows while a slow replay waits, and delivers nothing after", async () => {
        const engine = await make()
        await engine.append(Array.from({ length: 6 }, (_, i) => update(`e${i}`)))
        const { reasons, got, release, started } = await startStalledReplay(engine, { maxPending: 3 })
        await engine.append(Array.from({ length: 4 }, (_, i) => update(`live${i}`)))
        expect(reasons).toEqual(["pending"])
        release()
        await started
        expect(got).toEqual(["e0", "e1"])
      })

      it("reports a gap as an overflow when history still to replay is evicted meanwhile", async () => {
        const engine = await make({ retention: { maxEvents: 6 } })
        await engine.append(Array.from({ length: 6 }, (_, i) => update(`e${i}`)))
        const { reasons, got, release, started } = await startStalledReplay(engine)
        // e2..e5 are not replayed yet; six new updates evict them all.
        await engine.append(Array.from({ length: 6 }, (_, i) => update(`new${i}`)))
        release()
        await started
        expect(reasons).toEqual(["evicted"])
        expect(got).toEqual(["e0", "e1"])
      })

      it("stop() during the replay ends start() and releases the listener", async () => {
        const engine = await make()
        await engine.append(Array.from({ length: 6 }, (_, i) => update(`e${i}`)))
        const follower = await follow(engine, EARLIEST, { pageSize: 2 })
        const got: string[] = []
        await follower.start(
          (u) => {
            got.push(u.data)
            if (got.length === 3) follower.stop()
            return true
          },
          async () => {},
        )
        await engine.append([update("ignored")])
        expect(got).toEqual(["e0", "e1", "e2"])
        follower.stop()
        await expect(
          follower.start(
            () => true,
            async () => {},
          ),
        ).rejects.toThrow(/only be called once/)
      })
    })

    describe("large history", () => {
      const count = suite.largeHistory ?? 200_000
      it(`looks up cursors correctly among ${count.toLocaleString("en-US")} updates`, async () => {
        const engine = await make({ retention: { maxEvents: count } })
        const batch = 10_000
        for (let start = 0; start < count; start += batch) {
          await engine.append(
            Array.from({ length: Math.min(batch, count - start) }, (_, i) =>
              update(`d${start + i}`, { id: `n${start + i}` }),
            ),
          )
        }
        for (const at of [count - 1, count - 2, count - 101, Math.floor(count / 2), 0]) {
          const result = found(await engine.readAfter(`n${at}`, 100))
          const want = Math.min(100, count - 1 - at)
          expect(result.length).toBe(want)
          expect(result[0]?.data).toBe(want === 0 ? undefined : `d${at + 1}`)
          expect(result[result.length - 1]?.data).toBe(want === 0 ? undefined : `d${at + want}`)
        }
        expect(await engine.lastId()).toBe(`n${count - 1}`)
        // One more pushes the oldest out.
        await engine.append([update("one more", { id: "last" })])
        expect(await engine.readAfter("n0", 1)).toEqual({ found: false })
        expect(found(await engine.readAfter("n1", 1))[0]?.data).toBe("d2")
      }, 120_000)
    })
  })
}
