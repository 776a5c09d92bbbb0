// Backs each claim of docs/comparison-client.md about the peers: the `eventsource` package (v4)
// and `@microsoft/fetch-event-source` (v2). Herald's side of each row is covered by
// wpt-node.test.ts, wpt-browser.process.test.ts and extensions.test.ts.
import { fetchEventSource } from "@microsoft/fetch-event-source"
import { EventSource as EventSourcePackage } from "eventsource"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { EventSource } from "../../src/client/index.js"
import { sse, startTestServer, type TestServer } from "./test-server.js"
import { wptCases } from "./wpt/cases.js"
import { type EventSourceClass, runCases } from "./wpt/harness.js"
import { startWptServer } from "./wpt/server.js"

let server: TestServer

beforeAll(async () => {
  server = await startTestServer()
})

afterAll(async () => {
  await server.close()
})

describe("eventsource v4 on the ported WPT cases", () => {
  /** The cases it fails; the test fails if this list stops being exactly true. */
  const expectedFailures = [
    "eventsource-constructor-stringify: the URL argument is converted with toString",
    "eventsource-constructor-non-same-origin: a non-HTTP(S) URL fails the connection",
    "eventsource-prototype: CONNECTING/OPEN/CLOSED on the interface and on instances",
    "format-field-id-2: an id-only block sets lastEventId; an empty id resets it",
    "format-field-id-null: an id containing NUL is ignored",
    "last-event-id: an ASCII id is sent back on reconnection",
    "last-event-id: a non-ASCII id round-trips as UTF-8",
    "eventsource-close: close() in a listener drops the rest of the chunk",
  ]

  it(`passes ${wptCases.length - expectedFailures.length} of ${wptCases.length}; Herald passes all`, async () => {
    const wpt = await startWptServer()
    try {
      const [peer, herald] = await Promise.all([
        runCases(wptCases, EventSourcePackage as unknown as EventSourceClass, wpt.origin, "eventsource-v4"),
        runCases(wptCases, EventSource as unknown as EventSourceClass, wpt.origin, "herald"),
      ])
      expect(peer.filter((result) => !result.ok).map((result) => result.name)).toEqual(expectedFailures)
      expect(herald.filter((result) => !result.ok)).toEqual([])
    } finally {
      await wpt.close()
    }
  })

  it("has no async iteration (Herald: for await, events())", () => {
    expect(Symbol.asyncIterator in EventSourcePackage.prototype).toBe(false)
    expect(Symbol.asyncIterator in EventSource.prototype).toBe(true)
  })

  it("fails on a 503 with no way to retry it; the error has the status but no headers", async () => {
    server.handle((_req, res) => res.writeHead(503, { "Retry-After": "0" }).end())
    const source = new EventSourcePackage(server.url)
    const event = await new Promise<Event>((resolve) => {
      source.onerror = resolve
    })
    expect(source.readyState).toBe(2)
    expect(server.requests).toHaveLength(1)
    expect((event as unknown as { code: number }).code).toBe(503)
    expect("headers" in event).toBe(false)
  })

  it("does not read a refusal's body: the server's reason is not in the error", async () => {
    const detail = "The token expired at 10:00."
    server.handle((_req, res) =>
      res.writeHead(401, { "Content-Type": "application/problem+json" }).end(JSON.stringify({ detail })),
    )
    const source = new EventSourcePackage(server.url)
    const event = await new Promise<Event>((resolve) => {
      source.onerror = resolve
    })
    const { code, message } = event as unknown as { code: number; message: string }
    expect(code).toBe(401)
    expect(message).not.toContain(detail)
    expect(JSON.stringify(Object.values(event))).not.toContain(detail)
  })

  it("after a non-ASCII id, never reconnects: every attempt throws before sending", async () => {
    server.handle(sse("retry: 10\nid: \u203d\ndata: x\n\n"))
    const source = new EventSourcePackage(server.url)
    const errors: string[] = []
    source.onerror = (event) => errors.push(event.message ?? "")
    await expect.poll(() => errors.length).toBeGreaterThanOrEqual(3)
    source.close()
    expect(server.requests).toHaveLength(1)
    expect(errors.at(-1)).toMatch(/ByteString/)
  })

  it("reconnects at a constant interval, with no backoff and no attempt limit", async () => {
    let connections = 0
    const times: number[] = []
    const fetch = async (url: string | URL, init?: RequestInit) => {
      times.push(Date.now())
      if (++connections === 1) return globalThis.fetch(url, init)
      throw new TypeError("connection refused")
    }
    server.handle(sse("retry: 20\ndata: x\n\n"))
    const source = new EventSourcePackage(server.url, { fetch })
    await expect.poll(() => times.length).toBeGreaterThanOrEqual(7)
    source.close()
    const gaps = times.slice(2, 7).map((time, i) => time - (times[i + 1] as number))
    expect(Math.max(...gaps)).toBeLessThan(300)
  })
})

describe("@microsoft/fetch-event-source v2", () => {
  it("needs `document`: outside a window it throws ReferenceError", async () => {
    expect("document" in globalThis).toBe(false)
    await expect(fetchEventSource(server.url, {})).rejects.toThrow(/document is not defined/)
  })

  describe("with window and document stubbed", () => {
    const globals = globalThis as unknown as Record<string, unknown>
    beforeAll(() => {
      globals.window = { setTimeout, clearTimeout, fetch: globalThis.fetch }
      globals.document = { hidden: false, addEventListener() {}, removeEventListener() {} }
    })
    afterAll(() => {
      delete globals.window
      delete globals.document
    })

    /** Runs fetch-event-source until the stream ends or `stop` says so; returns its messages. */
    async function run(
      options: Parameters<typeof fetchEventSource>[1],
      stop: (messages: Array<{ data: string; id: string; retry?: number }>) => boolean = () => false,
    ) {
      const controller = new AbortController()
      const messages: Array<{ data: string; id: string; retry?: number }> = []
      const done = fetchEventSource(server.url, {
        openWhenHidden: true,
        signal: controller.signal,
        ...options,
        onmessage(message) {
          messages.push(message)
          if (stop(messages)) controller.abort()
        },
      })
      const timer = setTimeout(() => controller.abort(), 3000)
      await done.finally(() => clearTimeout(timer))
      return messages
    }

    it("takes `retry: 5000x` as 5000 (the spec ignores a value that is not only digits)", async () => {
      server.handle(sse("retry: 5000x\ndata: x\n\n"))
      const [message] = await run({})
      expect(message?.retry).toBe(5000)
    })

    it("dispatches a message for a block without data (the spec dispatches nothing)", async () => {
      server.handle(sse("id: 1\n\ndata: real\n\n"))
      expect((await run({})).map((message) => message.data)).toEqual(["", "real"])
    })

    it("drops a BOM at the start of any line (the spec drops only the stream's first)", async () => {
      server.handle(sse("\uFEFFdata: 1\n\n\uFEFFdata: 2\n\ndata: 3\n\n"))
      expect((await run({})).map((message) => message.data)).toEqual(["1", "2", "3"])
    })

    it("keeps an id containing NUL (the spec ignores it)", async () => {
      server.handle(sse("id: a\0b\ndata: x\n\n"))
      expect((await run({}))[0]?.id).toBe("a\0b")
    })

    it("does not reconnect when a stream ends cleanly (the spec reconnects)", async () => {
      server.handle(sse("retry: 10\ndata: x\n\n"))
      await run({})
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(server.requests).toHaveLength(1)
    })

    it("reads a 500 answer as a stream when it says text/event-stream (the spec fails on any non-200)", async () => {
      server.handle((_req, res) =>
        res.writeHead(500, { "Content-Type": "text/event-stream" }).end("data: oops\n\n"),
      )
      expect((await run({})).map((message) => message.data)).toEqual(["oops"])
    })

    it("retries a 404 again and again by default (the spec fails at once)", async () => {
      server.handle((_req, res) => res.writeHead(404, { "Content-Type": "text/plain" }).end())
      const controller = new AbortController()
      const done = fetchEventSource(server.url, { openWhenHidden: true, signal: controller.signal })
      await expect.poll(() => server.requests.length, { timeout: 3000 }).toBeGreaterThanOrEqual(2)
      controller.abort()
      await done
    })

    it("sends a dropped POST again without being asked", async () => {
      server.handle((_req, res) => {
        res.writeHead(200, { "Content-Type": "text/event-stream" })
        res.write("retry: 10\ndata: partial\n\n")
        setTimeout(() => res.destroy(), 10)
      })
      await run({ method: "POST", body: "{}" }, (messages) => messages.length === 2)
      expect(server.requests.slice(0, 2).map((request) => request.method)).toEqual(["POST", "POST"])
    })

    it("after a non-ASCII id, every reconnection attempt throws before sending", async () => {
      server.handle((_req, res) => {
        res.writeHead(200, { "Content-Type": "text/event-stream" })
        res.write("retry: 10\nid: \u203d\ndata: x\n\n")
        setTimeout(() => res.destroy(), 10)
      })
      const errors: unknown[] = []
      const controller = new AbortController()
      const done = fetchEventSource(server.url, {
        openWhenHidden: true,
        signal: controller.signal,
        onerror: (error) => void errors.push(error),
      })
      await expect.poll(() => errors.length).toBeGreaterThanOrEqual(3)
      controller.abort()
      await done
      expect(server.requests).toHaveLength(1)
      expect(String(errors.at(-1))).toMatch(/ByteString/)
    })

    it("reads headers once: a retry cannot refresh a token (Herald: headers as a function)", async () => {
      server.handle((_req, res) => {
        res.writeHead(200, { "Content-Type": "text/event-stream" })
        res.write("retry: 10\ndata: x\n\n")
        setTimeout(() => res.destroy(), 10)
      })
      let reads = 0
      const headers = {
        get authorization() {
          return `token-${++reads}`
        },
      }
      await run({ headers }, (messages) => messages.length === 2)
      expect(server.requests.slice(0, 2).map((request) => request.headers.authorization)).toEqual([
        "token-1",
        "token-1",
      ])
    })
  })
})
