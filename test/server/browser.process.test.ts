// The real consumer: Chromium's own EventSource against a herald/server channel. It must parse
// the stream, honour the retry hint, and resume with Last-Event-ID after the server cuts it —
// with the events published meanwhile replayed, in order, none twice.
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createChannel, createSSE, type SSEConnection } from "../../src/server/index.js"
import { findChromium, launchChromium } from "../client/browser.js"
import { listen, stop, waitUntil } from "./helpers.js"

const executablePath = findChromium()

describe.skipIf(!executablePath)("herald/server with Chromium's EventSource", () => {
  const sse = createSSE({ retryMs: 100 })
  const channel = createChannel({ history: true })
  const connections: SSEConnection[] = []
  let browser: Browser
  let server: Awaited<ReturnType<typeof listen>>

  beforeAll(async () => {
    server = await listen((req, res) => {
      if (req.url === "/events") {
        const connection = sse.connect(req, res)
        connections.push(connection)
        channel.subscribe(connection)
      } else {
        res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>herald</title>")
      }
    })
    browser = await launchChromium(executablePath as string)
  })
  afterAll(async () => {
    await browser?.close()
    await sse.close({ deadlineMs: 100 })
    if (server) await stop(server.server)
  })

  it("resumes after the server drops it, replaying what was missed", async () => {
    const page = await browser.newPage()
    await page.goto(server.url)
    await page.evaluate(() => {
      const received: string[][] = []
      Object.assign(window, { received })
      new EventSource("/events").addEventListener("tick", (event) => {
        received.push([event.data, event.lastEventId])
      })
    })
    const received = () => page.evaluate(() => (window as unknown as { received: string[][] }).received)
    await waitUntil(
      () => channel.size === 1,
      () => undefined,
    )
    channel.publish({ event: "tick", data: "1" })
    const second = channel.publish({ event: "tick", data: "2" }).id
    await expect.poll(received).toHaveLength(2)

    connections[0]?.destroy()
    channel.publish({ event: "tick", data: "3" })
    channel.publish({ event: "tick", data: "4" })
    await waitUntil(
      () => connections.length === 2 && channel.size === 1,
      () => undefined,
    )
    expect(connections[1]?.lastEventId).toBe(second)
    await expect.poll(received).toHaveLength(4)
    expect((await received()).map(([data]) => data)).toEqual(["1", "2", "3", "4"])
    await page.close()
  })
})
