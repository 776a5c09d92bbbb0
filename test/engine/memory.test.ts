import { afterEach, describe, expect, it, vi } from "vitest"
import type { Entry } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { START } from "../../src/engine/position.js"
import { StorageFullError } from "../../src/engine/storage-full.js"
import { TooManyLogsError } from "../../src/engine/too-many-logs.js"
import { recordingLogger } from "../server/helpers.js"
import { appended, describeEngine, held, newEntries, readAll } from "./suite.js"

describeEngine("memory", (options) => createMemoryEngine(options))

describe("memory engine", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it("is bounded by default: 10 000 entries and one hour per log", async () => {
    let clock = 0
    const engine = createMemoryEngine({ now: () => clock })
    for (let i = 0; i < 21; i++) await engine.append("log", newEntries(500), { create: {} })
    expect((await readAll(engine, "log"))[0]?.seq).toBe(501)
    clock = 60 * 60 * 1000
    expect(held(await engine.read("log", START, 1)).entries).toHaveLength(1)
    clock += 1
    expect(held(await engine.read("log", START, 1)).entries).toEqual([])
    await engine.close()
  })

  it("holds at most maxLogs logs, not counting expired ones", async () => {
    let clock = 0
    const engine = createMemoryEngine({ maxLogs: 3, now: () => clock })
    await engine.create("a", { ttlMs: 10 })
    await engine.create("b")
    await engine.create("c")
    await expect(engine.create("d")).rejects.toThrow(TooManyLogsError)
    await expect(engine.append("d", newEntries(1), { create: {} })).rejects.toThrow(/maxLogs/)
    expect((await engine.create("b")).status).toBe("exists")
    clock = 10
    expect((await engine.create("d")).status).toBe("created")
    expect(() => createMemoryEngine({ maxLogs: 0 })).toThrow(/maxLogs/)
    await engine.close()
  })

  it("counts each producer's state in maxBytes, so that new producers cannot grow it past the bound; a delete frees them", async () => {
    const engine = createMemoryEngine({ maxBytes: 10_000 })
    // No entries: what grows is the producers' state (~164 bytes each here).
    const create = { retention: { maxEntries: 1, maxAgeMs: 60_000 } }
    const producer = (n: number) => ({ id: `producer-${String(n).padStart(91, "0")}`, epoch: 0, seq: 0 })
    let accepted = 0
    let refused: unknown
    for (let n = 0; n < 200 && refused === undefined; n++) {
      try {
        await engine.append("log", [], { create, producer: producer(n) })
        accepted++
      } catch (error) {
        refused = error
      }
    }
    expect(refused).toBeInstanceOf(StorageFullError)
    expect(accepted).toBeGreaterThan(50)
    expect(accepted).toBeLessThan(62)
    // A producer the log knows takes no more room: its bare close passes at the bound.
    const closed = await engine.append("log", [], { close: true, producer: { ...producer(0), seq: 1 } })
    expect(closed.status).toBe("appended")
    await engine.delete("log")
    await engine.append("other", [{ data: "x" }], { create, producer: producer(0) })
    await engine.close()
  })

  it("counts text as V8 holds it: two bytes a character past Latin-1", async () => {
    const engine = createMemoryEngine({ maxBytes: 3_000 })
    // 1,000 Latin-1 characters: ~1,128 bytes, twice fits; 1,000 CJK characters: ~2,128, once only.
    await engine.append("latin", [{ data: "é".repeat(1000) }, { data: "é".repeat(1000) }], { create: {} })
    await engine.delete("latin")
    await engine.append("cjk", [{ data: "中".repeat(1000) }], { create: {} })
    await expect(engine.append("cjk", [{ data: "中".repeat(1000) }])).rejects.toThrow(StorageFullError)
  })

  it("holds at most maxBytes of entries: past it an append is refused as a full store, until deletes, retention or TTLs free some", async () => {
    let clock = 0
    // Each entry: 1,000 characters of data + ~128 bytes.
    const engine = createMemoryEngine({ maxBytes: 5_000, now: () => clock })
    const big = (n: number) => Array.from({ length: n }, () => ({ data: "x".repeat(1000) }))
    await engine.append("a", big(2), { create: { ttlMs: 5000 } })
    await engine.append("b", big(2), { create: { retention: { maxEntries: 1000, maxAgeMs: 2000 } } })
    const refused = engine.append("c", big(1), { create: {} })
    await expect(refused).rejects.toThrow(StorageFullError)
    await expect(engine.append("c", big(1), { create: {} })).rejects.toThrow(
      /bound of 5000 bytes \(maxBytes\) is full/,
    )
    // The refused append changed nothing: no log "c".
    expect(await engine.head("c")).toBeUndefined()
    // b's entries age out of its retention: room again (a refused append looks at every log at
    // most once per second).
    clock = 3000
    await engine.append("c", big(2), { create: {} })
    await expect(engine.append("c", big(1))).rejects.toThrow(StorageFullError)
    // a's TTL ends: room again.
    clock = 6000
    await engine.append("c", big(1))
    await expect(engine.append("c", big(2))).rejects.toThrow(StorageFullError)
    // A delete frees its entries.
    await engine.delete("c")
    await engine.append("d", big(4), { create: {} })
    // Trimmed by maxEntries: what a log no longer holds no longer counts.
    await engine.delete("d")
    await engine.append("e", big(1), { create: { retention: { maxEntries: 1, maxAgeMs: 10_000 } } })
    for (let i = 0; i < 20; i++) await engine.append("e", big(1))
    expect(() => createMemoryEngine({ maxBytes: 0 })).toThrow(/maxBytes/)
    await engine.close()
  })

  it("says a full store as sqlite and Redis do: a StorageFullError naming its bound and what makes room, health full, one error line, one as appends fit again", async () => {
    let clock = 0
    const logger = recordingLogger()
    const engine = createMemoryEngine({ maxBytes: 5_000, now: () => clock, logger })
    const big = (n: number) => Array.from({ length: n }, () => ({ data: "x".repeat(1000) }))
    expect(await engine.health()).toMatchObject({ status: "up" })
    await engine.append("a", big(4), { create: { retention: { maxEntries: 1000, maxAgeMs: 60_000 } } })
    const refusal = (await engine.append("a", big(1)).catch((error: unknown) => error)) as StorageFullError
    expect(refusal).toBeInstanceOf(StorageFullError)
    expect(refusal.engine).toBe("memory")
    expect(refusal.store).toBe("its bound of 5000 bytes (maxBytes)")
    expect(refusal.message).toBe(
      "memory engine: its bound of 5000 bytes (maxBytes) is full, so nothing was stored; raise maxBytes (herald serve's --memory-max-bytes), or keep less (a lower retention).",
    )
    expect(await engine.health()).toEqual({
      status: "full",
      latencyMs: 0,
      reason:
        "its bound of 5000 bytes (maxBytes) is full: appends fail until retention, TTLs or deletes free some, or maxBytes is raised (herald serve's --memory-max-bytes); reads are served",
    })
    // More refusals, and a small append that fits, are logged at debug only.
    await expect(engine.append("a", big(2))).rejects.toThrow(StorageFullError)
    await engine.append("a", [{ data: "fits" }])
    const said = () => logger.entries.filter(({ level }) => level !== "debug")
    expect(said()).toEqual([
      expect.objectContaining({
        level: "error",
        message:
          "herald memory engine: its bound of 5000 bytes (maxBytes) is full: appends fail until retention, TTLs or deletes free some (raise maxBytes, or keep less: a lower retention); reads go on",
      }),
    ])
    // Held 30 s after the last refusal, so that the state does not flap with every append at the bound.
    clock = 29_999
    await engine.delete("a")
    expect((await engine.health()).status).toBe("full")
    clock = 30_000
    expect(await engine.health()).toEqual({ status: "up", latencyMs: 0 })
    expect(said().map(({ level, message }) => [level, message])).toEqual([
      ["error", expect.stringContaining("is full")],
      ["info", "herald memory engine: appends fit again under its bound of 5000 bytes (maxBytes)"],
    ])
    await engine.close()
  })

  it("stays full past the hold while the append it refused still does not fit, and refuses one larger than maxBytes as a full store without saying it is full", async () => {
    let clock = 0
    const logger = recordingLogger()
    const engine = createMemoryEngine({ maxBytes: 5_000, now: () => clock, logger })
    const big = (n: number) => Array.from({ length: n }, () => ({ data: "x".repeat(1000) }))
    await engine.append("a", big(4), { create: {} })
    await expect(engine.append("a", big(1))).rejects.toThrow(StorageFullError)
    clock = 60_000
    expect((await engine.health()).status).toBe("full")
    await engine.delete("a")
    expect((await engine.health()).status).toBe("up")

    // Larger than the whole bound: no retention makes room, only a larger bound; the store is not full.
    const oversized = (await engine
      .append("b", big(5), { create: {} })
      .catch((error: unknown) => error)) as StorageFullError
    expect(oversized).toBeInstanceOf(StorageFullError)
    expect(oversized.message).toBe(
      "memory engine: its bound of 5000 bytes (maxBytes) is full, so nothing was stored; raise maxBytes (herald serve's --memory-max-bytes) past this append's 5640 bytes, or keep less (a lower retention).",
    )
    expect((await engine.health()).status).toBe("up")
    expect(logger.entries.filter(({ level }) => level === "error")).toHaveLength(1)
    await engine.close()
  })

  it("hands the feed the very entry objects (and array) the append resolves with", async () => {
    const engine = createMemoryEngine()
    let heard: readonly Entry[] = []
    await engine.watch("log", {
      onAppend: (entries) => {
        heard = entries
      },
      onLost() {},
    })
    const result = appended(await engine.append("log", newEntries(2), { create: {} }))
    expect(heard).toBe(result.entries)
    expect(held(await engine.read("log", START, 5)).entries[1]).toBe(result.entries[1])
    await engine.close()
  })

  it("keeps every sink in log order when a sink appends while it runs", async () => {
    const engine = createMemoryEngine()
    await engine.create("log")
    const seen: number[][] = [[], [], []]
    let reactions = 0
    for (const [i, list] of seen.entries()) {
      await engine.watch("log", {
        onAppend: (entries) => {
          list.push(...entries.map((entry) => entry.seq))
          // A reaction to a delivery, as a hub publishing a subscription event would do.
          if (i === 0 && reactions++ < 3) void engine.append("log", newEntries(1))
        },
        onLost() {},
      })
    }
    await engine.append("log", newEntries(2))
    await new Promise((resolve) => setImmediate(resolve))
    for (const list of seen) expect(list).toEqual([1, 2, 3, 4, 5])
    await engine.close()
  })

  it("sweeps expired logs in the background, telling their watchers", async () => {
    vi.useFakeTimers()
    let clock = 0
    const engine = createMemoryEngine({ now: () => clock })
    await engine.create("log", { ttlMs: 500 })
    let lost = 0
    await engine.watch("log", {
      onAppend() {},
      onLost: () => {
        lost++
      },
    })
    clock = 600
    vi.advanceTimersByTime(999)
    expect(lost).toBe(0)
    vi.advanceTimersByTime(1)
    expect(lost).toBe(1)
    expect((await engine.list({ limit: 10 })).logs).toEqual([])
    await engine.close()
  })

  it("delivers signals after signal() returns, never inside it", async () => {
    const engine = createMemoryEngine()
    const heard: string[] = []
    engine.onSignal((signal) => heard.push(signal.payload))
    const sent = engine.signal({ topic: "t", payload: "p" })
    expect(heard).toEqual([])
    await sent
    await new Promise((resolve) => setImmediate(resolve))
    expect(heard).toEqual(["p"])
    await engine.close()
  })

  it("refuses work once closed; closing twice is fine", async () => {
    const engine = createMemoryEngine()
    await engine.close()
    await engine.close()
    await expect(engine.append("log", newEntries(1), { create: {} })).rejects.toThrow(/closed/)
    await expect(engine.read("log", START, 1)).rejects.toThrow(/closed/)
  })
})
