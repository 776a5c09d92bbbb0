// Two hubs sharing one engine as one hub across nodes, each with its node lease: the subscription
// API of either lists both nodes' subscribers; the subscriptions a dead node left behind are
// announced inactive exactly once (the takeover fence) and leave the API; a node restarted under
// its old id ends its previous run's. On the memory engine (two hubs on one engine) and on the
// real Redis at 127.0.0.1:6379 (one engine per hub, a unique key prefix and hub log name).

import { randomBytes } from "node:crypto"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { holdNodeLease, type NodeLease } from "../../src/engine/node-lease.js"
import { START } from "../../src/engine/position.js"
import { createRedisEngine } from "../../src/engine/redis.js"
import { nodeLogPrefix } from "../../src/hub/node-subscriptions.js"
import type { SubscriptionDocument } from "../../src/hub/subscriptions.js"
import { openUpdateLog } from "../../src/hub/update-log.js"
import { deleteKeys, redisAnswers, SHARED_REDIS_URL, STRICT } from "../engine/redis-servers.js"
import { openStream, recordingLogger, type StreamReader } from "../server/helpers.js"
import { startHub, subscribeUrl, type TestHub, token } from "./hub-helpers.js"

const RUN = `herald-nodes-${randomBytes(4).toString("hex")}`
const redisUp = await redisAnswers(SHARED_REDIS_URL)
/** Short leases, so that a dead node is found within a second or two. */
const LEASE_MS = 600

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})
afterAll(async () => {
  if (redisUp) await deleteKeys(SHARED_REDIS_URL, RUN)
})

/** Polls `check` every 50 ms until it returns a value; fails after `ms`. */
async function eventually<T>(check: () => Promise<T | undefined>, what: string, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Opens the engine of one node; the nodes of one test share one store. */
interface Store {
  open(): Engine
  /** Every node gets the same engine (closed once, after them all). */
  readonly shared: boolean
}

const engines: [string, boolean, () => Store][] = [
  [
    "memory",
    true,
    () => {
      const engine = createMemoryEngine()
      cleanups.push(() => engine.close())
      return { open: () => engine, shared: true }
    },
  ],
  [
    "redis",
    redisUp || STRICT,
    () => {
      const keyPrefix = `${RUN}-${randomBytes(3).toString("hex")}`
      return { open: () => createRedisEngine({ url: SHARED_REDIS_URL, keyPrefix }), shared: false }
    },
  ],
]

describe.each(engines)("subscriptions across nodes (%s)", (_name, runs, store) => {
  /** An engine on the test's store, closed after the test. */
  function opened(on: Store): Engine {
    const engine = on.open()
    if (!on.shared) cleanups.push(() => engine.close())
    return engine
  }

  /** One node: its engine, its lease, its hub on the shared hub log. */
  async function node(
    on: Store,
    log: string,
    id: string,
  ): Promise<{ hub: TestHub; lease: NodeLease; engine: Engine }> {
    const engine = opened(on)
    const lease = holdNodeLease(engine, id, LEASE_MS, { logger: recordingLogger() })
    const hub = await startHub({ engine, log, node: lease, subscriptions: true })
    cleanups.push(async () => {
      await hub.close()
      await lease.release()
    })
    return { hub, lease, engine }
  }

  async function subscriber(hub: TestHub, topic: string): Promise<StreamReader> {
    const bearer = await token(hub.hubUrl, { subscribe: [topic] })
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", topic]]), {
      authorization: `Bearer ${bearer}`,
    })
    expect(stream.status).toBe(200)
    cleanups.push(async () => stream.close())
    return stream
  }

  async function listed(
    hub: TestHub,
    path = "",
  ): Promise<{
    status: number
    body: { subscriptions?: SubscriptionDocument[] } & Partial<SubscriptionDocument>
  }> {
    const bearer = await token(hub.hubUrl, {
      subscribe: [{ match: "/.well-known/mercure/subscriptions{/*}?", match_type: "urlpattern" }],
    })
    const response = await fetch(`${hub.hubUrl}/subscriptions${path}`, {
      headers: { authorization: `Bearer ${bearer}` },
    })
    return { status: response.status, body: await response.json() }
  }

  const matches = async (hub: TestHub) =>
    ((await listed(hub)).body.subscriptions ?? []).map((document) => document.match).sort()

  /** The subscription events stored in the hub log, as documents. */
  async function events(engine: Engine, log: string): Promise<SubscriptionDocument[]> {
    const updates = openUpdateLog(engine, log)
    const read = await engine.read(log, START, 1000)
    if (!read.held) return []
    return read.entries
      .map((entry) => updates.decode(entry))
      .filter((update) => update.type === "mercure")
      .map((update) => JSON.parse(update.data) as SubscriptionDocument)
  }

  it.runIf(runs)(
    "lists every live node's subscribers on every node; a node that shuts down takes its own away",
    async () => {
      const on = store()
      const log = `hub-${randomBytes(3).toString("hex")}`
      const a = await node(on, log, "node-a")
      const b = await node(on, log, "node-b")
      await subscriber(a.hub, "https://example.com/on-a")
      const onB = await subscriber(b.hub, "https://example.com/on-b")
      const both = ["https://example.com/on-a", "https://example.com/on-b"]
      for (const hub of [a.hub, b.hub]) {
        await eventually(
          async () => ((await matches(hub)).join() === both.join() ? true : undefined),
          "both listed",
        )
      }
      // One of B's subscriptions, by its path, from A.
      const [document] = ((await listed(b.hub)).body.subscriptions ?? []).filter((each) =>
        each.match.endsWith("on-b"),
      )
      const path = (document as SubscriptionDocument).id.slice("/.well-known/mercure/subscriptions".length)
      expect((await listed(a.hub, path)).body).toMatchObject({
        match: "https://example.com/on-b",
        active: true,
      })

      onB.close()
      await eventually(
        async () => ((await matches(a.hub)).join() === "https://example.com/on-a" ? true : undefined),
        "B's subscriber gone from A's list",
      )
      expect((await listed(a.hub, path)).status).toBe(404)

      // A clean shutdown: B's subscribers are closed (announced inactive by B), and its
      // snapshot goes with it.
      await subscriber(b.hub, "https://example.com/on-b-again")
      await eventually(
        async () => ((await matches(a.hub)).length === 2 ? true : undefined),
        "B's new subscriber listed",
      )
      await b.hub.close()
      await b.lease.release()
      expect(await matches(a.hub)).toEqual(["https://example.com/on-a"])
      expect(await b.engine.head(`${nodeLogPrefix(log)}node-b`)).toBeUndefined()
      const ended = (await events(b.engine, log)).filter((event) => event.match.endsWith("on-b-again"))
      expect(ended.map((event) => event.active)).toEqual([true, false])
    },
  )

  it.runIf(runs)(
    "ends a dead node's subscriptions once: inactive events, then its log is deleted",
    async () => {
      const on = store()
      const log = `hub-${randomBytes(3).toString("hex")}`
      const writer = opened(on)
      // A node that died: its snapshot is there, its lease is gone.
      const ghost = (match: string): SubscriptionDocument => ({
        id: `/.well-known/mercure/subscriptions/exact/${encodeURIComponent(match)}/urn%3Aghost`,
        type: "subscription",
        match_type: "exact",
        match,
        subscriber: "urn:ghost",
        active: true,
      })
      const left = [ghost("https://example.com/1"), ghost("https://example.com/2")]
      const ghostLog = `${nodeLogPrefix(log)}ghost`
      await writer.holdLease("ghost", 1)
      await writer.append(ghostLog, [{ data: JSON.stringify(left) }], {
        create: { owner: "ghost", retention: { maxEntries: 1 } },
        fence: { owner: "ghost" },
      })
      // Two live nodes race to end them: the fence lets one do it.
      const a = await node(on, log, "node-a")
      const b = await node(on, log, "node-b")
      await subscriber(a.hub, "https://example.com/alive")
      const inactive = await eventually(async () => {
        const found = (await events(writer, log)).filter((event) => event.subscriber === "urn:ghost")
        return found.length >= 2 && (await writer.head(ghostLog)) === undefined ? found : undefined
      }, "the ghost's subscriptions ended")
      // Give a second (wrong) takeover the time to happen before counting.
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS))
      const ended = (await events(writer, log)).filter((event) => event.subscriber === "urn:ghost")
      expect(ended).toEqual(left.map((document) => ({ ...document, active: false })))
      expect(inactive).toHaveLength(2)
      for (const hub of [a.hub, b.hub]) expect(await matches(hub)).toEqual(["https://example.com/alive"])
      // Nothing of A's was ended: it is alive.
      expect(
        (await events(writer, log)).filter((event) => !event.active && event.match.endsWith("alive")),
      ).toEqual([])
    },
  )

  it.runIf(runs)(
    "a node cut off for longer than its lease has its subscriptions ended, then announces them again",
    async () => {
      const on = store()
      const log = `hub-${randomBytes(3).toString("hex")}`
      const a = await node(on, log, "node-a")
      const b = await node(on, log, "node-b")
      // A's renewals fail for a while, as when it cannot reach Redis; everything else works.
      let cutOff = false
      const hold = a.engine.holdLease.bind(a.engine)
      a.engine.holdLease = (id, ttlMs) =>
        id === "node-a" && cutOff ? Promise.reject(new Error("cut off")) : hold(id, ttlMs)
      await subscriber(a.hub, "https://example.com/on-a")
      await eventually(
        async () => ((await matches(b.hub)).includes("https://example.com/on-a") ? true : undefined),
        "A's subscriber listed on B",
      )
      const states = async () =>
        (await events(b.engine, log))
          .filter((event) => event.match.endsWith("on-a"))
          .map((event) => event.active)
      cutOff = true
      await eventually(async () => ((await states()).length === 2 ? true : undefined), "ended by B")
      expect(await states()).toEqual([true, false])
      cutOff = false
      await eventually(async () => ((await states()).length === 3 ? true : undefined), "announced again by A")
      expect(await states()).toEqual([true, false, true])
      await eventually(
        async () => ((await matches(b.hub)).includes("https://example.com/on-a") ? true : undefined),
        "A's subscriber listed on B again",
      )
    },
  )

  it.runIf(runs)("a node restarted under its old id ends what its previous run left", async () => {
    const on = store()
    const log = `hub-${randomBytes(3).toString("hex")}`
    const writer = opened(on)
    const previous: SubscriptionDocument = {
      id: "/.well-known/mercure/subscriptions/exact/t/urn%3Aold",
      type: "subscription",
      match_type: "exact",
      match: "t",
      subscriber: "urn:old",
      active: true,
    }
    await writer.append(`${nodeLogPrefix(log)}node-a`, [{ data: JSON.stringify([previous]) }], {
      create: { owner: "node-a", retention: { maxEntries: 1 } },
      fence: { owner: "node-a" },
    })
    const a = await node(on, log, "node-a")
    await subscriber(a.hub, "https://example.com/new")
    await eventually(async () => {
      const ended = (await events(writer, log)).filter((event) => event.subscriber === "urn:old")
      return ended.length > 0 ? ended : undefined
    }, "the previous run's subscription ended").then((ended) =>
      expect(ended).toEqual([{ ...previous, active: false }]),
    )
    expect(await matches(a.hub)).toEqual(["https://example.com/new"])
  })
})
