import type { ServerResponse } from "node:http"
import { afterEach, describe, expect, it } from "vitest"
import { createSSE, type SSEConnection } from "../../src/server/index.js"
import { connectStalledReader, listen, openStream, stop, waitUntil } from "./helpers.js"

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

describe("graceful shutdown", () => {
  it("tells every client when to come back, ends the streams, and stops accepting", async () => {
    const sse = createSSE({ retryMs: 3000 })
    const { server, url } = await listen((req, res) => void sse.connect(req, res))
    cleanups.push(() => stop(server))
    const streams = await Promise.all([openStream(url), openStream(url)])
    await waitUntil(
      () => sse.connections.size === 2,
      () => undefined,
    )
    await sse.close({ retryMs: 750, deadlineMs: 2000, server })
    for (const stream of streams) {
      await stream.ended
      expect(stream.retries).toEqual([3000, 750])
    }
    expect(sse.connections.size).toBe(0)
    expect(sse.closing).toBe(true)
    expect(server.listening).toBe(false)
  })

  it("spreads the clients' return over the jitter window, each with its own retry", async () => {
    const sse = createSSE({ retryMs: 3000 })
    const { server, url } = await listen((req, res) => void sse.connect(req, res))
    cleanups.push(() => stop(server))
    const streams = await Promise.all(Array.from({ length: 40 }, () => openStream(url)))
    await waitUntil(
      () => sse.connections.size === 40,
      () => undefined,
    )
    await sse.close({ retryMs: 500, retryJitterMs: 1000, deadlineMs: 2000 })
    await Promise.all(streams.map((stream) => stream.ended))
    const retries = streams.map((stream) => stream.retries[1] as number)
    for (const retry of retries) {
      expect(retry).toBeGreaterThanOrEqual(500)
      expect(retry).toBeLessThanOrEqual(1500)
    }
    // 40 uniform draws over 1001 values: all but certainly this spread out (a failure is < 1e-9 likely).
    expect(new Set(retries).size).toBeGreaterThan(30)
    expect(Math.max(...retries) - Math.min(...retries)).toBeGreaterThan(500)
  })

  it("answers streams that arrive during shutdown with the retry hint and an end, not an error status", async () => {
    const sse = createSSE({ retryMs: 3000 })
    const { server, url } = await listen((req, res) => void sse.connect(req, res))
    cleanups.push(() => stop(server))
    await sse.close({ retryMs: 500 })
    const late = await openStream(url)
    await late.ended
    expect(late.status).toBe(200)
    expect(late.retries).toEqual([3000, 500])
  })

  it("cuts a client that is still flushing at the deadline", async () => {
    const sse = createSSE({ maxQueuedBytes: 32 * 1024 * 1024 })
    const opened: SSEConnection[] = []
    const responses: ServerResponse[] = []
    const { server } = await listen((req, res) => {
      responses.push(res)
      opened.push(sse.connect(req, res))
    })
    cleanups.push(() => stop(server))
    const { socket, connection } = await connectStalledReader(server, opened)
    cleanups.push(() => void socket.destroy())
    // More than loopback socket buffers hold (a few MiB each way), so the stream cannot finish flushing.
    const chunk = { data: "x".repeat(64 * 1024) }
    for (let i = 0; i < 400; i++) connection.send(chunk)
    expect(connection.queuedBytes).toBeGreaterThan(16 * 1024 * 1024)
    const started = Date.now()
    await sse.close({ deadlineMs: 150 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    expect(responses[0]?.destroyed).toBe(true)
  })
})
