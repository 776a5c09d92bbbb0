import { afterEach, describe, expect, it } from "vitest"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { openUpdateLog } from "../../src/hub/update-log.js"
import { openStream, waitUntil } from "../server/helpers.js"
import { publish, startHub, subscribeUrl, type TestHub, token } from "./hub-helpers.js"

let hub: TestHub | undefined
afterEach(async () => {
  await hub?.close()
  hub = undefined
})

describe("engine failures", () => {
  it("ends a stream whose replay cannot be read, and keeps serving", async () => {
    const engine = createMemoryEngine()
    await openUpdateLog(engine).append(
      Array.from({ length: 300 }, (_, i) => ({ topics: ["t"], data: String(i), private: false })),
    )
    // The first page is read; the second read fails.
    const read = engine.read.bind(engine)
    let reads = 0
    let firstPage = 0
    engine.read = async (log, after, limit) => {
      if (++reads > 1) throw new Error("disk gone")
      const result = await read(log, after, limit)
      firstPage = result.held ? result.entries.length : 0
      return result
    }
    hub = await startHub({ engine, allowAnonymousSubscribe: true })
    const stream = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "t"],
        ["last_event_id", "earliest"],
      ]),
    )
    await stream.ended
    expect(firstPage).toBeGreaterThan(0)
    expect(stream.events).toHaveLength(firstPage)
    expect((await fetch(`${hub.origin}/healthz`)).status).toBe(200)
  })
})

describe("CORS", () => {
  it("echoes an allowed origin with credentials, never *, and answers the preflight for Last-Event-ID and Authorization", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true, corsOrigins: ["https://app.example"] })
    const preflight = await fetch(hub.hubUrl, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "last-event-id, authorization",
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example")
    expect(preflight.headers.get("access-control-allow-credentials")).toBe("true")
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/Last-Event-ID/)
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/Authorization/)

    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]), {
      origin: "https://app.example",
    })
    expect(stream.headers["access-control-allow-origin"]).toBe("https://app.example")
    expect(stream.headers["access-control-expose-headers"]).toMatch(/Mercure-Last-Event-ID/)
    stream.close()

    const evil = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]), {
      origin: "https://evil.example",
    })
    expect(evil.headers["access-control-allow-origin"]).toBeUndefined()
    evil.close()
    const evilPreflight = await fetch(hub.hubUrl, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example" },
    })
    expect(evilPreflight.status).toBe(403)
    expect(await evilPreflight.text()).toMatch(/--cors-origins/)
  })
})

describe("operations", () => {
  it("serves /healthz, /readyz, /metrics and the protected resource metadata; 404 elsewhere", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true })
    expect((await fetch(`${hub.origin}/healthz`)).status).toBe(200)
    expect((await fetch(`${hub.origin}/readyz`)).status).toBe(200)
    const publisher = await token(hub.hubUrl, { publish: ["*"] })
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    await publish(hub.hubUrl, { topic: "t", data: "x" }, publisher)
    await stream.waitForEvents(1)
    const metrics = await (await fetch(`${hub.origin}/metrics`)).text()
    expect(metrics).toMatch(/^herald_connections 1$/m)
    expect(metrics).toMatch(/^herald_subscriptions 1$/m)
    expect(metrics).toMatch(/^herald_updates_published_total 1$/m)
    expect(metrics).toMatch(/^herald_updates_delivered_total 1$/m)
    expect(metrics).toMatch(/^herald_publish_duration_seconds_count 1$/m)
    // The process's own series under the one prefix, as dashboards name them after it.
    expect(metrics).toMatch(/^herald_process_cpu_seconds_total \d/m)
    expect(metrics).toMatch(/^herald_nodejs_heap_size_used_bytes \d/m)
    expect(metrics).not.toMatch(/^herald_process_(process|nodejs)_/m)
    stream.close()

    const metadata = await (
      await fetch(`${hub.origin}/.well-known/oauth-protected-resource/.well-known/mercure`)
    ).json()
    expect(metadata).toMatchObject({
      resource: hub.hubUrl,
      authorization_details_types_supported: ["https://mercure.rocks/authorization-detail"],
      bearer_methods_supported: ["header"],
    })
    expect((await fetch(`${hub.origin}/nope`)).status).toBe(404)
    expect((await fetch(hub.hubUrl, { method: "PUT" })).status).toBe(405)
  })

  it("limits connections per client address with 429", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true, limits: { maxConnectionsPerAddress: 2 } })
    const url = subscribeUrl(hub.hubUrl, [["match", "t"]])
    const first = await openStream(url)
    const second = await openStream(url)
    const third = await fetch(url)
    expect(third.status).toBe(429)
    expect(third.headers.get("retry-after")).toBe("5")
    first.close()
    await waitUntil(
      () => hub?.hub.connections === 1,
      () => 0,
    )
    const again = await openStream(url)
    expect(again.status).toBe(200)
    second.close()
    again.close()
  })

  it("bounds the URL patterns and URI templates of a client address across its connections with 429; exact matchers do not count", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true, limits: { maxPatternMatchersPerAddress: 3 } })
    const open = hub.hub
    const patterns = (prefix: string, count: number): [string, string][] =>
      Array.from({ length: count }, (_, i) => ["match_urlpattern", `http{s}?://:host/${prefix}${i}/*`])
    const first = await openStream(subscribeUrl(hub.hubUrl, [...patterns("a", 2), ["match", "t"]]))
    expect(first.status).toBe(200)
    // A URL pattern and a legacy URI template would make 4: refused, holding nothing.
    const over = await fetch(
      subscribeUrl(hub.hubUrl, [...patterns("b", 1), ["topic", "https://example.com/{id}"]]),
    )
    expect(over.status).toBe(429)
    expect(over.headers.get("retry-after")).toBe("5")
    expect((await over.json()).detail).toMatch(
      /at most 3 per client address .*--max-pattern-matchers-per-address.* exact match= topics/,
    )
    expect(open.connections).toBe(1)
    // Exact matchers and the wildcard cost a comparison: not counted.
    const exact = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "u"],
        ["match_urlpattern", "*"],
        ["topic", "https://example.com/v"],
      ]),
    )
    expect(exact.status).toBe(200)
    const template = await openStream(subscribeUrl(hub.hubUrl, [["topic", "https://example.com/{id}"]]))
    expect(template.status).toBe(200)
    expect((await fetch(subscribeUrl(hub.hubUrl, patterns("c", 1)))).status).toBe(429)
    // A closed connection gives its patterns back.
    first.close()
    await waitUntil(
      () => open.connections === 2,
      () => 0,
    )
    const again = await openStream(subscribeUrl(hub.hubUrl, patterns("d", 2)))
    expect(again.status).toBe(200)
    for (const stream of [exact, template, again]) stream.close()
  })

  it("bounds the patterns of an address by default at 4 per connection it may open, following a raised or lowered connection bound", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true, limits: { maxConnectionsPerAddress: 1 } })
    const patterns = (count: number): [string, string][] =>
      Array.from({ length: count }, (_, i) => ["match_urlpattern", `http{s}?://:host/p${i}/*`])
    const over = await fetch(subscribeUrl(hub.hubUrl, patterns(5)))
    expect(over.status).toBe(429)
    expect((await over.json()).detail).toMatch(/at most 4 per client address/)
    const within = await openStream(subscribeUrl(hub.hubUrl, patterns(4)))
    expect(within.status).toBe(200)
    within.close()
  })

  it("closes a subscriber's connection when its token expires", async () => {
    hub = await startHub()
    const shortLived = await token(hub.hubUrl, { subscribe: ["*"], expiresInSec: 1 })
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]), {
      authorization: `Bearer ${shortLived}`,
    })
    expect(stream.status).toBe(200)
    const started = Date.now()
    await stream.ended
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it("refuses subscribers without a token unless anonymous subscribers are allowed", async () => {
    hub = await startHub()
    const response = await fetch(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    expect(response.status).toBe(401)
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer /)
    expect((await response.json()).detail).toMatch(/access token/)
  })

  it("shuts down gracefully: subscribers are told when to come back, publishes get 503", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true })
    const publisher = await token(hub.hubUrl, { publish: ["*"] })
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    const closed = hub.hub.close({ deadlineMs: 1000 })
    await stream.ended
    expect(stream.retries.length).toBeGreaterThanOrEqual(2)
    expect((await publish(hub.hubUrl, { topic: "t" }, publisher)).status).toBe(503)
    await closed
  })
})

describe("Herald's batch and streaming publish", () => {
  it("stores a JSON batch atomically and answers every id", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true })
    const publisher = await token(hub.hubUrl, { publish: ["*"] })
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    const post = (body: unknown) =>
      fetch(`${hub?.origin}/herald/v1/publish`, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { authorization: `Bearer ${publisher}`, "content-type": "application/json" },
      })
    const response = await post([
      { topic: "t", data: "1" },
      { topic: ["t", "u"], data: "2", type: "token", id: "urn:x:2" },
    ])
    expect(response.status).toBe(200)
    const { ids } = await response.json()
    expect(ids).toHaveLength(2)
    expect(ids[1]).toBe("urn:x:2")
    const refused = await post({
      updates: [
        { topic: "t", data: "3" },
        { topic: "t", type: "mercure" },
      ],
    })
    expect(refused.status).toBe(400)
    expect((await refused.json()).detail).toMatch(/^update 1: /)
    await post([{ topic: "t", data: "4" }])
    expect((await stream.waitForEvents(3)).map((e) => e.data)).toEqual(["1", "2", "4"])
    stream.close()
  })

  it("delivers a batch whole to subscribers taking all of it, and only their part to the others", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true })
    const publisher = await token(hub.hubUrl, { publish: ["*"] })
    const all = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
      authorization: `Bearer ${await token(hub.hubUrl, { subscribe: ["*"] })}`,
    })
    const onlyT = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    const response = await fetch(`${hub.origin}/herald/v1/publish`, {
      method: "POST",
      body: JSON.stringify([
        { topic: "t", data: "1" },
        { topic: "u", data: "2" },
        { topic: "t", data: "3", private: true },
        { topic: "t", data: "4" },
      ]),
      headers: { authorization: `Bearer ${publisher}`, "content-type": "application/json" },
    })
    const { ids } = await response.json()
    expect((await all.waitForEvents(4)).map((e) => [e.data, e.lastEventId])).toEqual(
      ["1", "2", "3", "4"].map((data, index) => [data, ids[index]]),
    )
    expect((await onlyT.waitForEvents(2)).map((e) => e.data)).toEqual(["1", "4"])
    all.close()
    onlyT.close()
  })

  it("stores an NDJSON stream line by line as it arrives, and reports what landed before a bad line", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true })
    const publisher = await token(hub.hubUrl, { publish: ["*"] })
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    const encoder = new TextEncoder()
    let push: (line: string) => void = () => {}
    let finish: () => void = () => {}
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (line) => controller.enqueue(encoder.encode(line))
        finish = () => controller.close()
      },
    })
    const pending = fetch(`${hub.origin}/herald/v1/publish`, {
      method: "POST",
      body,
      duplex: "half",
      headers: { authorization: `Bearer ${publisher}`, "content-type": "application/x-ndjson" },
    } as RequestInit)
    push('{"topic":"t","data":"tok1"}\n{"topic":"t",')
    push('"data":"tok2"}\n')
    // Delivered before the request body ends: a token stream is not held back.
    expect((await stream.waitForEvents(2)).map((e) => e.data)).toEqual(["tok1", "tok2"])
    push('{"topic":"t","data":"tok3"}\nnot json\n{"topic":"t","data":"never"}\n')
    finish()
    const response = await pending
    expect(response.status).toBe(400)
    const problem = await response.json()
    expect(problem.detail).toMatch(/^line 4: not valid JSON/)
    expect(problem.ids).toHaveLength(3)
    expect((await stream.waitForEvents(3)).map((e) => e.data)).toEqual(["tok1", "tok2", "tok3"])
    stream.close()
  })

  it("stores an NDJSON line that arrives in many small pieces, a character cut between two of them, whole", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true })
    const publisher = await token(hub.hubUrl, { publish: ["*"] })
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    const long = `${"x".repeat(100_000)}中`
    const bytes = Buffer.from(
      `{"topic":"t","data":"first"}\n{"topic":"t","data":"${long}"}\n{"topic":"t","data":"last"}`,
    )
    // 997 bytes a piece: the pieces cut lines, and "中" (3 bytes) somewhere, at other places than the lines do.
    const pieces = Array.from({ length: Math.ceil(bytes.length / 997) }, (_, i) =>
      bytes.subarray(i * 997, (i + 1) * 997),
    )
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = pieces.shift()
        if (next === undefined) controller.close()
        else controller.enqueue(next)
      },
    })
    const response = await fetch(`${hub.origin}/herald/v1/publish`, {
      method: "POST",
      body,
      duplex: "half",
      headers: { authorization: `Bearer ${publisher}`, "content-type": "application/x-ndjson" },
    } as RequestInit)
    expect(response.status).toBe(200)
    expect((await stream.waitForEvents(3)).map((e) => e.data)).toEqual(["first", long, "last"])
    stream.close()
  })

  it("refuses a JSON batch that is not valid UTF-8 with 400", async () => {
    hub = await startHub()
    const publisher = await token(hub.hubUrl, { publish: ["*"] })
    const body = Buffer.concat([
      Buffer.from('[{"topic":"https://example.com/caf'),
      Buffer.from([0xff]),
      Buffer.from('","data":"d"}]'),
    ])
    const response = await fetch(`${hub.origin}/herald/v1/publish`, {
      method: "POST",
      body,
      headers: { authorization: `Bearer ${publisher}`, "content-type": "application/json" },
    })
    expect(response.status).toBe(400)
    expect((await response.json()).detail).toMatch(/not valid UTF-8/)
  })

  it("refuses an NDJSON body that ends inside a character with 400, after storing the lines before it", async () => {
    hub = await startHub()
    const publisher = await token(hub.hubUrl, { publish: ["*"] })
    // The first two bytes of "中" (E4 B8 AD) and then the end of the body.
    const body = Buffer.concat([
      Buffer.from('{"topic":"t","data":"ok"}\n{"topic":"t","data":"'),
      Buffer.from([0xe4, 0xb8]),
    ])
    const response = await fetch(`${hub.origin}/herald/v1/publish`, {
      method: "POST",
      body,
      headers: { authorization: `Bearer ${publisher}`, "content-type": "application/x-ndjson" },
    })
    expect(response.status).toBe(400)
    const problem = await response.json()
    expect(problem.detail).toMatch(/^line 2: not valid UTF-8/)
    expect(problem.ids).toHaveLength(1)
  })
})

// A JSON publish body is read for its nesting, the keys of each object and its values in all
// before it is parsed: a parse of 8 MiB of `{}` (with --max-body-bytes raised) held the event loop
// two seconds. A body past a bound is a 400 that names it and its flag.
describe("the bounds on a JSON publish body", () => {
  /** Posts `body` to the batch publish as `contentType`. */
  async function publishRaw(body: string, contentType = "application/json") {
    const publisher = await token(hub?.hubUrl as string, { publish: ["*"] })
    return fetch(`${hub?.origin}/herald/v1/publish`, {
      method: "POST",
      body,
      headers: { authorization: `Bearer ${publisher}`, "content-type": contentType },
    })
  }
  /** The problem's detail, after checking the 400. */
  async function refusal(response: Response): Promise<{ detail: string; ids?: string[] }> {
    expect(response.status).toBe(400)
    return response.json()
  }
  const items = (count: number, item = "0") => Array(count).fill(item).join(",")
  /** `count` keys for an update, after its topic. */
  const extraKeys = (count: number) => Array.from({ length: count }, (_, at) => `,"k${at}":0`).join("")

  it("are 64 levels, 10 000 keys in one object and 200 000 values by default: a body at each passes, one past it is a 400 naming the bound, storing nothing", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true })
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    // The object, `updates`, the update: 3 levels; `x` nests the rest.
    const nested = (depth: number) =>
      `{"updates":[{"topic":"t","data":"deep","x":${"[".repeat(depth - 3)}${"]".repeat(depth - 3)}}]}`
    expect((await publishRaw(nested(64))).status).toBe(200)
    expect((await refusal(await publishRaw(nested(65)))).detail).toMatch(
      /^The body nests arrays and objects more than 64 levels deep .*--max-body-depth/,
    )
    const keyed = (count: number) => `[{"topic":"t","data":"keys"${extraKeys(count - 2)}}]`
    expect((await publishRaw(keyed(10_000))).status).toBe(200)
    expect((await refusal(await publishRaw(keyed(10_001)))).detail).toMatch(
      /^The body has an object of more than 10000 keys .*--max-body-keys/,
    )
    // updates, its item, the topic, the data and x: 5 values around x's items.
    const valued = (count: number) => `{"updates":[{"topic":"t","data":"values"}],"x":[${items(count - 5)}]}`
    expect((await publishRaw(valued(200_000))).status).toBe(200)
    expect((await refusal(await publishRaw(valued(200_001)))).detail).toMatch(
      /^The body holds more than 200000 values.*--max-body-values/,
    )
    expect((await stream.waitForEvents(3)).map((e) => e.data)).toEqual(["deep", "keys", "values"])
    stream.close()
  })

  it("are taken from the limits, and bound each line of an NDJSON body: a 400 at the line past one, with the ids stored before it", async () => {
    hub = await startHub({ limits: { maxBodyDepth: 3, maxBodyKeys: 3, maxBodyValues: 6 } })
    // The update, its 2 members, the topics' 2 items: 5 values, 2 levels deep, 2 keys.
    const good = '{"topic":["t","u"],"data":"d"}'
    expect((await publishRaw(`[${good}]`)).status).toBe(200)
    expect((await refusal(await publishRaw(`[${good},${good}]`))).detail).toMatch(/more than 6 values/)
    expect((await refusal(await publishRaw('[{"topic":"t","data":"d","a":0,"b":0}]'))).detail).toMatch(
      /more than 3 keys/,
    )
    expect((await refusal(await publishRaw('[{"topic":"t","x":[[]]}]'))).detail).toMatch(
      /more than 3 levels deep/,
    )
    const ndjson = `${good}\n${good}\n{"topic":["t","u","v","w","x","y"]}\n${good}\n`
    const problem = await refusal(await publishRaw(ndjson, "application/x-ndjson"))
    expect(problem.detail).toMatch(/^line 3: the line holds more than 6 values.*--max-body-values/)
    expect(problem.ids).toHaveLength(2)
  })
})

describe("active subscriptions", () => {
  it("publishes subscription events and lists subscriptions through the API", async () => {
    hub = await startHub({ subscriptions: true })
    const watcher = await token(hub.hubUrl, {
      subscribe: [{ match: "/.well-known/mercure/subscriptions{/*}?", match_type: "urlpattern" }],
    })
    const events = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match_urlpattern", "/.well-known/mercure/subscriptions/:type/:match/:subscriber"],
      ]),
      { authorization: `Bearer ${watcher}` },
    )
    const member = await token(hub.hubUrl, {
      subscribe: [{ match: "https://example.com/:x", match_type: "urlpattern" }],
      payload: { tenant: 7 },
    })
    const stream = await openStream(
      subscribeUrl(hub.hubUrl, [["match_urlpattern", "https://example.com/:x"]]),
      {
        authorization: `Bearer ${member}`,
      },
    )
    const about = (active: boolean) =>
      events.events.find((event) => {
        const body = JSON.parse(event.data)
        return body.match === "https://example.com/:x" && body.active === active
      })
    // The watcher also sees its own subscription's event; pick the member's.
    const created = await waitUntil(
      () => about(true) !== undefined,
      () => about(true),
    )
    expect(created?.type).toBe("mercure")
    const document = JSON.parse(created?.data ?? "{}")
    expect(document).toMatchObject({
      type: "subscription",
      match_type: "urlpattern",
      match: "https://example.com/:x",
      active: true,
      payload: { tenant: 7 },
    })
    expect(document.id).toBe(
      `/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2F%3Ax/${encodeURIComponent(document.subscriber)}`,
    )

    const list = await fetch(`${hub.origin}/.well-known/mercure/subscriptions`, {
      headers: { authorization: `Bearer ${watcher}` },
    })
    expect(list.status).toBe(200)
    expect(list.headers.get("link")).toMatch(/rel="mercure"; last-event-id="[^"]+"; type="mercure"/)
    const collection = await list.json()
    expect(collection.type).toBe("subscriptions")
    expect(collection.subscriptions.map((s: { match: string }) => s.match)).toContain(
      "https://example.com/:x",
    )
    const one = await fetch(`${hub.origin}${document.id}`, {
      headers: { authorization: `Bearer ${watcher}` },
    })
    expect(await one.json()).toEqual(document)
    const forbidden = await fetch(`${hub.origin}/.well-known/mercure/subscriptions`, {
      headers: { authorization: `Bearer ${member}` },
    })
    expect(forbidden.status).toBe(403)

    stream.close()
    const ended = await waitUntil(
      () => about(false) !== undefined,
      () => about(false),
    )
    expect(JSON.parse(ended?.data ?? "{}")).toMatchObject({ id: document.id, active: false })
    expect(
      (await fetch(`${hub.origin}${document.id}`, { headers: { authorization: `Bearer ${watcher}` } }))
        .status,
    ).toBe(404)
    events.close()
  })
})
