// The dashboard's admin API (src/cli/admin/): who gets in, and what the stream says, against a
// real hub on a memory engine, mounted as `herald serve` mounts them.
import { request } from "node:http"
import { afterEach, describe, expect, it } from "vitest"
import { HERALD_GRANT_TYPE } from "../../src/auth/herald-grant.js"
import { DEFAULT_COOKIE_NAMES } from "../../src/auth/presentation.js"
import { createTokenVerifier } from "../../src/auth/verifier.js"
import { createAdminAccess } from "../../src/cli/admin/admin-access.js"
import { ADMIN_SNAPSHOT_PATH, ADMIN_STREAM_PATH, createAdminApp } from "../../src/cli/admin/admin-app.js"
import type { AdminSources, Snapshot } from "../../src/cli/admin/snapshot.js"
import { metricsMount } from "../../src/cli/metrics.js"
import { createRouter } from "../../src/cli/router.js"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import type { RecentUpdate } from "../../src/hub/activity.js"
import { createHub } from "../../src/hub/hub.js"
import { streamsOverview } from "../../src/streams/overview.js"
import { publish, SECRET, subscribeUrl, token } from "../hub/hub-helpers.js"
import { listen, openStream, recordingLogger, stop, waitUntil } from "../server/helpers.js"

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A token signed with the test secret carrying `details` (Herald grants). */
function grantToken(hubUrl: string, details: readonly object[]): Promise<string> {
  return token(hubUrl, { claims: { authorization_details: details } })
}
const ADMIN_GRANT = { type: HERALD_GRANT_TYPE, app: "admin", actions: ["admin"], resources: [{ match: "*" }] }

/**
 * A hub, /metrics and the admin app behind one router. `dev`: dev mode's trust of local clients.
 * `clientAddress` plays the peer's address, so that a remote client is tried without leaving loopback.
 * `engine`: the hub's (a memory engine by default); `streams`: the Durable Streams shown, if any.
 */
async function adminServer(options: {
  dev: boolean
  clientAddress?: string
  engine?: Engine
  streams?: AdminSources["streams"]
}) {
  let router: ReturnType<typeof createRouter> | undefined
  const { server, url } = await listen((req, res) => {
    if (options.clientAddress !== undefined) {
      Object.defineProperty(req.socket, "remoteAddress", { value: options.clientAddress, configurable: true })
    }
    void router?.(req, res)
  })
  const hubUrl = `${url}/.well-known/mercure`
  const key = { kind: "secret" as const, secret: SECRET }
  const engine = options.engine ?? createMemoryEngine()
  const logger = recordingLogger()
  const hub = createHub({
    engine,
    hubUrl,
    publish: { keys: [key] },
    subscribe: { keys: [key] },
    heartbeatMs: 0,
    logger,
  })
  const access = createAdminAccess({
    verifier: createTokenVerifier({
      keys: [key],
      resource: hubUrl,
      legacy: false,
      matcherContext: { hubUrl: new URL(hubUrl), maxPatternLength: 1024 },
    }),
    trustLocalClients: options.dev,
    localTrust: { trusts: (origin) => origin === url, hostname: "127.0.0.1" },
    cookieNames: DEFAULT_COOKIE_NAMES,
  })
  const admin = createAdminApp({
    sources: {
      node: "node-a",
      hubPath: "/.well-known/mercure",
      hub: hub.activity,
      engine,
      ...(options.streams === undefined ? {} : { streams: options.streams }),
    },
    access,
    logger,
    intervalMs: 50,
  })
  router = createRouter(
    [
      { serves: "the hub", owns: hub.owns, handle: hub.handle },
      admin.mount,
      metricsMount(hub.metrics, { token: undefined, loopbackOnly: false }),
    ],
    logger,
  )
  cleanups.push(async () => {
    await admin.close({ deadlineMs: 100 })
    await hub.close({ deadlineMs: 100 })
    await stop(server)
    await engine.close()
  })
  return { url, hubUrl, hub, admin }
}

/** The first snapshot on the admin stream that satisfies `wanted`. */
async function snapshotWhere(
  url: string,
  headers: Record<string, string>,
  wanted: (snapshot: Snapshot) => boolean,
) {
  const stream = await openStream(`${url}${ADMIN_STREAM_PATH}`, headers)
  const matching = () =>
    stream.events
      .filter((event) => event.type === "snapshot")
      .map((event) => JSON.parse(event.data) as Snapshot)
      .filter(wanted)
  try {
    expect(stream.status).toBe(200)
    return await waitUntil(
      () => matching().length > 0,
      () => matching()[0] as Snapshot,
    )
  } finally {
    stream.close()
  }
}

/** The status of a GET sent with node:http (fetch will not send another `Host`). */
function statusOf(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      resolve(res.statusCode ?? 0)
      res.resume()
    })
    req.on("error", reject)
    req.end()
  })
}

/** One value of the Prometheus text format. */
function metric(text: string, name: string): number {
  const line = text.split("\n").find((each) => each.startsWith(`${name} `))
  if (line === undefined) throw new Error(`no ${name} in /metrics`)
  return Number(line.slice(name.length + 1))
}

describe("admin access", () => {
  it("outside dev mode: 401 without a token, 403 for a token without the admin grant, the stream with one", async () => {
    const { url, hubUrl } = await adminServer({ dev: false })
    const none = await fetch(`${url}${ADMIN_STREAM_PATH}`)
    expect(none.status).toBe(401)
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/)
    const refusal = (await none.json()).detail
    expect(refusal).toContain('"app": "admin"')
    // Dev mode is not this server's: its rule is not offered.
    expect(refusal).not.toMatch(/dev mode/i)

    const publisher = await token(hubUrl, { publish: ["*"], subscribe: ["*"] })
    const notAdmin = await fetch(`${url}${ADMIN_STREAM_PATH}`, {
      headers: { authorization: `Bearer ${publisher}` },
    })
    expect(notAdmin.status).toBe(403)
    expect(notAdmin.headers.get("www-authenticate")).toContain('error="insufficient_scope"')
    // Admin of another app is not admin of the dashboard.
    const aiAdmin = await grantToken(hubUrl, [{ ...ADMIN_GRANT, app: "ai" }])
    expect(
      (await fetch(`${url}${ADMIN_SNAPSHOT_PATH}`, { headers: { authorization: `Bearer ${aiAdmin}` } }))
        .status,
    ).toBe(403)
    const bad = await fetch(`${url}${ADMIN_STREAM_PATH}`, {
      headers: { authorization: "Bearer not.a.token" },
    })
    expect(bad.status).toBe(401)

    const admin = await grantToken(hubUrl, [ADMIN_GRANT])
    const stream = await openStream(`${url}${ADMIN_STREAM_PATH}`, { authorization: `Bearer ${admin}` })
    expect(stream.status).toBe(200)
    const [history, snapshot] = await stream.waitForEvents(2)
    expect(history?.type).toBe("history")
    expect(snapshot?.type).toBe("snapshot")
    stream.close()
    // A cookie carries it too (the hub's cookie names).
    const byCookie = await fetch(`${url}${ADMIN_SNAPSHOT_PATH}`, {
      headers: { cookie: `mercureAuthorization=${admin}` },
    })
    expect(byCookie.status).toBe(200)
  })

  it("in dev mode lets in a local client without a token, and nobody else", async () => {
    const local = await adminServer({ dev: true })
    expect((await fetch(`${local.url}${ADMIN_SNAPSHOT_PATH}`)).status).toBe(200)
    // Relayed by a proxy, sent by another site's page, or reached by another name: not local.
    const refused: Record<string, string>[] = [
      { "x-forwarded-for": "203.0.113.7" },
      { origin: "https://evil.example" },
      { host: `evil.example:${new URL(local.url).port}` },
    ]
    for (const headers of refused) {
      expect(await statusOf(`${local.url}${ADMIN_SNAPSHOT_PATH}`, headers), JSON.stringify(headers)).toBe(401)
    }
    const remote = await adminServer({ dev: true, clientAddress: "203.0.113.7" })
    const remoteRefused = await fetch(`${remote.url}${ADMIN_STREAM_PATH}`)
    expect(remoteRefused.status).toBe(401)
    // The way in dev mode gives, which the page shows: it cannot know dev mode by itself.
    expect((await remoteRefused.json()).detail).toContain(
      "This server runs in dev mode: a client on the machine that runs it needs none",
    )
  })

  it("answers only GET, and 404 off its two paths", async () => {
    const { url } = await adminServer({ dev: true })
    const post = await fetch(`${url}${ADMIN_STREAM_PATH}`, { method: "POST" })
    expect(post.status).toBe(405)
    expect((await fetch(`${url}/_herald/admin/other`)).status).toBe(404)
  })
})

describe("the admin stream", () => {
  it("reports the figures /metrics reports, the most subscribed matchers and the newest updates", async () => {
    const { url, hubUrl } = await adminServer({ dev: true })
    const topic = "https://example.com/books/1"
    const subscriber = { authorization: `Bearer ${await token(hubUrl, { subscribe: ["*"] })}` }
    const subscribers = await Promise.all(
      [topic, topic, "https://example.com/other"].map((match) =>
        openStream(subscribeUrl(hubUrl, [["match", match]]), subscriber),
      ),
    )
    const publisher = await token(hubUrl, { publish: ["*"] })
    for (let index = 0; index < 3; index++) {
      expect(
        (await publish(hubUrl, { topic, data: `update ${index}`, id: `id-${index}` }, publisher)).status,
      ).toBe(200)
    }
    await subscribers[0]?.waitForEvents(3)
    await subscribers[1]?.waitForEvents(3)

    const snapshot = await snapshotWhere(url, {}, (each) => each.hub.delivered === 6)
    const metrics = await (await fetch(`${url}/metrics`)).text()
    expect(snapshot.hub.connections).toBe(metric(metrics, "herald_connections"))
    expect(snapshot.hub.subscriptions).toBe(metric(metrics, "herald_subscriptions"))
    expect(snapshot.hub.published).toBe(metric(metrics, "herald_updates_published_total"))
    expect(snapshot.hub.delivered).toBe(metric(metrics, "herald_updates_delivered_total"))
    expect(snapshot.hub.overflows).toBe(metric(metrics, "herald_queue_overflows_total"))
    expect(snapshot.hub).toMatchObject({ connections: 3, subscriptions: 3, published: 3 })
    expect(snapshot.hub.mostSubscribed).toEqual([
      { match: topic, subscriptions: 2 },
      { match: "https://example.com/other", subscriptions: 1 },
    ])
    const recentUpdates = snapshot.hub.recentUpdates as readonly RecentUpdate[]
    expect(recentUpdates.map((update) => update.id)).toEqual(["id-2", "id-1", "id-0"])
    expect(recentUpdates[0]).toMatchObject({ topics: [topic], private: false, bytes: 8 })
    expect(snapshot.nodes).toEqual([
      expect.objectContaining({ node: "node-a", connections: 3, subscriptions: 3 }),
    ])
    expect(snapshot.engine).toMatchObject({ name: "memory", health: { status: "up" } })
    expect(snapshot.process).toMatchObject({ node: process.version, pid: process.pid })
    expect(snapshot.generations).toBeNull()
    expect(snapshot.streams).toBeNull()
    for (const subscriber of subscribers) subscriber.close()

    // Subscribers gone: the figures follow.
    const after = await snapshotWhere(url, {}, (each) => each.hub.connections === 0)
    expect(after.hub.subscriptions).toBe(0)
    expect(after.hub.mostSubscribed).toEqual([])
  })

  it("is an uncompressed, uncached event stream, whatever the client accepts", async () => {
    const { url } = await adminServer({ dev: true })
    const stream = await openStream(`${url}${ADMIN_STREAM_PATH}`, { "accept-encoding": "gzip, br" })
    expect(stream.headers["content-type"]).toBe("text/event-stream; charset=utf-8")
    expect(stream.headers["content-encoding"]).toBeUndefined()
    expect(stream.headers["cache-control"]).toContain("no-transform")
    const [history] = await stream.waitForEvents(1)
    expect(JSON.parse(history?.data ?? "").samples).toBeInstanceOf(Array)
    stream.close()
  })

  it("sends a snapshot a second to every viewer from one gathering, and stops when closed", async () => {
    const { url, admin } = await adminServer({ dev: true })
    const [first, second] = await Promise.all([
      openStream(`${url}${ADMIN_STREAM_PATH}`),
      openStream(`${url}${ADMIN_STREAM_PATH}`),
    ])
    const snapshots = (stream: typeof first) => stream.events.filter((event) => event.type === "snapshot")
    await waitUntil(
      () => snapshots(first).length >= 4 && snapshots(second).length >= 4,
      () => undefined,
    )
    // The same snapshot (same time) reached both: taken once, serialized once.
    const times = (stream: typeof first) =>
      new Set(snapshots(stream).map((event) => JSON.parse(event.data).time))
    const shared = [...times(first)].filter((time) => times(second).has(time))
    expect(shared.length).toBeGreaterThanOrEqual(2)
    await admin.close({ deadlineMs: 100 })
    await Promise.all([first.ended, second.ended])
  })
})

describe("the admin snapshot", () => {
  it("is one JSON document with the rate history", async () => {
    const { url } = await adminServer({ dev: true })
    await new Promise((resolve) => setTimeout(resolve, 200))
    const response = await fetch(`${url}${ADMIN_SNAPSHOT_PATH}`)
    expect(response.headers.get("cache-control")).toBe("no-store")
    const body = await response.json()
    expect(body.node).toBe("node-a")
    expect(body.samples.length).toBeGreaterThanOrEqual(1)
    expect(body.samples[0]).toEqual({ time: expect.any(Number), in: 0, out: 0 })
  })

  it("says the lists the engine failed to give are unavailable: neither empty nor unserved", async () => {
    const engine = createMemoryEngine()
    const refuse = () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6379"))
    // Without its health capability, the probe is a head, refused too.
    Object.assign(engine, { read: refuse, list: refuse, head: refuse, health: undefined })
    const { url } = await adminServer({
      dev: true,
      engine,
      streams: { overview: (bounds) => streamsOverview(engine, "/v1/stream/", bounds) },
    })
    const body = (await (await fetch(`${url}${ADMIN_SNAPSHOT_PATH}`)).json()) as Snapshot
    const failed = { unavailable: true, reason: "connect ECONNREFUSED 127.0.0.1:6379" }
    expect(body.hub.recentUpdates).toEqual(failed)
    expect(body.streams).toEqual(failed)
    expect(body.engine.health).toEqual({ status: "down", reason: failed.reason })
  })
})
