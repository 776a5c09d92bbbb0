// The client's small pure parts: reconnection delays, Retry-After, the MIME check, the iteration
// queue, the reason quoted from a refusal.
import { describe, expect, it } from "vitest"
import { isEventStreamContentType } from "../../src/client/content-type.js"
import { createEventQueue } from "../../src/client/event-queue.js"
import { EventSource } from "../../src/client/index.js"
import { createReconnectPolicy } from "../../src/client/reconnect-policy.js"
import { serverReason } from "../../src/client/refusal.js"
import { parseRetryAfter } from "../../src/client/retry-after.js"
import { MAX_TIMER_DELAY } from "../../src/client/timeouts.js"

describe("reconnect policy", () => {
  it("by default waits the reconnection time every time, forever (the standard)", () => {
    const policy = createReconnectPolicy()
    expect([policy.nextDelay(), policy.nextDelay(), policy.nextDelay()]).toEqual([3000, 3000, 3000])
    policy.setReconnectionTime(50)
    expect(policy.nextDelay()).toBe(50)
  })

  it("backs off up to maxDelay, never below the reconnection time, and resets on open", () => {
    const policy = createReconnectPolicy({ delay: 100, backoff: 2, maxDelay: 500 })
    expect([1, 2, 3, 4, 5].map(() => policy.nextDelay())).toEqual([100, 200, 400, 500, 500])
    policy.opened()
    expect(policy.nextDelay()).toBe(100)
    policy.setReconnectionTime(1000)
    expect(policy.nextDelay()).toBe(1000)
  })

  it("backs off from a server's retry: 0 too, instead of reconnecting in a hot loop", () => {
    const policy = createReconnectPolicy({ backoff: 2, maxDelay: 500 })
    policy.setReconnectionTime(0)
    expect(Array.from({ length: 11 }, () => policy.nextDelay())).toEqual([
      1, 2, 4, 8, 16, 32, 64, 128, 256, 500, 500,
    ])
    // Without a backoff, the standard's wait: the reconnection time, 0.
    const standard = createReconnectPolicy()
    standard.setReconnectionTime(0)
    expect([standard.nextDelay(), standard.nextDelay()]).toEqual([0, 0])
  })

  it("adds at most `jitter` of the wait, never less than the wait", () => {
    expect(createReconnectPolicy({ delay: 100, jitter: 0.5 }, () => 0.999).nextDelay()).toBeCloseTo(149.95)
    expect(createReconnectPolicy({ delay: 100, jitter: 0.5 }, () => 0).nextDelay()).toBe(100)
  })

  it("never waits longer than a timer can, whatever the server's retry or the options say", () => {
    // A longer setTimeout overflows and fires at once: the source would reconnect in a hot loop.
    const policy = createReconnectPolicy({ jitter: 1, maxRetryAfter: Number.POSITIVE_INFINITY }, () => 0.999)
    policy.setReconnectionTime(Number.POSITIVE_INFINITY)
    expect(policy.nextDelay()).toBe(MAX_TIMER_DELAY)
    expect(policy.nextDelay(Number.POSITIVE_INFINITY)).toBe(MAX_TIMER_DELAY)
    policy.setReconnectionTime(MAX_TIMER_DELAY - 1)
    expect(policy.nextDelay()).toBe(MAX_TIMER_DELAY)
    expect(createReconnectPolicy({ delay: Number.POSITIVE_INFINITY }).nextDelay()).toBe(MAX_TIMER_DELAY)
  })

  it("honours Retry-After up to maxRetryAfter, and stops after maxAttempts", () => {
    const policy = createReconnectPolicy({ delay: 100, maxAttempts: 2, maxRetryAfter: 5000 })
    expect(policy.nextDelay(2000)).toBe(2000)
    expect(policy.nextDelay(60_000)).toBe(5000)
    expect(policy.nextDelay()).toBeUndefined()
    expect(policy.attempts).toBe(2)
  })
})

describe("parseRetryAfter", () => {
  it("reads delay-seconds and HTTP-dates, and ignores the rest", () => {
    const now = Date.parse("Sat, 21 Nov 2026 08:00:00 GMT")
    expect(parseRetryAfter("120", now)).toBe(120_000)
    expect(parseRetryAfter("Sat, 21 Nov 2026 08:00:30 GMT", now)).toBe(30_000)
    expect(parseRetryAfter("Sat, 21 Nov 2026 07:00:00 GMT", now)).toBe(0)
    expect(parseRetryAfter("-5", now)).toBeUndefined()
    expect(parseRetryAfter("soon", now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })
})

describe("serverReason", () => {
  const json = (value: unknown) => JSON.stringify(value)
  it("takes the most specific message of the common JSON error shapes", () => {
    const problem = "application/problem+json"
    expect(serverReason(json({ title: "Bad Request", detail: "Too many matchers." }), problem)).toBe(
      "Too many matchers.",
    )
    expect(serverReason(json({ title: "Forbidden" }), problem)).toBe("Forbidden")
    const openai = json({ error: { message: "Incorrect API key provided.", code: "invalid_api_key" } })
    expect(serverReason(openai, "application/json; charset=utf-8")).toBe("Incorrect API key provided.")
    const oauth = json({ error: "invalid_token", error_description: "The token expired" })
    expect(serverReason(oauth, "application/json")).toBe("The token expired")
    expect(serverReason(json({ error: "quota exceeded" }), "application/json")).toBe("quota exceeded")
    expect(serverReason(json({ message: "Not here" }), null)).toBe("Not here")
  })

  it("takes the first line of short plain text, cut at 300 characters", () => {
    expect(serverReason("  no such stream\nmore\n", "text/plain; charset=utf-8")).toBe("no such stream")
    const long = serverReason("y".repeat(1000), "text/plain")
    expect(long).toHaveLength(300)
    expect(long?.endsWith("…")).toBe(true)
  })

  it("gives nothing for HTML, invalid or shapeless JSON, and empty bodies", () => {
    expect(serverReason("<h1>502</h1>", "text/html")).toBeUndefined()
    expect(serverReason("{not json", "application/json")).toBeUndefined()
    expect(serverReason(json({ status: 500, error: { code: 7 } }), "application/json")).toBeUndefined()
    expect(serverReason(json(["list"]), "application/json")).toBeUndefined()
    expect(serverReason("   ", "text/plain")).toBeUndefined()
    expect(serverReason(json({ detail: "   " }), "application/json")).toBeUndefined()
  })
})

describe("isEventStreamContentType", () => {
  it("compares the MIME type essence, case-insensitively, ignoring parameters", () => {
    for (const value of [
      "text/event-stream",
      "TEXT/Event-Stream",
      "text/event-stream;",
      " text/event-stream ; charset=x",
    ]) {
      expect(isEventStreamContentType(value)).toBe(true)
    }
    for (const value of [
      null,
      "",
      "text/plain",
      "text/event-streams",
      "text/event-stream-x",
      "text/html;text/event-stream",
    ]) {
      expect(isEventStreamContentType(value)).toBe(false)
    }
  })
})

describe("event queue", () => {
  it("hands values over in order, then ends; an error is thrown after the buffered values", async () => {
    const queue = createEventQueue<number>(10)
    queue.push(1)
    const pending = queue.next()
    queue.push(2)
    queue.finish(new Error("boom"))
    queue.push(3)
    expect(await pending).toEqual({ done: false, value: 1 })
    expect(await queue.next()).toEqual({ done: false, value: 2 })
    await expect(queue.next()).rejects.toThrow("boom")
    expect(await queue.next()).toEqual({ done: true, value: undefined })
  })

  it("answers next() calls made ahead of the values in the order they were made, and ends them all", async () => {
    const queue = createEventQueue<number>(10)
    const asked = [queue.next(), queue.next(), queue.next(), queue.next()]
    queue.push(1)
    queue.push(2)
    queue.finish(new Error("boom"))
    const settled = await Promise.allSettled(asked)
    expect(settled.slice(0, 2)).toEqual([
      { status: "fulfilled", value: { done: false, value: 1 } },
      { status: "fulfilled", value: { done: false, value: 2 } },
    ])
    expect(settled[2]).toMatchObject({ status: "rejected", reason: { message: "boom" } })
    expect(settled[3]).toEqual({ status: "fulfilled", value: { done: true, value: undefined } })
  })

  it("buffers at least one value, whatever the limit", async () => {
    const queue = createEventQueue<number>(0)
    await queue.room()
    queue.push(1)
    const room = queue.room()
    expect(await queue.next()).toEqual({ done: false, value: 1 })
    await room
  })

  it("room() waits while the buffer is full", async () => {
    const queue = createEventQueue<number>(2)
    queue.push(1)
    queue.push(2)
    let roomy = false
    const room = queue.room().then(() => {
      roomy = true
    })
    await Promise.resolve()
    expect(roomy).toBe(false)
    await queue.next()
    await room
    expect(roomy).toBe(true)
  })
})

describe("EventSource types", () => {
  it("types listeners by event name (a compile-time check that also runs)", () => {
    const source = new EventSource("http://127.0.0.1:9/", { signal: AbortSignal.abort() })
    const seen: Array<string | undefined> = []
    source.addEventListener("error", (event) => seen.push(event.error?.code))
    source.addEventListener("message", (event) => seen.push(event.data))
    source.addEventListener("token", (event) => seen.push(event.lastEventId))
    source.dispatchEvent(new MessageEvent("message", { data: "typed" }))
    expect(seen).toEqual(["typed"])
    expect(Object.hasOwn(EventSource.prototype, "addEventListener")).toBe(false)
  })

  it("refuses a body on a GET at once, instead of failing every attempt", () => {
    expect(() => new EventSource("http://127.0.0.1:9/", { body: "{}" })).toThrow(
      /GET request cannot have a body/,
    )
  })

  it("accepts a null init dictionary, as WebIDL does", () => {
    expect(new EventSource("http://127.0.0.1:9/", null).withCredentials).toBe(false)
  })
})
