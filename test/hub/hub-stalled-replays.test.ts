import { once } from "node:events"
import { mkdtempSync, rmSync } from "node:fs"
import { connect, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import type { Engine, Entry, NewEntry } from "../../src/engine/engine.js"
import { type FollowEnd, follow } from "../../src/engine/follow.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { START } from "../../src/engine/position.js"
import { createSqliteEngine } from "../../src/engine/sqlite.js"
import type { NewUpdate } from "../../src/hub/update.js"
import { openUpdateLog } from "../../src/hub/update-log.js"
import { openStream, type StreamReader, waitUntil } from "../server/helpers.js"
import { startHub, subscribeUrl, type TestHub } from "./hub-helpers.js"

// Counting what a stalled subscriber still holds takes a full collection first.
setFlagsFromString("--expose-gc")
const collectGarbage = runInNewContext("gc") as () => void

const root = mkdtempSync(join(tmpdir(), "herald-stalled-replays-"))
let files = 0
afterAll(() => rmSync(root, { recursive: true, force: true }))

let hub: TestHub | undefined
let engine: Engine | undefined
const sockets: Socket[] = []
const streams: StreamReader[] = []
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  for (const stream of streams.splice(0)) stream.close()
  await hub?.close()
  await engine?.close()
  hub = undefined
  engine = undefined
})

/**
 * A SQLite engine (its reads build new entries, as a real store's do) whose history reads are
 * recorded: how many entries and bytes each asked for, the sizes it returned, and a weak
 * reference to every entry it returned.
 */
function recordingEngine() {
  const sqlite = createSqliteEngine({ path: join(root, `db-${files++}`, "herald.db") })
  const reads: Array<{ limit: number; maxBytes: number | undefined; bytes: number[] }> = []
  const returned: Array<WeakRef<Entry>> = []
  const read = sqlite.read.bind(sqlite)
  sqlite.read = async (log, after, limit, options) => {
    const result = await read(log, after, limit, options)
    const bytes = result.held ? result.entries.map((entry) => entry.data.length) : []
    reads.push({ limit, maxBytes: options?.maxBytes, bytes })
    if (result.held) for (const entry of result.entries) returned.push(new WeakRef(entry))
    return result
  }
  /** Bytes of data of the entries reads returned that something still holds. */
  const heldBytes = (): number => {
    collectGarbage()
    let bytes = 0
    for (const ref of returned) bytes += ref.deref()?.data.length ?? 0
    return bytes
  }
  return { engine: sqlite, reads, heldBytes }
}

const update = (id: string, size: number): NewUpdate => ({
  id,
  topics: ["t"],
  data: id.padEnd(size, "."),
  private: false,
})

/** Appends `count` updates of `size` characters, ids `${prefix}0…`, in batches of 100. */
async function appendUpdates(engine: Engine, prefix: string, count: number, size: number) {
  const log = openUpdateLog(engine)
  for (let start = 0; start < count; start += 100) {
    const batch = Array.from({ length: Math.min(100, count - start) }, (_, i) =>
      update(`${prefix}${start + i}`, size),
    )
    await log.append(batch)
  }
}

/** A raw client that sends a resuming subscribe request and then never reads; and the hub's side of it. */
async function stalledResumer(testHub: TestHub): Promise<{ client: Socket; server: Socket }> {
  const accepted = once(testHub.server, "connection") as Promise<[Socket]>
  const client = connect(Number(new URL(testHub.origin).port), "127.0.0.1")
  sockets.push(client)
  client.on("error", () => undefined)
  await once(client, "connect")
  client.write("GET /.well-known/mercure?match=*&last_event_id=earliest HTTP/1.1\r\nHost: x\r\n\r\n")
  client.pause()
  const [server] = await accepted
  return { client, server }
}

async function overflows(testHub: TestHub): Promise<number | undefined> {
  return (await testHub.hub.metrics.getSingleMetric("herald_queue_overflows_total")?.get())?.values[0]?.value
}

describe("a resuming subscriber that stops reading", () => {
  it("holds no more than the queue bound of its replay, and is cut as an overflow once live updates pile up behind it", async () => {
    const recorded = recordingEngine()
    engine = recorded.engine
    const maxQueuedBytes = 64 * 1024
    // 12 MB of history: more than loopback's socket buffers take from a client that never reads.
    await appendUpdates(engine, "old-", 3000, 4096)
    hub = await startHub({ engine, allowAnonymousSubscribe: true, limits: { maxQueuedBytes } })
    const { server } = await stalledResumer(hub)
    // The hub has written all the socket takes and waits for the client to read.
    await waitUntil(
      () => server.writableNeedDrain,
      () => undefined,
      10_000,
    )
    expect(hub.hub.connections).toBe(1)
    // Before the fix, the rest of a 256-entry page (1 MB here) stayed in memory for as long as the
    // client did not read; a page is now a quarter of the queue bound.
    expect(recorded.heldBytes()).toBeLessThanOrEqual(maxQueuedBytes)
    // Every read, the first too, gives the engine the page's bytes: it returns no more.
    expect(recorded.reads.length).toBeGreaterThan(0)
    for (const { maxBytes, bytes } of recorded.reads) {
      expect(maxBytes).toBe(maxQueuedBytes / 4)
      expect(bytes.reduce((sum, size) => sum + size, 0)).toBeLessThanOrEqual(maxQueuedBytes / 4)
    }

    // Live updates it cannot take pile up behind its replay: past their bound (64 × the queue
    // bound, 4 MiB here) it is cut and counted, and holds nothing more.
    expect(await overflows(hub)).toBe(0)
    for (let i = 0; i < 40 && !server.destroyed; i++) await appendUpdates(engine, `live-${i}-`, 1, 128 * 1024)
    await waitUntil(
      () => server.destroyed && hub?.hub.connections === 0,
      () => undefined,
    )
    expect(await overflows(hub)).toBe(1)
    expect(recorded.heldBytes()).toBe(0)
  })
})

describe("a resuming subscriber that reads", () => {
  it("gets a large replay and the live updates stored meanwhile, each once, in order, read a page of bounded bytes at a time", async () => {
    const recorded = recordingEngine()
    engine = recorded.engine
    // 200 updates of 20 KiB: 4 MB of history, three updates to a page of the default 64 KiB.
    await appendUpdates(engine, "old-", 200, 20 * 1024)
    hub = await startHub({ engine, allowAnonymousSubscribe: true })
    const stream = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "t"],
        ["last_event_id", "earliest"],
      ]),
    )
    streams.push(stream)
    for (let i = 0; i < 50; i++) await appendUpdates(engine, `live-${i}-`, 1, 100)
    const events = await waitUntil(
      () => stream.events.length >= 250,
      () => stream.events,
      20_000,
    )
    const expected = [
      ...Array.from({ length: 200 }, (_, i) => `old-${i}`),
      ...Array.from({ length: 50 }, (_, i) => `live-${i}-0`),
    ]
    expect(events.map((event) => event.lastEventId)).toEqual(expected)
    expect(events.every((event) => event.data.startsWith(event.lastEventId))).toBe(true)
    // Every read, the first too, gives the engine a page's bytes (a quarter of the default
    // 256 KiB queue bound): it returns no more.
    expect(recorded.reads.length).toBeGreaterThan(0)
    for (const { maxBytes, bytes } of recorded.reads) {
      expect(maxBytes).toBe(64 * 1024)
      expect(bytes.reduce((sum, size) => sum + size, 0)).toBeLessThanOrEqual(64 * 1024)
    }
  })
})

describe("follow() bounds by bytes", () => {
  const entries = (sizes: readonly number[]): NewEntry[] =>
    sizes.map((size, i) => ({ data: `${i}:`.padEnd(size, ".") }))

  it("keeps a page within maxPageBytes whatever a read returns, and delivers every entry once, in order", async () => {
    const memory = createMemoryEngine()
    engine = memory
    // Sizes that change under the follower's estimate: a read sized by small entries returns
    // large ones, whose excess is dropped and read again.
    const sizes = Array.from({ length: 120 }, (_, i) => (Math.floor(i / 10) % 2 === 0 ? 10 : 3000))
    await memory.append("log", entries(sizes), { create: {} })
    // Reads return copies, as a store's do, so what the follower still holds can be counted.
    const returned: Array<WeakRef<Entry>> = []
    const source = {
      watch: memory.watch.bind(memory),
      head: memory.head.bind(memory),
      read: async (...args: Parameters<Engine["read"]>) => {
        const result = await memory.read(...args)
        if (!result.held) return result
        const copies = result.entries.map((entry) => ({ ...entry }))
        for (const copy of copies) returned.push(new WeakRef(copy))
        return { ...result, entries: copies }
      },
    }
    const heldBytes = (): number => {
      collectGarbage()
      return returned.reduce((sum, ref) => sum + (ref.deref()?.data.length ?? 0), 0)
    }
    const follower = await follow(source, "log", START, { maxPageBytes: 5000 })
    const got: string[] = []
    let waits = 0
    let release: (() => void) | undefined
    // A reader that asks to wait after every entry, so the follower holds its page between turns.
    let live = false
    void follower
      .start(
        (entry) => got.push(entry.data) < 0,
        () => {
          waits++
          return new Promise<void>((resolve) => {
            release = resolve
          })
        },
      )
      .then(() => {
        live = true
      })
    for (let turn = 0; turn <= sizes.length && !live; turn++) {
      await waitUntil(
        () => release !== undefined || live,
        () => undefined,
      )
      if (turn % 5 === 0) expect(heldBytes()).toBeLessThanOrEqual(5000)
      release?.()
      release = undefined
    }
    expect(live).toBe(true)
    expect(got.map((data) => Number(data.split(":")[0]))).toEqual(sizes.map((_, i) => i))
    expect(waits).toBeGreaterThanOrEqual(sizes.length - 1)
    follower.stop()
  })

  it("ends with pending once the live entries held back pass maxPendingBytes", async () => {
    const memory = createMemoryEngine()
    engine = memory
    await memory.append("log", entries([10, 10]), { create: {} })
    const ends: FollowEnd[] = []
    const follower = await follow(memory, "log", START, {
      maxPendingBytes: 10_000,
      onEnd: (reason) => ends.push(reason),
    })
    // Never writable again: everything appended from now on is held back.
    void follower.start(
      () => false,
      () => new Promise<void>(() => undefined),
    )
    for (let i = 0; i < 5; i++) await memory.append("log", entries([3000]))
    expect(ends).toEqual(["pending"])
  })
})
