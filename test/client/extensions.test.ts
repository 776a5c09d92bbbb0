// Herald's extensions in the init dictionary: request options, reconnection policy, response
// hook, abort signal, async iteration, errors. The standard behaviour is in wpt-node.test.ts.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import {
  EventSource,
  EventSourceError,
  type EventSourceErrorEvent,
  EventSourceResponseError,
  events,
  type EventSourceInit as HeraldEventSourceInit,
} from "../../src/client/index.js"
import { MAX_TIMER_DELAY } from "../../src/client/timeouts.js"
import { sse, startTestServer, type TestServer } from "./test-server.js"

let server: TestServer

beforeAll(async () => {
  server = await startTestServer()
})

afterAll(async () => {
  await server.close()
})

/** Resolves with the next event of `type`. */
function next<E extends Event>(source: EventTarget, type: string): Promise<E> {
  return new Promise((resolve) =>
    source.addEventListener(type, (event) => resolve(event as E), { once: true }),
  )
}

/** Resolves with the `error` event that closes the source. */
function closed(source: EventSource): Promise<EventSourceErrorEvent> {
  return new Promise((resolve) => {
    source.addEventListener("error", (event) => {
      if (source.readyState === EventSource.CLOSED) resolve(event as EventSourceErrorEvent)
    })
  })
}

async function collect(iterable: AsyncIterable<MessageEvent<string>>): Promise<string[]> {
  const seen: string[] = []
  for await (const event of iterable) seen.push(`${event.type}:${event.data}`)
  return seen
}

describe("request options", () => {
  it("sends headers, and calls a headers function before every (re)connection", async () => {
    server.handle(sse("retry: 10\ndata: x\n\n"))
    let calls = 0
    const source = new EventSource(server.url, {
      headers: () => ({ Authorization: `Bearer token-${++calls}` }),
    })
    await new Promise<void>((resolve) => {
      let seen = 0
      source.onmessage = () => {
        if (++seen === 2) resolve()
      }
    })
    source.close()
    expect(server.requests.slice(0, 2).map((r) => r.headers.authorization)).toEqual([
      "Bearer token-1",
      "Bearer token-2",
    ])
  })

  it("sends a POST body (a function is called again for each attempt)", async () => {
    server.handle(sse("data: done\n\n"))
    const body = JSON.stringify({ prompt: "hi" })
    const seen = await collect(
      events(server.url, {
        method: "POST",
        body,
        headers: { "Content-Type": "application/json" },
        reconnect: false,
      }),
    )
    expect(seen).toEqual(["message:done"])
    expect(server.requests[0]).toMatchObject({ method: "POST", body })
    expect(server.requests[0]?.headers["content-type"]).toBe("application/json")
  })

  it("starts from init.lastEventId, sent as Last-Event-ID from the first request", async () => {
    server.handle(sse("data: x\n\n"))
    await collect(events(server.url, { lastEventId: "42", reconnect: false }))
    expect(server.requests[0]?.headers["last-event-id"]).toBe("42")
  })

  it("sends an id holding controls (an SSE id may; a header may not) with each as U+FFFD, instead of failing every reconnection", async () => {
    const first = sse("id: a\u0001b\u007fc\td\ndata: x\n\n")
    const later = sse("data: y\n\n")
    let answered = 0
    server.handle((req, res, body) => (answered++ === 0 ? first : later)(req, res, body))
    const source = new EventSource(server.url, { reconnect: { delay: 10, maxAttempts: 3 } })
    expect((await next<MessageEvent>(source, "message")).lastEventId).toBe("a\u0001b\u007fc\td")
    expect((await next<MessageEvent>(source, "message")).data).toBe("y")
    source.close()
    // The header as the server read it: its bytes, one character each; U+FFFD is EF BF BD.
    const sent = Buffer.from(server.requests[1]?.headers["last-event-id"] as string, "latin1").toString(
      "utf8",
    )
    expect(sent).toBe("a\ufffdb\ufffdc\td")
  })

  it("uses an injected fetch, and events take the origin of the URL when the Response has none", async () => {
    const calls: Array<{ url: string; init: RequestInit }> = []
    const fetch = async (url: string, init: RequestInit) => {
      calls.push({ url, init })
      return new Response("id: 7\ndata: from a stub\n\n", {
        headers: { "Content-Type": "text/event-stream" },
      })
    }
    const source = new EventSource("https://example.test/stream", { fetch, reconnect: false })
    const event = await next<MessageEvent>(source, "message")
    expect([event.data, event.origin, event.lastEventId]).toEqual([
      "from a stub",
      "https://example.test",
      "7",
    ])
    const headers = new Headers(calls[0]?.init.headers)
    expect([calls[0]?.url, headers.get("accept"), calls[0]?.init.cache]).toEqual([
      "https://example.test/stream",
      "text/event-stream",
      "no-store",
    ])
  })

  it("fails with invalid-request when the headers function throws", async () => {
    const source = new EventSource(server.url, {
      headers: () => {
        throw new Error("token store offline")
      },
    })
    const { error } = await closed(source)
    expect(error?.code).toBe("invalid-request")
    expect(error?.message).toContain("token store offline")
  })
})

describe("reconnection policy", () => {
  it("backs off exponentially up to maxAttempts, then fails with retries-exhausted", async () => {
    const times: number[] = []
    const fetch = async () => {
      times.push(Date.now())
      throw new TypeError("connection refused")
    }
    const source = new EventSource("http://127.0.0.1:9/never", {
      fetch,
      reconnect: { delay: 20, backoff: 2, maxAttempts: 3 },
    })
    const states: number[] = []
    source.addEventListener("error", () => states.push(source.readyState))
    const { error } = await closed(source)
    expect(times).toHaveLength(4)
    const gaps = times.slice(1).map((time, i) => time - (times[i] as number))
    expect(gaps[0]).toBeGreaterThanOrEqual(18)
    expect(gaps[1]).toBeGreaterThanOrEqual(38)
    expect(gaps[2]).toBeGreaterThanOrEqual(78)
    expect(states).toEqual([0, 0, 0, 2])
    expect(error?.code).toBe("retries-exhausted")
    expect(error?.message).toMatch(/after 3 reconnection attempts.*connection refused/)
  })

  it("waits the longest timer delay after a retry: of 400 digits, instead of reconnecting at once", async () => {
    // Faked setTimeout overflows past MAX_TIMER_DELAY and fires at once, as Node's does.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] })
    let connections = 0
    const fetch = async () => {
      connections++
      return new Response(`retry: ${"9".repeat(400)}\ndata: x\n\n`, {
        headers: { "Content-Type": "text/event-stream" },
      })
    }
    const source = new EventSource("http://herald.test/stream", { fetch })
    try {
      await next(source, "error")
      const reopened = next(source, "open")
      const droppedAt = Date.now()
      await vi.advanceTimersToNextTimerAsync()
      await reopened
      expect([connections, Date.now() - droppedAt]).toEqual([2, MAX_TIMER_DELAY])
    } finally {
      source.close()
      vi.useRealTimers()
    }
  })

  it("fails on a 503 by default, with status and headers on the error", async () => {
    server.handle((_req, res) => res.writeHead(503, { "Retry-After": "1" }).end())
    const source = new EventSource(server.url)
    const { error } = await closed(source)
    expect(error).toBeInstanceOf(EventSourceResponseError)
    const responseError = error as EventSourceResponseError
    expect([responseError.code, responseError.status, responseError.headers.get("retry-after")]).toEqual([
      "status",
      503,
      "1",
    ])
    expect(responseError.message).toContain("503")
    expect(responseError.message).toContain("reconnect.retryOnStatus")
    expect(server.requests).toHaveLength(1)
  })

  it("with retryOnStatus, retries a 503 after its Retry-After, then opens", async () => {
    let count = 0
    server.handle((req, res) => {
      if (++count === 1) return void res.writeHead(503, { "Retry-After": "1" }).end()
      sse("data: back\n\n")(req, res, "")
    })
    const source = new EventSource(server.url, { reconnect: { delay: 10, retryOnStatus: true } })
    const started = Date.now()
    const error = await next<EventSourceErrorEvent>(source, "error")
    expect(source.readyState).toBe(EventSource.CONNECTING)
    expect((error.error as EventSourceResponseError).status).toBe(503)
    const message = await next<MessageEvent>(source, "message")
    source.close()
    expect(message.data).toBe("back")
    expect(Date.now() - started).toBeGreaterThanOrEqual(950)
  })

  it("retries a 429 with retryOnStatus but still fails on a 404", async () => {
    let count = 0
    server.handle((_req, res) => res.writeHead(++count === 1 ? 429 : 404).end())
    const source = new EventSource(server.url, { reconnect: { delay: 10, retryOnStatus: true } })
    const { error } = await closed(source)
    expect((error as EventSourceResponseError).status).toBe(404)
    expect(count).toBe(2)
  })

  it("never retries a dropped POST by default, and says why", async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/event-stream" })
      res.write("data: partial\n\n")
      setTimeout(() => res.destroy(), 20)
    })
    const source = new EventSource(server.url, { method: "POST", body: "{}", reconnect: { delay: 10 } })
    const { error } = await closed(source)
    expect(error?.code).toBe("network")
    expect(error?.message).toContain("POST is not idempotent")
    expect(server.requests).toHaveLength(1)
  })

  it("retries a POST with retryNonIdempotent, sending Last-Event-ID", async () => {
    server.handle(sse("retry: 10\nid: 5\ndata: x\n\n"))
    const source = new EventSource(server.url, {
      method: "POST",
      body: () => "again",
      reconnect: { retryNonIdempotent: true },
    })
    await new Promise<void>((resolve) => {
      let seen = 0
      source.onmessage = () => {
        if (++seen === 2) resolve()
      }
    })
    source.close()
    expect(server.requests.slice(0, 2).map((r) => [r.method, r.body, r.headers["last-event-id"]])).toEqual([
      ["POST", "again", undefined],
      ["POST", "again", "5"],
    ])
  })

  it("with reconnect: false, a clean end closes the source with an error event that has no error", async () => {
    server.handle(sse("data: only\n\n"))
    const source = new EventSource(server.url, { reconnect: false })
    const event = await closed(source)
    expect(event.error).toBeUndefined()
    expect(server.requests).toHaveLength(1)
  })
})

describe("response hook", () => {
  it("fails the connection with the hook's reason, before open", async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/event-stream", "X-Stream-Version": "1" })
      res.end("data: x\n\n")
    })
    const opened: Event[] = []
    const source = new EventSource(server.url, {
      onResponse(response) {
        if (response.headers.get("X-Stream-Version") !== "2") throw new Error("needs stream version 2")
      },
    })
    source.onopen = (event) => opened.push(event)
    const { error } = await closed(source)
    expect(opened).toEqual([])
    expect(error).toBeInstanceOf(EventSourceResponseError)
    expect([error?.code, (error?.cause as Error | undefined)?.message]).toEqual([
      "rejected",
      "needs stream version 2",
    ])
    expect(error?.message).toContain("needs stream version 2")
  })

  it("accepts the response when the hook returns", async () => {
    server.handle(sse("data: ok\n\n"))
    const seen: number[] = []
    const result = await collect(
      events(server.url, { reconnect: false, onResponse: (response) => void seen.push(response.status) }),
    )
    expect([result, seen]).toEqual([["message:ok"], [200]])
  })
})

describe("errors", () => {
  it("a 404 says what happened and what to do", async () => {
    server.handle((_req, res) => res.writeHead(404, { "Content-Type": "text/plain" }).end("nope"))
    const { error } = await closed(new EventSource(server.url))
    expect(error).toBeInstanceOf(EventSourceError)
    expect(error?.message).toBe(
      `GET ${server.url} answered 404 Not Found, but an event stream must answer 200. Check the URL and the server's route. Not reconnecting. The server said: nope`,
    )
    expect((error as EventSourceResponseError).body).toBe("nope")
  })

  it("a refusal quotes the server's reason from a problem document, and keeps the body", async () => {
    const problem = JSON.stringify({
      title: "Unauthorized",
      status: 401,
      detail: "The token expired at 10:00.",
    })
    server.handle((_req, res) =>
      res.writeHead(401, { "Content-Type": "application/problem+json" }).end(problem),
    )
    const { error } = await closed(new EventSource(server.url))
    expect(error?.message).toMatch(
      /answered 401 Unauthorized\. Check the credentials .* The server said: The token expired at 10:00\.$/,
    )
    expect((error as EventSourceResponseError).body).toBe(problem)
  })

  it("reads an AI provider's JSON error on a retried 429", async () => {
    let count = 0
    server.handle((req, res) => {
      if (++count > 1) return sse("data: ok\n\n")(req, res, "")
      res.writeHead(429, { "Content-Type": "application/json", "Retry-After": "0" })
      res.end(JSON.stringify({ error: { message: "Rate limit reached for requests", type: "requests" } }))
    })
    const source = new EventSource(server.url, { reconnect: { delay: 10, retryOnStatus: true } })
    const event = await next<EventSourceErrorEvent>(source, "error")
    source.close()
    expect(event.error?.message).toContain(
      "retrying (reconnect.retryOnStatus). The server said: Rate limit reached for requests",
    )
  })

  it("an HTML error page is kept in body but not quoted", async () => {
    server.handle((_req, res) =>
      res.writeHead(502, { "Content-Type": "text/html" }).end("<h1>Bad Gateway</h1>"),
    )
    const { error } = await closed(new EventSource(server.url))
    expect(error?.message).not.toContain("The server said")
    expect((error as EventSourceResponseError).body).toBe("<h1>Bad Gateway</h1>")
  })

  it("reads at most 4 KiB of a refusal, and does not wait more than a second for a stalled one", async () => {
    server.handle((_req, res) =>
      res.writeHead(500, { "Content-Type": "text/plain" }).end("x".repeat(100_000)),
    )
    const large = await closed(new EventSource(server.url))
    expect((large.error as EventSourceResponseError).body).toBe("x".repeat(4096))

    server.handle((_req, res) => {
      res.writeHead(403, { "Content-Type": "text/plain" })
      res.write("forbidden: no grant for this topic\n") // …and never ends
    })
    const started = Date.now()
    const stalled = await closed(new EventSource(server.url))
    expect(Date.now() - started).toBeLessThan(5000)
    expect(stalled.error?.message).toContain("The server said: forbidden: no grant for this topic")
    // The stalled response was let go, not left open.
    await expect.poll(() => server.aborted).toBe(1)
  })

  it("a wrong Content-Type names the type it got", async () => {
    server.handle((_req, res) => res.writeHead(200, { "Content-Type": "text/html" }).end("<p>hi</p>"))
    const { error } = await closed(new EventSource(server.url))
    expect(error?.code).toBe("content-type")
    expect(error?.message).toContain('Content-Type "text/html"')
  })

  it("an event over maxEventSize fails the connection", async () => {
    server.handle(sse(`data: ${"x".repeat(1000)}\n\n`))
    const { error } = await closed(new EventSource(server.url, { maxEventSize: 100 }))
    expect(error?.code).toBe("event-too-large")
  })

  it("a reconnection's error event carries the network error", async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/event-stream" })
      res.write("retry: 10\ndata: x\n\n")
      setTimeout(() => res.destroy(), 10)
    })
    const source = new EventSource(server.url)
    const event = await next<EventSourceErrorEvent>(source, "error")
    source.close()
    expect(event.error?.code).toBe("network")
    expect(event.error?.message).toContain("dropped")
  })
})

describe("signal and async iteration", () => {
  it("yields every event type in order across reconnections, and break closes the connection", async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/event-stream" })
      res.write("retry: 10\nevent: token\ndata: a\n\ndata: b\n\n")
    })
    const source = new EventSource(server.url)
    const seen: string[] = []
    for await (const event of source) {
      seen.push(`${event.type}:${event.data}`)
      if (seen.length === 2) break
    }
    expect(seen).toEqual(["token:a", "message:b"])
    expect(source.readyState).toBe(EventSource.CLOSED)
    await expect.poll(() => server.aborted).toBe(1)
  })

  it("the iterator throws the EventSourceError when the source fails", async () => {
    server.handle((_req, res) => res.writeHead(401).end())
    await expect(collect(new EventSource(server.url))).rejects.toMatchObject({ code: "status", status: 401 })
  })

  it("aborting the signal closes the source and ends events() cleanly", async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/event-stream" })
      res.write("data: first\n\n")
    })
    const controller = new AbortController()
    const seen: string[] = []
    for await (const event of events(server.url, { signal: controller.signal })) {
      seen.push(event.data)
      controller.abort()
    }
    expect(seen).toEqual(["first"])
    await expect.poll(() => server.aborted).toBe(1)
  })

  it("an already aborted signal gives a CLOSED source that never connects", async () => {
    server.handle(sse("data: x\n\n"))
    const source = new EventSource(server.url, { signal: AbortSignal.abort() })
    expect(source.readyState).toBe(EventSource.CLOSED)
    expect(await collect(source)).toEqual([])
    expect(server.requests).toHaveLength(0)
  })

  it("a slow loop pauses reading instead of buffering without bound (maxQueuedEvents)", async () => {
    let written = 0
    server.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/event-stream" })
      const timer = setInterval(() => {
        if (res.destroyed || written === 200) return clearInterval(timer)
        res.write(`data: ${++written}\n\n`)
      }, 1)
    })
    const source = new EventSource(server.url, { maxQueuedEvents: 2 })
    let dispatched = 0
    source.addEventListener("message", () => dispatched++)
    const iterator = source[Symbol.asyncIterator]()
    await iterator.next()
    // The server's last write is the sentinel: a client that kept reading would have dispatched
    // nearly all 200 events by then.
    await expect.poll(() => written, { timeout: 5000 }).toBe(200)
    expect(dispatched).toBeLessThan(20)
    await iterator.return?.()
  })
})

describe("timeouts", () => {
  /** Rejects when `promise` has not settled within `ms`, so a missing timeout fails fast. */
  function within<T>(ms: number, promise: Promise<T>): Promise<T> {
    return Promise.race([
      promise,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms)),
    ])
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  /** A server that accepts each request and never answers; `server.aborted` counts those the client let go. */
  const silentServer = () => server.handle(() => {})

  it("connectTimeout aborts an attempt that gets no headers, and reconnects under the policy", async () => {
    silentServer()
    const started = Date.now()
    const source = new EventSource(server.url, {
      connectTimeout: 150,
      reconnect: { delay: 10, maxAttempts: 1 },
    })
    const first = await within(5000, next<EventSourceErrorEvent>(source, "error"))
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    expect(source.readyState).toBe(EventSource.CONNECTING)
    expect(first.error?.code).toBe("timeout")
    expect(first.error?.message).toContain("connectTimeout (150 ms)")
    const { error } = await within(5000, closed(source))
    expect(error?.code).toBe("retries-exhausted")
    expect((error?.cause as EventSourceError | undefined)?.code).toBe("timeout")
    expect(server.requests).toHaveLength(2)
    await expect.poll(() => server.aborted).toBe(2)
  })

  it("connectTimeout on a POST that may not be repeated closes the source and says why", async () => {
    silentServer()
    const source = new EventSource(server.url, { method: "POST", body: "{}", connectTimeout: 150 })
    const { error } = await within(5000, closed(source))
    expect(error?.code).toBe("timeout")
    expect(error?.message).toContain("POST is not idempotent")
    expect(server.requests).toHaveLength(1)
    await expect.poll(() => server.aborted).toBe(1)
  })

  it("idleTimeout reconnects a silent open stream with Last-Event-ID", async () => {
    let firstDropped = false
    server.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/event-stream" })
      if (server.requests.length > 1) return void res.write(": resumed\n\n")
      // The first response goes silent without closing, as a half-open connection would.
      res.write("id: 7\ndata: x\n\n")
      res.on("close", () => {
        firstDropped = true
      })
    })
    const source = new EventSource(server.url, { idleTimeout: 200, reconnect: { delay: 10 } })
    await within(5000, next(source, "message"))
    const heard = Date.now()
    const { error } = await within(5000, next<EventSourceErrorEvent>(source, "error"))
    expect(Date.now() - heard).toBeGreaterThanOrEqual(190)
    expect(error?.code).toBe("timeout")
    expect(error?.message).toContain("idleTimeout (200 ms)")
    await within(5000, next(source, "open"))
    // The client let the silent response go rather than leave it open.
    await expect.poll(() => firstDropped).toBe(true)
    source.close()
    expect(server.requests.map((r) => r.headers["last-event-id"])).toEqual([undefined, "7"])
  })

  /**
   * A source on a stream the test writes, under a faked clock (timers and performance.now), so
   * that idleness is exactly what the test says. `connections` counts the attempts.
   */
  function sourceOnWrittenStream(init: HeraldEventSourceInit) {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] })
    const streams: ReadableStreamDefaultController<Uint8Array>[] = []
    // Like a real fetch, aborting the request errors its body.
    const fetch = async (_input: string, { signal }: RequestInit) => {
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => {
          streams.push(controller)
          signal?.addEventListener("abort", () => controller.error(signal.reason))
        },
      })
      return new Response(body, { headers: { "Content-Type": "text/event-stream" } })
    }
    const source = new EventSource("http://herald.test/stream", { ...init, fetch })
    const errors: EventSourceErrorEvent[] = []
    source.onerror = (event) => errors.push(event)
    const write = (text: string) => streams.at(-1)?.enqueue(new TextEncoder().encode(text))
    return { source, errors, write, connections: () => streams.length }
  }

  it("heartbeat comments keep an idle stream open; when they stop, the client reconnects", async () => {
    const { source, errors, write, connections } = sourceOnWrittenStream({ idleTimeout: 250 })
    try {
      await next(source, "open")
      // 800 ms of heartbeats every 40 ms: more than three idle windows, none of them silent.
      for (let elapsed = 0; elapsed < 800; elapsed += 40) {
        write(":\n")
        await vi.advanceTimersByTimeAsync(40)
      }
      expect([errors.length, source.readyState, connections()]).toEqual([0, EventSource.OPEN, 1])
      await vi.advanceTimersByTimeAsync(250)
      expect(errors.map((event) => event.error?.code)).toEqual(["timeout"])
      expect(source.readyState).toBe(EventSource.CONNECTING)
      await vi.advanceTimersByTimeAsync(3000) // the default reconnection time
      expect(connections()).toBe(2)
    } finally {
      source.close()
      vi.useRealTimers()
    }
  })

  it("a slow async iterator is not idleness: reading paused for it does not count", async () => {
    const { source, errors, write, connections } = sourceOnWrittenStream({
      idleTimeout: 300,
      maxQueuedEvents: 1,
    })
    try {
      await next(source, "open")
      write("data: 1\n\ndata: 2\n\ndata: 3\n\n")
      const iterator = source[Symbol.asyncIterator]()
      await iterator.next()
      await vi.advanceTimersByTimeAsync(700) // reading stays paused: events 2 and 3 wait in the queue
      const rest = [await iterator.next(), await iterator.next()].map((result) => result.value?.data)
      // Reading resumes with a fresh window: a source that counted the pause would drop at once here.
      await vi.advanceTimersByTimeAsync(50)
      expect([rest, errors.length, source.readyState, connections()]).toEqual([
        ["2", "3"],
        0,
        EventSource.OPEN,
        1,
      ])
      await iterator.return?.()
    } finally {
      source.close()
      vi.useRealTimers()
    }
  })

  it("close() clears the timers, which never hold the process open, and nothing follows it", async () => {
    const created: NodeJS.Timeout[] = []
    const cleared = new Set<unknown>()
    const realSetTimeout = globalThis.setTimeout
    const realClearTimeout = globalThis.clearTimeout
    // Odd delays single out the client's timers among those of undici and vitest.
    const setSpy = vi.spyOn(globalThis, "setTimeout").mockImplementation(((
      callback: () => void,
      ms?: number,
    ) => {
      const timer = realSetTimeout(callback, ms)
      if (ms === 123 || ms === 137) created.push(timer)
      return timer
    }) as typeof setTimeout)
    const clearSpy = vi.spyOn(globalThis, "clearTimeout").mockImplementation((timer) => {
      cleared.add(timer)
      realClearTimeout(timer)
    })
    try {
      silentServer()
      const connecting = new EventSource(server.url, { connectTimeout: 123 })
      await expect.poll(() => server.requests.length).toBe(1)
      connecting.close()

      server.handle((_req, res) => {
        res.writeHead(200, { "Content-Type": "text/event-stream" })
        res.write("data: x\n\n")
      })
      const open = new EventSource(server.url, { idleTimeout: 137 })
      await within(5000, next(open, "message"))
      open.close()

      expect(created).toHaveLength(2)
      expect(created.map((timer) => timer.hasRef())).toEqual([false, false])
      await expect.poll(() => created.every((timer) => cleared.has(timer))).toBe(true)
      const errors: Event[] = []
      for (const source of [connecting, open]) source.onerror = (event) => errors.push(event)
      await sleep(400)
      expect([errors.length, server.requests.length]).toEqual([0, 1])
    } finally {
      setSpy.mockRestore()
      clearSpy.mockRestore()
    }
  })

  it.each([
    ["connectTimeout", -1],
    ["connectTimeout", Number.NaN],
    ["idleTimeout", 0],
    ["idleTimeout", Number.POSITIVE_INFINITY],
    ["idleTimeout", 2 ** 31],
    ["connectTimeout", "100"],
  ])("rejects %s: %s with a TypeError", (name, value) => {
    expect(() => new EventSource(server.url, { [name]: value })).toThrow(
      new RegExp(`^EventSource: ${name} must be a number of milliseconds`),
    )
    expect(() => new EventSource(server.url, { [name]: value })).toThrow(TypeError)
  })
})
