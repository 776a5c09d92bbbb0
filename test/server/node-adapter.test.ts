import { once } from "node:events"
import { connect } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import type { SSEConnection } from "../../src/server/index.js"
import { createSSE, type SSE } from "../../src/server/index.js"
import { connectStalledReader, listen, openStream, stop, waitUntil } from "./helpers.js"

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

/** An SSE server whose handler receives each new connection. */
async function sseServer(sse: SSE, onConnection: (connection: SSEConnection) => void = () => {}) {
  const opened: SSEConnection[] = []
  const { server, url } = await listen((req, res) => {
    const connection = sse.connect(req, res)
    opened.push(connection)
    onConnection(connection)
  })
  cleanups.push(() => stop(server))
  cleanups.push(() => sse.close({ deadlineMs: 100 }))
  return { server, url, opened }
}

describe("node:http adapter", () => {
  it("answers 200 with the SSE headers and flushes them at once with the retry hint", async () => {
    const { url } = await sseServer(createSSE({ retryMs: 1234 }))
    const stream = await openStream(url)
    expect(stream.status).toBe(200)
    expect(stream.headers["content-type"]).toBe("text/event-stream; charset=utf-8")
    expect(stream.headers["cache-control"]).toBe("no-cache, no-transform")
    expect(stream.headers["x-accel-buffering"]).toBe("no")
    expect(stream.headers.connection).toBe("keep-alive")
    await waitUntil(
      () => stream.retries.length > 0,
      () => undefined,
    )
    expect(stream.retries).toEqual([1234])
    stream.close()
  })

  it("sends events, with multi-line data split into data lines", async () => {
    const { url } = await sseServer(createSSE(), (connection) => {
      connection.send({ event: "greeting", id: "1", data: "hello\nworld" })
      connection.send({ data: " leading space" })
    })
    const stream = await openStream(url)
    const events = await stream.waitForEvents(2)
    expect(events).toEqual([
      { type: "greeting", data: "hello\nworld", lastEventId: "1" },
      { type: "message", data: " leading space", lastEventId: "1" },
    ])
    stream.close()
  })

  it("refuses an id that would inject fields, and the stream carries on", async () => {
    let refusal: unknown
    const { url } = await sseServer(createSSE(), (connection) => {
      try {
        connection.send({ id: "1\ndata: injected", data: "x" })
      } catch (error) {
        refusal = error
      }
      connection.send({ data: "after" })
    })
    const stream = await openStream(url)
    expect((await stream.waitForEvents(1))[0]?.data).toBe("after")
    expect(String(refusal)).toMatch(/must not contain CR, LF or NUL/)
    stream.close()
  })

  it("reads Last-Event-ID from the header, UTF-8 included, and from the query as a fallback", async () => {
    const { url, opened } = await sseServer(createSSE())
    const fromHeader = await openStream(`${url}/?lastEventId=ignored`, { "last-event-id": "42" })
    const fromUtf8Header = await openStream(url, {
      "last-event-id": Buffer.from("é-7", "utf8").toString("latin1"),
    })
    const fromQuery = await openStream(`${url}/events?topic=x&lastEventID=abc`)
    const fresh = await openStream(url)
    await waitUntil(
      () => opened.length === 4,
      () => undefined,
    )
    expect(opened.map((connection) => connection.lastEventId)).toEqual(["42", "é-7", "abc", ""])
    for (const stream of [fromHeader, fromUtf8Header, fromQuery, fresh]) stream.close()
  })

  it("sends heartbeat comments from one shared timer to every connection", async () => {
    const sse = createSSE({ heartbeatMs: 30 })
    const { url } = await sseServer(sse)
    const streams = await Promise.all([openStream(url), openStream(url), openStream(url)])
    for (const stream of streams) await stream.waitForComments(3)
    for (const stream of streams) stream.close()
  })

  it("notices a client leaving promptly and releases the connection", async () => {
    const sse = createSSE()
    const { url, opened } = await sseServer(sse)
    const stream = await openStream(url)
    await waitUntil(
      () => sse.connections.size === 1,
      () => undefined,
    )
    const connection = opened[0] as SSEConnection
    let aborted = false
    connection.signal.addEventListener("abort", () => {
      aborted = true
    })
    stream.close()
    await waitUntil(
      () => connection.closed,
      () => undefined,
      2000,
    )
    expect(connection.closeReason).toBe("client-gone")
    expect(aborted).toBe(true)
    expect(sse.connections.size).toBe(0)
    expect(connection.send({ data: "into the void" })).toBe(false)
  })

  it("closes at once a connection opened after its client left (the app looked something up first)", async () => {
    const sse = createSSE()
    let handling: () => void = () => {}
    const handled = new Promise<void>((resolve) => {
      handling = resolve
    })
    const opened: SSEConnection[] = []
    const { server, url } = await listen(async (req, res) => {
      handling()
      // The lookup: it ends only once the client has gone.
      await once(req.socket, "close")
      opened.push(sse.connect(req, res))
    })
    cleanups.push(() => stop(server))
    cleanups.push(() => sse.close({ deadlineMs: 100 }))
    const socket = connect(Number(new URL(url).port), "127.0.0.1")
    socket.write("GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    await handled
    socket.destroy()
    await waitUntil(
      () => opened.length === 1,
      () => undefined,
      2000,
    )
    const connection = opened[0] as SSEConnection
    expect(connection.closeReason).toBe("client-gone")
    expect(connection.signal.aborted).toBe(true)
    expect(sse.connections.size).toBe(0)
  })

  it("disconnects a stalled reader once its bounded queue fills (the default policy)", async () => {
    const { server, opened } = await sseServer(createSSE({ maxQueuedBytes: 64 * 1024 }))
    // A raw client that sends the request and then never reads.
    const { socket, connection } = await connectStalledReader(server, opened)
    cleanups.push(() => void socket.destroy())
    const chunk = { data: "x".repeat(64 * 1024) }
    // Bounded: loopback socket buffers hold a few MiB at most; the queue then fills within 64 KiB.
    for (let i = 0; i < 2000 && !connection.closed; i++) connection.send(chunk)
    expect(connection.closeReason).toBe("overflow")
    expect(connection.queuedBytes).toBe(0)
  })

  it("keeps the newest events and the connection under drop-oldest", async () => {
    const { server, opened } = await sseServer(
      createSSE({ maxQueuedBytes: 64 * 1024, overflow: "drop-oldest" }),
    )
    const { socket, connection } = await connectStalledReader(server, opened)
    cleanups.push(() => void socket.destroy())
    const chunk = { data: "x".repeat(16 * 1024) }
    let i = 0
    while (!connection.backpressured && i++ < 5000) connection.send(chunk)
    for (let j = 0; j < 100; j++) connection.send(chunk)
    expect(connection.closed).toBe(false)
    expect(connection.queuedBytes).toBeLessThanOrEqual(64 * 1024)
    expect(connection.queuedBytes).toBeGreaterThan(0)
  })

  it("lets a waiting writer go when the client leaves mid-backpressure", async () => {
    const { server, opened } = await sseServer(createSSE())
    const { socket, connection } = await connectStalledReader(server, opened)
    let i = 0
    while (connection.send({ data: "y".repeat(8192) }) && i++ < 5000) {}
    expect(connection.backpressured).toBe(true)
    const writable = connection.whenWritable()
    socket.destroy()
    await writable
    await waitUntil(
      () => connection.closed,
      () => undefined,
    )
    expect(connection.closeReason).toBe("client-gone")
  })

  it("refuses a response whose headers were already sent, with advice", async () => {
    const sse = createSSE()
    let error: unknown
    const { server, url } = await listen((req, res) => {
      res.writeHead(200).flushHeaders()
      try {
        sse.connect(req, res)
      } catch (caught) {
        error = caught
      }
      res.end()
    })
    cleanups.push(() => stop(server))
    await fetch(url).then((response) => response.text())
    expect(String(error)).toMatch(/already sent its headers.*reply.hijack/)
  })

  it("merges shared and per-stream headers, the stream's winning", async () => {
    const sse = createSSE({ headers: { "access-control-allow-origin": "*", "x-shared": "a" } })
    const { server, url } = await listen(
      (req, res) => void sse.connect(req, res, { headers: { "X-Shared": "b" } }),
    )
    cleanups.push(() => stop(server))
    cleanups.push(() => sse.close({ deadlineMs: 100 }))
    const stream = await openStream(url)
    expect(stream.headers["access-control-allow-origin"]).toBe("*")
    expect(stream.headers["x-shared"]).toBe("b")
    stream.close()
  })

  it("rejects nonsense options with the option named", () => {
    expect(() => createSSE({ heartbeatMs: -1 })).toThrow(/heartbeatMs must be a non-negative integer/)
    expect(() => createSSE({ closeFlushMs: 0 })).toThrow(/closeFlushMs must be at least 1/)
    expect(() => createSSE({ overflow: "block" as never })).toThrow(/overflow must be/)
  })
})

describe("node:http adapter wire format", () => {
  const servers: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of servers.splice(0)) await cleanup()
  })

  async function rawExchange(port: number, requestText: string, until: (text: string) => boolean) {
    const socket = connect(port, "127.0.0.1")
    await once(socket, "connect")
    socket.write(requestText)
    let text = ""
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8")
    })
    try {
      return await waitUntil(
        () => until(text),
        () => text,
      )
    } finally {
      socket.destroy()
    }
  }

  it("sends a reused byte frame's new bytes in a later turn", async () => {
    const sse = createSSE({ retryMs: null })
    const { server, url } = await listen((req, res) => {
      const connection = sse.connect(req, res)
      const frame = new TextEncoder().encode("data: A\n\n")
      connection.writeFrame(frame)
      setImmediate(() => {
        frame.set(new TextEncoder().encode("data: B\n\n"))
        connection.writeFrame(frame)
        connection.close()
      })
    })
    servers.push(() => stop(server))
    const stream = await openStream(url)
    await stream.ended
    expect(stream.events.map((event) => event.data)).toEqual(["A", "B"])
  })

  it("frames multi-byte UTF-8 events as exact HTTP/1.1 chunks", async () => {
    const sse = createSSE({ retryMs: null })
    const { server, url } = await listen((req, res) => {
      const connection = sse.connect(req, res)
      connection.send({ data: "é🎉 ünïcödé" })
      connection.close()
    })
    servers.push(() => stop(server))
    const stream = await openStream(url)
    await stream.ended
    expect(stream.events.map((event) => event.data)).toEqual(["é🎉 ünïcödé"])
    const port = (server.address() as { port: number }).port
    const raw = await rawExchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", (text) =>
      text.endsWith("0\r\n\r\n"),
    )
    const body = raw.slice(raw.indexOf("\r\n\r\n") + 4)
    expect(body).toBe(
      `4\r\n: \n\n\r\n${Buffer.byteLength("data: é🎉 ünïcödé\n\n").toString(16)}\r\ndata: é🎉 ünïcödé\n\n\r\n0\r\n\r\n`,
    )
  })

  it("ignores an empty frame, which as an HTTP/1.1 chunk would end the body", async () => {
    const sse = createSSE({ retryMs: null })
    const { server, url } = await listen((req, res) => {
      const connection = sse.connect(req, res)
      connection.writeFrame("")
      connection.writeFrame(new Uint8Array(0))
      connection.send({ data: "still streaming" })
    })
    servers.push(() => stop(server))
    servers.push(() => sse.close({ deadlineMs: 100 }))
    const stream = await openStream(url)
    expect((await stream.waitForEvents(1))[0]?.data).toBe("still streaming")
    stream.close()
  })

  it("writes through a response whose write() middleware wrapped, so the wrapper sees every byte", async () => {
    const sse = createSSE({ retryMs: null })
    const seen: string[] = []
    const { server, url } = await listen((req, res) => {
      const original = res.write.bind(res)
      res.write = ((chunk: string | Uint8Array) => {
        seen.push(Buffer.from(chunk).toString())
        return original(chunk)
      }) as typeof res.write
      const connection = sse.connect(req, res)
      connection.send({ data: "watched" })
      connection.close()
    })
    servers.push(() => stop(server))
    const stream = await openStream(url)
    await stream.ended
    expect(seen).toEqual([": \n\n", "data: watched\n\n"])
  })

  it("serves HTTP/1.0 clients (no chunked encoding) and sends no body to HEAD", async () => {
    const sse = createSSE({ retryMs: null })
    const { server } = await listen((req, res) => {
      const connection = sse.connect(req, res)
      connection.send({ data: "old client" })
      connection.close()
    })
    servers.push(() => stop(server))
    const port = (server.address() as { port: number }).port
    const old = await rawExchange(port, "GET / HTTP/1.0\r\n\r\n", (text) => text.includes("old client\n\n"))
    expect(old).not.toMatch(/transfer-encoding/i)
    expect(old).not.toMatch(/^connection: keep-alive/im)
    expect(old.slice(old.indexOf("\r\n\r\n") + 4)).toBe(": \n\ndata: old client\n\n")
    // A second request pipelined after the HEAD is the sentinel: its answer follows the HEAD's
    // head straight away, so a body of the HEAD would sit between them.
    const both = await rawExchange(port, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.0\r\n\r\n", (text) =>
      text.includes("old client\n\n"),
    )
    const afterHead = both.slice(both.indexOf("\r\n\r\n") + 4)
    expect(afterHead.slice(0, afterHead.indexOf("HTTP/1.1 200"))).toBe("")
  })

  it("answers HEAD with the stream's head alone and keeps no stream open, though the app never closes it", async () => {
    const sse = createSSE({ retryMs: null })
    const reasons: string[] = []
    const { server } = await listen((req, res) => {
      if (req.url === "/plain") {
        res.end("plain answer")
        return
      }
      sse.connect(req, res).onClose((reason) => reasons.push(reason))
    })
    servers.push(() => stop(server))
    const port = (server.address() as { port: number }).port
    const both = await rawExchange(
      port,
      "HEAD /events HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      (text) => text.includes("plain answer"),
    )
    expect(both).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(both).toMatch(/content-type: text\/event-stream/i)
    expect(both.indexOf("HTTP/1.1 200", 1)).toBeGreaterThan(0)
    expect(sse.connections.size).toBe(0)
    expect(reasons).toEqual(["closed"])
  })
})

describe("node:http adapter write coalescing", () => {
  it("sends the first write of a turn at once and gathers the rest into one flush at the end of the turn", async () => {
    const sse = createSSE({ retryMs: null })
    const corkedAfter: number[] = []
    const { server, url } = await listen((req, res) => {
      const connection = sse.connect(req, res)
      const socket = res.socket
      setImmediate(() => {
        connection.send({ data: "1" })
        corkedAfter.push(socket?.writableCorked ?? -1)
        connection.send({ data: "2" })
        connection.send({ data: "3" })
        corkedAfter.push(socket?.writableCorked ?? -1)
        process.nextTick(() => corkedAfter.push(socket?.writableCorked ?? -1))
      })
    })
    const stream = await openStream(url)
    expect((await stream.waitForEvents(3)).map((event) => event.data)).toEqual(["1", "2", "3"])
    expect(corkedAfter).toEqual([0, 1, 0])
    stream.close()
    await sse.close({ deadlineMs: 100 })
    await stop(server)
  })
})
