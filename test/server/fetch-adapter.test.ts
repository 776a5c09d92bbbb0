import { afterEach, describe, expect, it, vi } from "vitest"
import { createParser, type ServerSentEvent } from "../../src/protocol/index.js"
import { createSSE, type SSEConnection } from "../../src/server/index.js"
import { recordingLogger, waitUntil } from "./helpers.js"

const sse = createSSE({ retryMs: 2000 })
afterEach(() => {
  for (const connection of sse.connections) connection.destroy()
})

/** Reads events from a Response body until `count` arrived. */
async function readEvents(response: Response, count: number) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const events: ServerSentEvent[] = []
  const retries: number[] = []
  const parser = createParser({ onEvent: (event) => events.push(event), onRetry: (ms) => retries.push(ms) })
  while (events.length < count) {
    const { value, done } = await reader.read()
    if (done) break
    parser.feed(value)
  }
  return { events, retries, reader }
}

describe("Fetch adapter", () => {
  it("returns a streaming 200 Response with the SSE headers and no Connection header", async () => {
    const response = sse.response(new Request("http://app/events"), (connection) => {
      connection.send({ id: "1", data: "hi" })
    })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform")
    expect(response.headers.get("connection")).toBeNull()
    const { events, retries, reader } = await readEvents(response, 1)
    expect(retries).toEqual([2000])
    expect(events).toEqual([{ type: "message", data: "hi", lastEventId: "1" }])
    await reader.cancel()
  })

  it("answers HEAD with the headers, no body, and no stream kept open", async () => {
    const reasons: string[] = []
    let sent: boolean | undefined
    const response = sse.response(new Request("http://app/events", { method: "HEAD" }), (connection) => {
      connection.onClose((reason) => reasons.push(reason))
      sent = connection.send({ data: "never read" })
    })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
    expect(response.body).toBeNull()
    expect(sent).toBe(false)
    expect(sse.connections.size).toBe(0)
    await Promise.resolve()
    expect(reasons).toEqual(["closed"])
  })

  it("reads Last-Event-ID from the request header or query", () => {
    const seen: string[] = []
    sse.response(
      new Request("http://app/", { headers: { "Last-Event-ID": "7" } }),
      (c) => void seen.push(c.lastEventId),
    )
    sse.response(new Request("http://app/?lastEventId=8"), (c) => void seen.push(c.lastEventId))
    expect(seen).toEqual(["7", "8"])
  })

  it("closes the connection and cancels a piped source when the body is cancelled", async () => {
    let connection: SSEConnection | undefined
    let sourceCancelled = false
    const response = sse.response(new Request("http://app/"), (opened) => {
      connection = opened
      return opened.pipe(
        new ReadableStream<string>({
          pull: (controller) => controller.enqueue("token"),
          cancel: () => {
            sourceCancelled = true
          },
        }),
      )
    })
    const { reader } = await readEvents(response, 3)
    await reader.cancel()
    await waitUntil(
      () => sourceCancelled,
      () => undefined,
    )
    expect(connection?.closeReason).toBe("client-gone")
  })

  it("closes the connection when the request's signal aborts", async () => {
    const controller = new AbortController()
    let connection: SSEConnection | undefined
    sse.response(new Request("http://app/", { signal: controller.signal }), (opened) => {
      connection = opened
    })
    controller.abort()
    expect(connection?.closeReason).toBe("client-gone")
  })

  it("applies backpressure when the body is not read, and resumes once it is", async () => {
    let connection: SSEConnection | undefined
    const response = sse.response(new Request("http://app/"), (opened) => {
      connection = opened
    })
    const open = connection as SSEConnection
    let accepted = 0
    while (open.send({ data: "x".repeat(1000) }) && accepted < 1000) accepted++
    expect(accepted).toBeLessThan(100)
    expect(open.backpressured).toBe(true)
    const writable = open.whenWritable()
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    for (let i = 0; i < 200 && open.backpressured; i++) await reader.read()
    await writable
    expect(open.backpressured).toBe(false)
    await reader.cancel()
  })

  it("lets a graceful shutdown end once the bodies are read to their end, not at its deadline", async () => {
    const closing = createSSE({ heartbeatMs: 0 })
    let connection: SSEConnection | undefined
    const response = closing.response(new Request("http://app/"), (opened) => {
      connection = opened
    })
    const open = connection as SSEConnection
    // More than the body buffers: its end waits for the reader.
    while (open.send({ data: "x".repeat(1000) })) {}
    let finished = false
    const done = closing.close({ deadlineMs: 60_000 }).then(() => {
      finished = true
    })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(finished).toBe(false)
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    let bytes = 0
    for (;;) {
      const { value, done: ended } = await reader.read()
      if (ended) break
      bytes += value.byteLength
    }
    expect(bytes).toBeGreaterThan(64 * 1024)
    const outcome = await Promise.race([
      done.then(() => "ended"),
      new Promise((resolve) => setTimeout(() => resolve("still waiting"), 2000)),
    ])
    expect(outcome).toBe("ended")
  })

  it("closes the stream when the handler fails, reports it to the logger, and the process lives on", async () => {
    const logger = recordingLogger()
    const logged = createSSE({ heartbeatMs: 0, logger })
    const response = logged.response(new Request("http://app/"), async () => {
      throw new Error("handler bug")
    })
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return
      })(),
    ).rejects.toThrow(/aborted/)
    expect(logger.entries.map((entry) => String(entry.fields.err))).toEqual(["Error: handler bug"])
  })
})

describe("Fetch adapter on a real server (@hono/node-server)", () => {
  it("sees the client leave, closes quietly, and accepts per-stream headers", async () => {
    const { serve } = await import("@hono/node-server")
    const { openStream } = await import("./helpers.js")
    const opened: SSEConnection[] = []
    const server = serve({
      fetch: (request: Request) =>
        sse.response(request, (connection) => void opened.push(connection), {
          headers: { "last-event-id": "9" },
        }),
      port: 0,
      hostname: "127.0.0.1",
    })
    await new Promise((resolve) => server.once("listening", resolve))
    const logged = vi.spyOn(console, "error").mockImplementation(() => {})
    try {
      const { port } = server.address() as { port: number }
      const stream = await openStream(`http://127.0.0.1:${port}/`)
      expect(stream.headers["last-event-id"]).toBe("9")
      await waitUntil(
        () => stream.retries.length === 1,
        () => undefined,
      )
      stream.close()
      await waitUntil(
        () => opened[0]?.closed === true,
        () => undefined,
      )
      expect(opened[0]?.closeReason).toBe("client-gone")
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(logged).not.toHaveBeenCalled()
    } finally {
      logged.mockRestore()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
