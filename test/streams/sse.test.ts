// SSE readers of a stream are fed by the node's one feed of its log: a live append costs no
// engine read per reader, and every reader still gets every append once, in order; the frame of
// a live batch is built once and shared. On memory, and on the shared Redis (where a read is a
// round trip; under HERALD_TEST_STRICT=1 a missing Redis fails the run).
import { randomBytes } from "node:crypto"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import type { Engine, Entry } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createRedisEngine } from "../../src/engine/redis.js"
import { createAdmission } from "../../src/server/admission.js"
import { LiveFrames } from "../../src/streams/sse-events.js"
import type { Stream } from "../../src/streams/stream.js"
import { deleteKeys, redisAnswers, SHARED_REDIS_URL, STRICT } from "../engine/redis-servers.js"
import { countingReads } from "./counting-reads.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

const keyPrefix = `herald-sse-${randomBytes(4).toString("hex")}`
const redisUp = await redisAnswers(SHARED_REDIS_URL)

let served: ServedStreams | undefined
afterEach(async () => {
  await served?.close()
  served = undefined
})
afterAll(async () => {
  if (redisUp) await deleteKeys(SHARED_REDIS_URL, keyPrefix)
})

/** An SSE reader: the JSON values of its data events, and its control events. */
interface Reader {
  readonly values: unknown[]
  readonly controls: Record<string, unknown>[]
  /** Resolves once `count` values came (rejects after 10 s). */
  until(count: number): Promise<void>
  close(): void
}

async function openReader(url: string): Promise<Reader> {
  const controller = new AbortController()
  const response = await fetch(url, { signal: controller.signal })
  expect(response.status).toBe(200)
  const values: unknown[] = []
  const controls: Record<string, unknown>[] = []
  let waiter: { count: number; resolve: () => void } | undefined
  const body = (response.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  void (async () => {
    let buffer = ""
    try {
      for (let chunk = await body.read(); !chunk.done; chunk = await body.read()) {
        buffer += decoder.decode(chunk.value, { stream: true })
        for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event = /^event: (\w+)$/m.exec(block)?.[1]
          const data = /^data:(.*)$/m.exec(block)?.[1]
          if (event === "data") values.push(...(JSON.parse(data as string) as unknown[]))
          if (event === "control") controls.push(JSON.parse(data as string) as Record<string, unknown>)
        }
        if (waiter !== undefined && values.length >= waiter.count) waiter.resolve()
      }
    } catch {
      // Aborted by close().
    }
  })()
  return {
    values,
    controls,
    until(count) {
      if (values.length >= count) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${values.length} of ${count} values`)), 10_000)
        waiter = {
          count,
          resolve: () => {
            clearTimeout(timer)
            resolve()
          },
        }
      })
    },
    close: () => controller.abort(),
  }
}

/** Waits (bounded) until `done()` holds. */
async function eventually(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(done(), what).toBe(true)
}

function describeFanOut(name: string, makeEngine: () => Engine): void {
  it(`feeds many SSE readers with no engine read per append, each reader getting every append once (${name})`, async () => {
    const counted = countingReads(makeEngine())
    served = await serveStreams(counted.engine)
    const url = `${served.baseUrl}/v1/stream/fan-out/${randomBytes(4).toString("hex")}`
    const json = { "content-type": "application/json" }
    expect((await fetch(url, { method: "PUT", headers: json, body: '[{"n":0}]' })).status).toBe(201)

    const readerCount = 20
    const readers = await Promise.all(
      Array.from({ length: readerCount }, () => openReader(`${url}?offset=-1&live=sse`)),
    )
    await Promise.all(readers.map((reader) => reader.until(1)))
    // Each reader reads twice to start: its catch-up page, then its follower's check for what
    // came in between. After that, appends reach it from the feed.
    await eventually(() => counted.reads() >= 2 * readerCount, "every reader started following")
    await new Promise((resolve) => setTimeout(resolve, 50))
    const readsWhenLive = counted.reads()
    expect(readsWhenLive).toBe(2 * readerCount)

    const appends = 10
    for (let n = 1; n <= appends; n++) {
      const response = await fetch(url, { method: "POST", headers: json, body: JSON.stringify({ n }) })
      expect(response.status).toBe(204)
    }
    // A batch of two in one append: one data event, one control.
    await fetch(url, { method: "POST", headers: json, body: JSON.stringify([{ n: 11 }, { n: 12 }]) })
    await Promise.all(readers.map((reader) => reader.until(appends + 3)))
    for (const reader of readers) {
      expect(reader.values).toEqual(Array.from({ length: appends + 3 }, (_, n) => ({ n })))
      const last = reader.controls[reader.controls.length - 1] as Record<string, unknown>
      expect(last.upToDate).toBe(true)
      expect(typeof last.streamCursor).toBe("string")
    }
    expect(counted.reads()).toBe(readsWhenLive)

    // Closing the stream ends every reader with a final control event.
    await fetch(url, { method: "POST", headers: { "stream-closed": "true" } })
    await eventually(
      () => readers.every((reader) => reader.controls.some((control) => control.streamClosed === true)),
      "every reader saw the close",
    )
    for (const reader of readers) reader.close()
  })
}

describe("SSE fan-out", () => {
  describeFanOut("memory", () => createMemoryEngine())

  describe.skipIf(!redisUp && !STRICT)("on Redis", () => {
    it.runIf(STRICT)("has a Redis at the shared URL (HERALD_TEST_STRICT=1)", () => {
      expect(redisUp, `no Redis answers at ${SHARED_REDIS_URL}`).toBe(true)
    })
    describeFanOut("redis", () => createRedisEngine({ url: SHARED_REDIS_URL, keyPrefix }))
  })
})

describe("LiveFrames", () => {
  const stream = { fork: undefined } as Stream
  const encoding = { json: true, base64: false }
  const entry = (seq: number): Entry => ({
    position: `abcdefgh_${String(seq).padStart(16, "0")}`,
    seq,
    data: `{"n":${seq}}`,
    key: undefined,
    time: 0,
  })

  it("builds a batch's frame once for every reader with the same cursor", () => {
    const frames = new LiveFrames()
    const batch = [entry(1), entry(2)]
    const first = frames.frameOf(stream, encoding, batch, "7")
    expect(frames.frameOf(stream, encoding, batch, "7")).toBe(first)
    expect(first.toString()).toBe(
      'event: data\ndata:[{"n":1},{"n":2}]\n\n' +
        'event: control\ndata:{"streamNextOffset":"abcdefgh_0000000000000002","streamCursor":"7","upToDate":true}\n\n',
    )
  })

  it("gives a reader with another cursor a frame of its own, without evicting the shared one", () => {
    const frames = new LiveFrames()
    const one = entry(1)
    const shared = frames.frameOf(stream, encoding, one, "7")
    const own = frames.frameOf(stream, encoding, one, "99")
    expect(own).not.toBe(shared)
    expect(own.toString()).toContain('"streamCursor":"99"')
    expect(frames.frameOf(stream, encoding, one, "7")).toBe(shared)
    // The next batch takes the slot.
    const next = entry(2)
    expect(frames.frameOf(stream, encoding, next, "7")).not.toBe(shared)
  })
})

describe("live reads and the connection bounds", () => {
  it("count against the admission, SSE and long-poll alike: past the per-address bound a 429 with Retry-After, a slot back once one closes", async () => {
    served = await serveStreams(createMemoryEngine(), { admission: createAdmission(100, 2) })
    const url = `${served.baseUrl}/v1/stream/bounded`
    expect(
      (await fetch(url, { method: "PUT", headers: { "content-type": "application/json" } })).status,
    ).toBe(201)
    const first = await openReader(`${url}?offset=-1&live=sse`)
    const polling = new AbortController()
    const poll = fetch(`${url}?offset=now&live=long-poll`, { signal: polling.signal }).catch(() => undefined)
    // The long-poll holds its slot while it waits.
    await new Promise((resolve) => setTimeout(resolve, 100))
    const refused = await fetch(`${url}?offset=-1&live=sse`)
    expect(refused.status).toBe(429)
    expect(refused.headers.get("retry-after")).toBe("5")
    expect(await refused.text()).toContain("Each live read (SSE, long-poll) counts")
    // A catch-up read is no live read: not counted.
    expect((await fetch(`${url}?offset=-1`)).status).toBe(200)
    polling.abort()
    await poll
    await expect
      .poll(
        async () =>
          await fetch(`${url}?offset=-1&live=sse`, { signal: AbortSignal.timeout(500) }).then(
            (r) => r.status,
            () => 0,
          ),
        { timeout: 3000 },
      )
      .toBe(200)
    first.close()
  })
})

describe("an SSE response", () => {
  it("says no-transform beside no-cache, so that a proxy or compression middleware does not buffer it", async () => {
    served = await serveStreams(createMemoryEngine())
    const url = `${served.baseUrl}/v1/stream/headers`
    expect((await fetch(url, { method: "PUT", headers: { "content-type": "text/plain" } })).status).toBe(201)
    const controller = new AbortController()
    const response = await fetch(`${url}?offset=-1&live=sse`, { signal: controller.signal })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/)
    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform")
    controller.abort()
  })
})
