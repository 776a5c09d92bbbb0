import { afterEach, describe, expect, it } from "vitest"
import {
  type ConnectionSink,
  createChannel,
  createFrameQueue,
  createSSE,
  SSEConnection,
} from "../../src/server/index.js"
import { listen, openStream, stop, waitUntil } from "./helpers.js"

/** A connection over an in-memory sink that records every frame written, by identity. */
function recordingConnection(lastEventId = "") {
  const frames: Array<string | Uint8Array> = []
  const sink: ConnectionSink = {
    write: (frame) => frames.push(frame) > 0,
    onceDrain: () => {},
    end: () => {},
    destroy: () => {},
  }
  const connection = new SSEConnection(sink, {
    lastEventId,
    limits: { maxBytes: 1024, policy: "disconnect" },
  })
  const text = () =>
    frames.map((frame) => (typeof frame === "string" ? frame : Buffer.from(frame).toString()))
  return { connection, frames, text }
}

describe("createChannel (in memory)", () => {
  it("serializes each event once and writes the very same bytes to every subscriber", () => {
    const channel = createChannel()
    const subscribers = Array.from({ length: 5 }, () => recordingConnection())
    for (const { connection } of subscribers) channel.subscribe(connection)
    expect(channel.publish({ event: "tick", data: "1" })).toEqual({ id: undefined, delivered: 5 })
    const first = subscribers[0]?.frames[0]
    expect(first).toBeInstanceOf(Uint8Array)
    for (const { frames } of subscribers) expect(frames[0]).toBe(first)
    expect(Buffer.from(first as Uint8Array).toString()).toBe("event: tick\ndata: 1\n\n")
  })

  it("forgets a subscriber when its connection closes", () => {
    const channel = createChannel()
    const { connection } = recordingConnection()
    channel.subscribe(connection)
    expect(channel.size).toBe(1)
    connection.destroy()
    expect(channel.size).toBe(0)
    channel.subscribe(connection)
    expect(channel.size).toBe(0)
  })

  it("replays what followed the client's Last-Event-ID, then goes live with no gap or duplicate", () => {
    const channel = createChannel({ history: true })
    const ids = ["a", "b", "c"].map((data) => channel.publish({ data }).id as string)
    const late = recordingConnection(ids[0])
    expect(channel.subscribe(late.connection)).toEqual({ status: "replayed", replayed: 2 })
    channel.publish({ data: "d" })
    expect(late.text().map((frame) => frame.split("data: ")[1])).toEqual(["b\n\n", "c\n\n", "d\n\n"])
  })

  it("signals an id it no longer holds, to the caller and to the client, never a silent gap", () => {
    const channel = createChannel({ history: { maxEvents: 2 } })
    const first = channel.publish({ data: "1" }).id as string
    const oldest = channel.publish({ data: "2" }).id
    channel.publish({ data: "3" })
    const stale = recordingConnection(first)
    expect(channel.subscribe(stale.connection)).toEqual({ status: "too-old", oldestId: oldest })
    const signal = stale.text()[0] ?? ""
    expect(signal).toContain("event: herald-id-too-old\n")
    expect(JSON.parse(signal.split("data: ")[1] ?? "")).toEqual({ lastEventId: first, oldestId: oldest })
    const silent = createChannel({ history: true, tooOldEvent: null })
    const quiet = recordingConnection("from-another-server")
    expect(silent.subscribe(quiet.connection).status).toBe("too-old")
    expect(quiet.frames).toEqual([])
  })

  it("refuses a too-old event name that would inject fields, at creation", () => {
    expect(() => createChannel({ history: true, tooOldEvent: "reset\ndata: x" })).toThrow(
      /must not contain CR, LF or NUL/,
    )
  })

  it.each([" a1", "a1 ", "\ta1", "a1\t", " "])(
    "with history, refuses an id that starts or ends with a space or tab (%j): it could not come back as Last-Event-ID",
    (id) => {
      const channel = createChannel({ history: true })
      const { connection, frames } = recordingConnection()
      channel.subscribe(connection)
      expect(() => channel.publish({ id, data: "x" })).toThrow(
        new TypeError(
          `SSE id ${JSON.stringify(id)} starts or ends with a space or tab, which HTTP strips from the Last-Event-ID header a reconnecting client sends back: the channel's history could never find it, and the client would be told it is too old. Trim the id.`,
        ),
      )
      expect(() => channel.publishBatch([{ data: "fine" }, { id, data: "x" }])).toThrow(TypeError)
      expect(frames).toEqual([])
      expect(channel.history?.size).toBe(0)
      // Inside an id they stay; without history nothing resumes from it.
      expect(channel.publish({ id: "a 1\tb", data: "x" }).id).toBe("a 1\tb")
      expect(createChannel().publish({ id, data: "x" }).id).toBe(id)
    },
  )

  it.each([
    ["a\u0001b", "U+0001", 1],
    ["\u001b[31m", "U+001B", 0],
    ["a\u000bb", "U+000B", 1],
    ["del\u007f", "U+007F", 3],
    ["half \ud83d of an emoji", "U+D83D", 5],
  ])(
    "with history, refuses an id holding %j (%s), which no Last-Event-ID header carries back",
    (id, codePoint, index) => {
      const channel = createChannel({ history: true })
      const { connection, frames } = recordingConnection()
      channel.subscribe(connection)
      expect(() => channel.publish({ id, data: "x" })).toThrow(
        new TypeError(
          `SSE id ${JSON.stringify(id)} holds ${codePoint} at index ${index}, which the Last-Event-ID header a reconnecting client sends back cannot carry (an HTTP server answers 400 to an ASCII control other than tab; a lone surrogate has no UTF-8 bytes and arrives as U+FFFD): the channel's history could never find it. Remove or encode that character.`,
        ),
      )
      expect(() => channel.publishBatch([{ data: "fine" }, { id, data: "x" }])).toThrow(TypeError)
      expect(frames).toEqual([])
      expect(channel.history?.size).toBe(0)
      // Without history nothing resumes from it.
      expect(createChannel().publish({ id, data: "x" }).id).toBe(id)
    },
  )

  it("with history, still refuses CR, LF and NUL as encode does, and keeps ids a header carries back", () => {
    const channel = createChannel({ history: true })
    for (const id of ["a\rb", "a\nb", "a\u0000b"]) {
      expect(() => channel.publish({ id, data: "x" })).toThrow(/must not contain CR, LF or NUL/)
    }
    for (const id of ["a\tb", "caf\u00e9", "\u0085next-line", "zero\u200bwidth", "\ud83d\ude00"]) {
      expect(channel.publish({ id, data: "x" }).id).toBe(id)
    }
    expect(channel.history?.size).toBe(5)
  })

  it("keeps ids the publisher gives, and generated ids differ between channel instances", () => {
    const channel = createChannel({ history: true })
    expect(channel.publish({ id: "mine", data: "x" }).id).toBe("mine")
    const generatedA = createChannel({ history: true }).publish({ data: "x" }).id
    const generatedB = createChannel({ history: true }).publish({ data: "x" }).id
    expect(generatedA).not.toBe(generatedB)
  })
})

describe("createChannel over node:http", () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })

  it("broadcasts to real clients and resumes a reconnecting one from its Last-Event-ID", async () => {
    const sse = createSSE()
    const channel = createChannel({ history: true })
    const { server, url } = await listen((req, res) => channel.subscribe(sse.connect(req, res)))
    cleanups.push(() => stop(server))
    cleanups.push(() => sse.close({ deadlineMs: 100 }))
    const a = await openStream(url)
    const b = await openStream(url)
    await waitUntil(
      () => channel.size === 2,
      () => undefined,
    )
    channel.publish({ data: "one" })
    channel.publish({ data: "two" })
    const [first] = await a.waitForEvents(2)
    await b.waitForEvents(2)
    expect(b.events.map((event) => event.data)).toEqual(["one", "two"])
    a.close()
    channel.publish({ data: "three" })
    const resumed = await openStream(url, { "last-event-id": first?.lastEventId ?? "" })
    expect((await resumed.waitForEvents(2)).map((event) => event.data)).toEqual(["two", "three"])
    b.close()
    resumed.close()
  })
})

describe("createChannel publishBatch", () => {
  it("writes one chunk per subscriber carrying exactly what publish in a loop would", () => {
    const batched = createChannel({ history: true })
    const looped = createChannel()
    const a = recordingConnection()
    const b = recordingConnection()
    batched.subscribe(a.connection)
    looped.subscribe(b.connection)
    const events = [
      { id: "1", data: "one" },
      { event: "x", id: "2", data: "two\nlines" },
      { id: "3", data: "three" },
    ]
    expect(batched.publishBatch(events)).toEqual({ ids: ["1", "2", "3"], delivered: 1 })
    for (const event of events) looped.publish(event)
    expect(a.frames).toHaveLength(1)
    expect(a.text().join("")).toBe(b.text().join(""))
    // Each event is its own history entry, so a client can resume from the middle of a batch.
    const late = recordingConnection("2")
    expect(batched.subscribe(late.connection)).toEqual({ status: "replayed", replayed: 1 })
  })

  it("refuses the whole batch, recording nothing, when one event is bad", () => {
    const channel = createChannel({ history: true })
    const { connection, frames } = recordingConnection()
    channel.subscribe(connection)
    expect(() => channel.publishBatch([{ data: "fine" }, { id: "bad\nid", data: "x" }])).toThrow(TypeError)
    expect(frames).toEqual([])
    expect(channel.history?.size).toBe(0)
  })
})

describe("replay longer than the queue bound", () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })

  it("gets through to a reconnecting client instead of disconnecting it for overflow", async () => {
    const sse = createSSE({ maxQueuedBytes: 16 * 1024 })
    const channel = createChannel({ history: { maxEvents: 1000, maxBytes: 8 * 1024 * 1024 } })
    const opened: SSEConnection[] = []
    const { server, url } = await listen((req, res) => {
      const connection = sse.connect(req, res)
      opened.push(connection)
      channel.subscribe(connection)
    })
    cleanups.push(() => stop(server))
    cleanups.push(() => sse.close({ deadlineMs: 100 }))
    const payload = "r".repeat(8 * 1024)
    const first = channel.publish({ data: payload }).id as string
    for (let i = 0; i < 399; i++) channel.publish({ data: payload })
    const resumed = await openStream(url, { "last-event-id": first })
    await resumed.waitForEvents(399)
    expect(opened[0]?.closed).toBe(false)
    resumed.close()
  })
})

describe("createFrameQueue shared frames", () => {
  it("queues shared frames in order without counting them against the bound", () => {
    const queue = createFrameQueue({ maxBytes: 4, policy: "disconnect" })
    queue.pushShared("shared-1")
    expect(queue.push("abcd")).toBe(true)
    queue.pushShared("shared-2")
    expect(queue.bytes).toBe(4)
    expect([queue.shift(), queue.shift(), queue.shift(), queue.shift()]).toEqual([
      "shared-1",
      "abcd",
      "shared-2",
      undefined,
    ])
    expect(queue.bytes).toBe(0)
  })
})
