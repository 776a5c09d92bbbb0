import { request as httpRequest } from "node:http"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { openStream, waitUntil } from "../server/helpers.js"
import { publish, startHub, subscribeUrl, type TestHub, token } from "./hub-helpers.js"

let hub: TestHub
let publisher: string
let subscriber: string

beforeEach(async () => {
  hub = await startHub({ allowAnonymousSubscribe: true })
  publisher = await token(hub.hubUrl, { publish: ["*"] })
  subscriber = await token(hub.hubUrl, { subscribe: ["*"] })
})
afterEach(() => hub.close())

const auth = (bearer: string) => ({ authorization: `Bearer ${bearer}` })

describe("publish and subscribe (draft-08)", () => {
  it("answers a publish with the id as text/plain and delivers the update with its fields", async () => {
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/books/1"]]))
    expect(stream.status).toBe(200)
    expect(stream.headers["content-type"]).toMatch(/^text\/event-stream/)
    const response = await publish(
      hub.hubUrl,
      [
        ["topic", "https://example.com/books/1"],
        ["data", "line one\nline two\r\nline three"],
        ["type", "book-updated"],
        ["retry", "2500"],
      ],
      publisher,
    )
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8")
    const id = await response.text()
    expect(id).toMatch(/^urn:uuid:[0-9a-f-]{36}$/)
    const [event] = await stream.waitForEvents(1)
    expect(event).toEqual({ type: "book-updated", data: "line one\nline two\nline three", lastEventId: id })
    expect(stream.retries).toContain(2500)
    stream.close()
  })

  it("keeps a publisher-supplied id", async () => {
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    const response = await publish(hub.hubUrl, { topic: "t", data: "x", id: "urn:my:1" }, publisher)
    expect(await response.text()).toBe("urn:my:1")
    expect((await stream.waitForEvents(1))[0]?.lastEventId).toBe("urn:my:1")
    stream.close()
  })

  it("routes by exact, URL pattern and wildcard matchers, canonical or alternate topic, once per connection", async () => {
    const exact = await openStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/books/1"]]))
    const pattern = await openStream(
      subscribeUrl(hub.hubUrl, [["match_urlpattern", "https://example.com/books/:id"]]),
    )
    const relative = await openStream(subscribeUrl(hub.hubUrl, [["match_urlpattern", "/books/:id"]]))
    const all = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]))
    const both = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "https://example.com/books/1"],
        ["match_urlpattern", "https://example.com/books/:id"],
      ]),
    )
    const other = await openStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/books/2"]]))
    await publish(
      hub.hubUrl,
      [
        ["topic", "https://example.com/books/1"],
        ["data", "one"],
      ],
      publisher,
    )
    await publish(
      hub.hubUrl,
      [
        ["topic", "https://example.com/authors/9"],
        ["topic", "https://example.com/books/2"],
        ["data", "alt"],
      ],
      publisher,
    )
    await publish(
      hub.hubUrl,
      [
        ["topic", "/books/3"],
        ["data", "relative"],
      ],
      publisher,
    )
    await publish(
      hub.hubUrl,
      [
        ["topic", "https://example.com/BOOKS/1"],
        ["data", "case"],
      ],
      publisher,
    )

    expect((await all.waitForEvents(4)).map((e) => e.data)).toEqual(["one", "alt", "relative", "case"])
    await waitUntil(
      () => pattern.events.length >= 2 && relative.events.length >= 1 && other.events.length >= 1,
      () => 0,
    )
    // Give stray deliveries a chance to show up before asserting their absence.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(exact.events.map((e) => e.data)).toEqual(["one"])
    expect(pattern.events.map((e) => e.data)).toEqual(["one", "alt"])
    expect(relative.events.map((e) => e.data)).toEqual(["relative"])
    expect(both.events.map((e) => e.data)).toEqual(["one", "alt"])
    expect(other.events.map((e) => e.data)).toEqual(["alt"])
    for (const stream of [exact, pattern, relative, all, both, other]) stream.close()
  })

  it("sends private updates only to tokens granting subscribe on one of their topics", async () => {
    const url = subscribeUrl(hub.hubUrl, [["match_urlpattern", "https://example.com/books/:id"]])
    const anonymous = await openStream(url)
    const narrow = await openStream(
      url,
      auth(
        await token(hub.hubUrl, {
          subscribe: [{ match: "https://example.com/users/42/*", match_type: "urlpattern" }],
        }),
      ),
    )
    const everything = await openStream(url, auth(subscriber))
    const unrelated = await openStream(
      url,
      auth(await token(hub.hubUrl, { subscribe: ["https://example.com/books/2"] })),
    )
    await publish(
      hub.hubUrl,
      [
        ["topic", "https://example.com/books/1"],
        ["topic", "https://example.com/users/42/books/1"],
        ["private", ""],
        ["data", "secret"],
      ],
      publisher,
    )
    await publish(
      hub.hubUrl,
      [
        ["topic", "https://example.com/books/1"],
        ["data", "public"],
      ],
      publisher,
    )
    expect((await everything.waitForEvents(2)).map((e) => e.data)).toEqual(["secret", "public"])
    expect((await narrow.waitForEvents(2)).map((e) => e.data)).toEqual(["secret", "public"])
    await anonymous.waitForEvents(1)
    await unrelated.waitForEvents(1)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(anonymous.events.map((e) => e.data)).toEqual(["public"])
    expect(unrelated.events.map((e) => e.data)).toEqual(["public"])
    for (const stream of [anonymous, narrow, everything, unrelated]) stream.close()
  })

  it("resumes after Last-Event-ID, last_event_id or lastEventID, header first, and sets Mercure-Last-Event-ID", async () => {
    const ids: string[] = []
    for (const data of ["a", "b", "c"]) {
      ids.push(await (await publish(hub.hubUrl, { topic: "t", data }, publisher)).text())
    }
    const byHeader = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "t"],
        ["last_event_id", ids[1] as string],
      ]),
      {
        "last-event-id": ids[0] as string,
      },
    )
    expect(byHeader.headers["mercure-last-event-id"]).toBe(ids[0])
    expect(byHeader.headers["last-event-id"]).toBe(ids[0])
    expect((await byHeader.waitForEvents(2)).map((e) => e.data)).toEqual(["b", "c"])

    const byQuery = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "t"],
        ["last_event_id", ids[1] as string],
      ]),
    )
    expect((await byQuery.waitForEvents(1)).map((e) => e.data)).toEqual(["c"])
    const legacy = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "t"],
        ["lastEventID", ids[0] as string],
      ]),
    )
    expect((await legacy.waitForEvents(2)).map((e) => e.data)).toEqual(["b", "c"])

    const earliest = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "t"],
        ["last_event_id", "earliest"],
      ]),
    )
    expect(earliest.headers["mercure-last-event-id"]).toBe("earliest")
    expect((await earliest.waitForEvents(3)).map((e) => e.data)).toEqual(["a", "b", "c"])

    // Live updates follow the replay, in order, once.
    await publish(hub.hubUrl, { topic: "t", data: "d" }, publisher)
    expect((await byHeader.waitForEvents(3)).map((e) => e.data)).toEqual(["b", "c", "d"])
    expect((await earliest.waitForEvents(4)).map((e) => e.data)).toEqual(["a", "b", "c", "d"])
    for (const stream of [byHeader, byQuery, legacy, earliest]) stream.close()
  })

  it("says so when it no longer holds the cursor: Mercure-Last-Event-ID earliest and a herald-id-too-old event", async () => {
    await publish(hub.hubUrl, { topic: "t", data: "a" }, publisher)
    const stream = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "t"],
        ["last_event_id", "urn:uuid:unknown"],
      ]),
    )
    expect(stream.headers["mercure-last-event-id"]).toBe("earliest")
    const [signal] = await stream.waitForEvents(1)
    expect(signal?.type).toBe("herald-id-too-old")
    expect(JSON.parse(signal?.data ?? "")).toEqual({ lastEventId: "urn:uuid:unknown" })
    await publish(hub.hubUrl, { topic: "t", data: "live" }, publisher)
    expect((await stream.waitForEvents(2))[1]?.data).toBe("live")
    stream.close()
  })

  it("re-checks authorization on replayed private updates", async () => {
    const first = await (await publish(hub.hubUrl, { topic: "t", data: "public" }, publisher)).text()
    await publish(
      hub.hubUrl,
      [
        ["topic", "t"],
        ["private", "on"],
        ["data", "private"],
      ],
      publisher,
    )
    await publish(hub.hubUrl, { topic: "t", data: "public again" }, publisher)
    const anonymous = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "t"],
        ["last_event_id", first],
      ]),
    )
    const allowed = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "t"],
        ["last_event_id", first],
      ]),
      auth(subscriber),
    )
    expect((await allowed.waitForEvents(2)).map((e) => e.data)).toEqual(["private", "public again"])
    expect((await anonymous.waitForEvents(1)).map((e) => e.data)).toEqual(["public again"])
    anonymous.close()
    allowed.close()
  })
})

describe("subscribe requests", () => {
  it.each([
    ["an unknown matcher type", [["match_regex", "x"]]],
    ["a matcher name in another case", [["Match", "x"]]],
    ["a name in the reserved match prefix", [["matches", "x"]]],
    ["no matcher at all", [["foo", "bar"]]],
    ["a control character in a matcher", [["match", "a\u0007b"]]],
    ["a format character in a matcher", [["match", "a\u200Bb"]]],
    ["a malformed URL pattern", [["match_urlpattern", "https://example.com/(unclosed"]]],
  ])("refuses %s with 400", async (_name, params) => {
    const response = await fetch(subscribeUrl(hub.hubUrl, params as Array<[string, string]>))
    expect(response.status).toBe(400)
    expect(response.headers.get("content-type")).toBe("application/problem+json")
    expect((await response.json()).detail).toMatch(/./)
  })

  it("refuses more matchers than the limit", async () => {
    await hub.close()
    hub = await startHub({ allowAnonymousSubscribe: true, limits: { maxMatchersPerSubscription: 2 } })
    const response = await fetch(
      subscribeUrl(hub.hubUrl, [
        ["match", "a"],
        ["match", "b"],
        ["match", "c"],
      ]),
    )
    expect(response.status).toBe(400)
    expect((await response.json()).detail).toMatch(/at most 2/)
  })

  it("refuses a query that is not valid UTF-8", async () => {
    const response = await fetch(`${hub.hubUrl}?match=%FF%FE`)
    expect(response.status).toBe(400)
  })
})

describe("QUERY subscriptions (matchers in the body, for lists too long for a URL)", () => {
  const FORM = { "content-type": "application/x-www-form-urlencoded" }
  const query = (url: string, body: string, headers: Record<string, string> = FORM) =>
    openStream(url, headers, { method: "QUERY", body })

  it("subscribes with the body's matchers, united with the query's", async () => {
    const bodyOnly = await query(
      hub.hubUrl,
      "match=a&match_urlpattern=https%3A%2F%2Fexample.com%2Fbooks%2F%3Aid",
    )
    const union = await query(subscribeUrl(hub.hubUrl, [["match", "b"]]), "match=a")
    expect(bodyOnly.status).toBe(200)
    expect(bodyOnly.headers["content-type"]).toMatch(/^text\/event-stream/)
    for (const topic of ["a", "b", "https://example.com/books/1", "c"]) {
      await publish(hub.hubUrl, { topic, data: topic }, publisher)
    }
    expect((await bodyOnly.waitForEvents(2)).map((e) => e.data)).toEqual(["a", "https://example.com/books/1"])
    expect((await union.waitForEvents(2)).map((e) => e.data)).toEqual(["a", "b"])
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(bodyOnly.events).toHaveLength(2)
    expect(union.events).toHaveLength(2)
    bodyOnly.close()
    union.close()
  })

  it("resumes from last_event_id in the body; the query's wins over the body's, the header over both", async () => {
    const ids: string[] = []
    for (const data of ["a", "b", "c"]) {
      ids.push(await (await publish(hub.hubUrl, { topic: "t", data }, publisher)).text())
    }
    const [first, second] = ids as [string, string]
    const fromBody = await query(hub.hubUrl, `match=t&last_event_id=${encodeURIComponent(first)}`)
    expect((await fromBody.waitForEvents(2)).map((e) => e.data)).toEqual(["b", "c"])
    const queryWins = await query(
      subscribeUrl(hub.hubUrl, [["last_event_id", second]]),
      `match=t&last_event_id=${encodeURIComponent(first)}`,
    )
    expect(queryWins.headers["mercure-last-event-id"]).toBe(second)
    expect((await queryWins.waitForEvents(1)).map((e) => e.data)).toEqual(["c"])
    const headerWins = await query(
      subscribeUrl(hub.hubUrl, [["last_event_id", second]]),
      `match=t&last_event_id=${encodeURIComponent(second)}`,
      { ...FORM, "last-event-id": first },
    )
    expect((await headerWins.waitForEvents(2)).map((e) => e.data)).toEqual(["b", "c"])
    for (const stream of [fromBody, queryWins, headerWins]) stream.close()
  })

  it("takes a QUERY with its matchers in the URL only, no body and no Content-Type", async () => {
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "q"]]), {}, { method: "QUERY" })
    expect(stream.status).toBe(200)
    await publish(hub.hubUrl, { topic: "q", data: "found" }, publisher)
    expect((await stream.waitForEvents(1)).map((e) => e.data)).toEqual(["found"])
    stream.close()
  })

  it("refuses a body that is not a form (415), too large (413), not UTF-8 or without matchers (400)", async () => {
    const send = (body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = FORM) =>
      fetch(hub.hubUrl, { method: "QUERY", headers, body })
    const notForm = await send('{"match":"a"}', { "content-type": "application/json" })
    expect(notForm.status).toBe(415)
    expect((await notForm.json()).detail).toMatch(/application\/x-www-form-urlencoded/)
    expect((await send(new Uint8Array([0x6d, 0x61, 0x74, 0x63, 0x68, 0x3d, 0xff]))).status).toBe(400)
    const none = await send("foo=bar")
    expect(none.status).toBe(400)
    expect((await none.json()).detail).toMatch(/QUERY request/)
    await hub.close()
    hub = await startHub({ allowAnonymousSubscribe: true, limits: { maxBodyBytes: 64 } })
    expect((await send(`match=${"x".repeat(100)}`)).status).toBe(413)
  })

  it("authenticates before it reads the body or compiles a matcher", async () => {
    await hub.close()
    hub = await startHub()
    // A bad token with a matcher that does not compile: the token is what the answer is about.
    const badToken = await fetch(hub.hubUrl, {
      method: "QUERY",
      headers: { ...FORM, ...auth("not.a.jwt") },
      body: `match_urlpattern=${encodeURIComponent("https://example.com/(")}`,
    })
    expect(badToken.status).toBe(401)
    expect(badToken.headers.get("www-authenticate")).toMatch(/error="invalid_token"/)
    // No token, and a body announced but never sent: the 401 comes without waiting for it.
    const { status, challenge } = await new Promise<{ status?: number; challenge?: string }>(
      (resolve, reject) => {
        const request = httpRequest(hub.hubUrl, {
          method: "QUERY",
          headers: { ...FORM, "content-length": "1000" },
        })
        request.on("response", (response) => {
          response.resume()
          resolve({ status: response.statusCode, challenge: response.headers["www-authenticate"] })
          request.destroy()
        })
        request.on("error", reject)
        request.flushHeaders()
      },
    )
    expect(status).toBe(401)
    expect(challenge).toMatch(/^Bearer resource_metadata=/)
  }, 10_000)

  it("lists QUERY among the methods the hub path allows", async () => {
    const response = await fetch(hub.hubUrl, { method: "PUT" })
    expect(response.status).toBe(405)
    expect(response.headers.get("allow")).toBe("GET, QUERY, POST, OPTIONS")
  })
})

describe("QUERY subscriptions with herald/client", () => {
  it("reconnect with the same body and resume after the last event (QUERY is safe to repeat)", async () => {
    const { EventSource } = await import("../../src/client/index.js")
    await hub.close()
    // A long retry hint: the update published while the client is away can only come by resume.
    hub = await startHub({ allowAnonymousSubscribe: true, retryMs: 500 })
    publisher = await token(hub.hubUrl, { publish: ["*"] })
    const source = new EventSource(hub.hubUrl, {
      method: "QUERY",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "match=t",
    })
    const received: string[] = []
    source.addEventListener("message", (event) => received.push(event.data))
    try {
      await waitUntil(
        () => source.readyState === EventSource.OPEN,
        () => undefined,
      )
      await publish(hub.hubUrl, { topic: "t", data: "before" }, publisher)
      await waitUntil(
        () => received.length === 1,
        () => undefined,
      )
      hub.server.closeAllConnections()
      await waitUntil(
        () => source.readyState === EventSource.CONNECTING,
        () => undefined,
      )
      await publish(hub.hubUrl, { topic: "t", data: "while away" }, publisher)
      await waitUntil(
        () => received.length === 2,
        () => undefined,
      )
      expect(received).toEqual(["before", "while away"])
    } finally {
      source.close()
    }
  })
})
