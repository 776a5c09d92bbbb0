// Two hubs sharing one engine as one hub across nodes, each with its node lease: the subscription
// API of either lists both nodes' subscribers, with a cursor past no subscription event the list
// does not reflect, however late the other node's snapshot; the subscriptions a dead node left
// behind are announced inactive exactly once (the takeover fence) and leave the API; a node
// restarted under its old id ends its previous run's. On the memory engine (two hubs on one engine)
// and on the real Redis at 127.0.0.1:6379 (one engine per hub, a unique key prefix and hub log
// name).

import { randomBytes } from "node:crypto"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { holdNodeLease, type NodeLease, type NodeLeaseView } from "../../src/engine/node-lease.js"
import { START } from "../../src/engine/position.js"
import { createRedisEngine } from "../../src/engine/redis.js"
import { nodeLogPrefix } from "../../src/hub/node-subscriptions.js"
import type { SubscriptionDocument } from "../../src/hub/subscriptions.js"
import { openUpdateLog } from "../../src/hub/update-log.js"
import { deleteKeys, redisAnswers, SHARED_REDIS_URL, STRICT } from "../engine/redis-servers.js"
import { openStream, recordingLogger, type StreamReader } from "../server/helpers.js"
import { publish, startHub, subscribeUrl, type TestHub, token } from "./hub-helpers.js"

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

  /** One node: its engine, its lease, its hub (seeing its lease through `view`) on the shared hub log. */
  async function node(
    on: Store,
    log: string,
    id: string,
    view: (lease: NodeLease) => NodeLeaseView = (lease) => lease,
  ): Promise<{ hub: TestHub; lease: NodeLease; engine: Engine }> {
    const engine = opened(on)
    const lease = holdNodeLease(engine, id, LEASE_MS, { logger: recordingLogger() })
    const hub = await startHub({ engine, log, node: view(lease), subscriptions: true })
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
    /** The Link header's `last-event-id`. */
    cursor: string | undefined
  }> {
    const bearer = await token(hub.hubUrl, {
      subscribe: [{ match: "/.well-known/mercure/subscriptions{/*}?", match_type: "urlpattern" }],
    })
    const response = await fetch(`${hub.hubUrl}/subscriptions${path}`, {
      headers: { authorization: `Bearer ${bearer}` },
    })
    const cursor = /last-event-id="([^"]*)"/.exec(response.headers.get("link") ?? "")?.[1]
    return { status: response.status, body: await response.json(), cursor }
  }

  /**
   * The matchers of the subscriptions draft-08's client ends up with: `hub`'s list, then the
   * subscription events after its cursor, each replacing its subscription's state.
   */
  async function reconciled(hub: TestHub, engine: Engine, log: string): Promise<string[]> {
    const { body, cursor } = await listed(hub)
    const view = new Map((body.subscriptions ?? []).map((document) => [document.id, document]))
    const updates = openUpdateLog(engine, log)
    const from = await updates.locate(cursor as string)
    expect(from, `the cursor ${cursor} is held`).toBeDefined()
    const read = await engine.read(log, from as string, 1000)
    for (const entry of read.held ? read.entries : []) {
      const update = updates.decode(entry)
      if (update.type !== "mercure") continue
      const document = JSON.parse(update.data) as SubscriptionDocument
      if (document.active) view.set(document.id, document)
      else view.delete(document.id)
    }
    return [...view.values()].map((document) => document.match).sort()
  }

  /**
   * A node's view of its lease that says it lapsed while `stale()`: the node then writes no
   * snapshot (the engine still lists it live), as a busy node paced to one snapshot every few
   * seconds has not written it yet.
   */
  const staleWhile =
    (stale: () => boolean) =>
    (lease: NodeLease): NodeLeaseView => ({
      node: lease.node,
      ttlMs: lease.ttlMs,
      heldForMs: () => (stale() ? 0 : lease.heldForMs()),
    })

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
    "the API's cursor misses no event its list does not reflect, however late another node's snapshot",
    async () => {
      const on = store()
      const log = `hub-${randomBytes(3).toString("hex")}`
      const a = await node(on, log, "node-a")
      let stale = false
      const b = await node(
        on,
        log,
        "node-b",
        staleWhile(() => stale),
      )
      const bLog = `${nodeLogPrefix(log)}node-b`
      await eventually(async () => ((await b.engine.head(bLog)) ? true : undefined), "B's first snapshot")
      const onB = "https://example.com/on-b"
      const statesOnB = async () =>
        (await events(b.engine, log)).filter((event) => event.match === onB).map((event) => event.active)

      // Opened on B just before the client reads A's list: not in B's snapshot yet.
      stale = true
      const subscriberOnB = await subscriber(b.hub, onB)
      await eventually(async () => ((await statesOnB()).length === 1 ? true : undefined), "B's event stored")
      expect(await reconciled(a.hub, a.engine, log)).toEqual([onB])

      // Closed on B just before the client reads A's list: still in B's snapshot.
      stale = false
      await eventually(
        async () => ((await matches(a.hub)).includes(onB) ? true : undefined),
        "B's snapshot with it",
      )
      stale = true
      subscriberOnB.close()
      await eventually(async () => ((await statesOnB()).length === 2 ? true : undefined), "B's event stored")
      expect(await statesOnB()).toEqual([true, false])
      expect(await reconciled(a.hub, a.engine, log)).toEqual([])
    },
  )

  it.runIf(runs)(
    "a node publishes no subscription event before its first snapshot, which no list would reflect",
    async () => {
      const on = store()
      const log = `hub-${randomBytes(3).toString("hex")}`
      const a = await node(on, log, "node-a")
      let stale = true
      const b = await node(
        on,
        log,
        "node-b",
        staleWhile(() => stale),
      )
      const onB = "https://example.com/on-b"
      const statesOnB = async () =>
        (await events(b.engine, log)).filter((event) => event.match === onB).map((event) => event.active)
      await subscriber(b.hub, onB)
      // An upkeep round of B's (a third of the lease) without a snapshot: no event either (for
      // up to a lease: node-subscriptions-gate.test.ts).
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS / 2))
      expect(await statesOnB()).toEqual([])
      expect(await reconciled(a.hub, a.engine, log)).toEqual([])
      stale = false
      await eventually(async () => ((await statesOnB()).length === 1 ? true : undefined), "B's event stored")
      expect(await reconciled(a.hub, a.engine, log)).toEqual([onB])
    },
  )

  it.runIf(runs)(
    "a node whose lease lapsed stays listed until its subscriptions' inactive events are stored",
    async () => {
      const on = store()
      const log = `hub-${randomBytes(3).toString("hex")}`
      // A never sweeps (it thinks its lease lapsed): nobody ends B's subscriptions.
      const a = await node(
        on,
        log,
        "node-a",
        staleWhile(() => true),
      )
      const b = await node(on, log, "node-b")
      const onB = "https://example.com/on-b"
      await subscriber(b.hub, onB)
      await eventually(async () => ((await matches(a.hub)).includes(onB) ? true : undefined), "B's snapshot")
      // B's lease lapses (a node cut off from the engine for a while, which may come back).
      await b.lease.release()
      expect(await a.engine.liveNodes()).not.toContain("node-b")
      expect(await matches(a.hub)).toEqual([onB])
      expect(await reconciled(a.hub, a.engine, log)).toEqual([onB])
    },
  )

  it.runIf(runs)("a node with no change stamps its snapshot again: the cursor keeps up", async () => {
    const on = store()
    const log = `hub-${randomBytes(3).toString("hex")}`
    const a = await node(on, log, "node-a")
    const b = await node(on, log, "node-b")
    await eventually(
      async () => ((await b.engine.head(`${nodeLogPrefix(log)}node-b`)) ? true : undefined),
      "B's first snapshot",
    )
    const bearer = await token(a.hub.hubUrl, { publish: ["*"] })
    for (const id of ["u1", "u2", "u3"]) {
      const published = await publish(a.hub.hubUrl, { topic: "https://example.com/t", data: id, id }, bearer)
      expect(published.status).toBe(200)
    }
    // B's snapshot, older than them, is stamped again within a third of the lease.
    await eventually(
      async () => ((await listed(a.hub)).cursor === "u3" ? true : undefined),
      "the cursor at u3",
    )
  })

  it.runIf(runs)(
    "the cursor is the oldest snapshot's stamp; earliest for one stamped in another incarnation or not at all",
    async () => {
      const on = store()
      const log = `hub-${randomBytes(3).toString("hex")}`
      const writer = opened(on)
      // A never sweeps (it thinks its lease lapsed): the ghost's snapshot stays.
      const a = await node(
        on,
        log,
        "node-a",
        staleWhile(() => true),
      )
      const bearer = await token(a.hub.hubUrl, { publish: ["*"] })
      for (const id of ["u1", "u2"]) {
        const published = await publish(
          a.hub.hubUrl,
          { topic: "https://example.com/t", data: id, id },
          bearer,
        )
        expect(published.status).toBe(200)
      }
      const [u2, u1] = await openUpdateLog(writer, log).recent(2)
      const snapshot = (key?: string) =>
        writer.append(`${nodeLogPrefix(log)}ghost`, [{ data: "[]", ...(key === undefined ? {} : { key }) }], {
          create: { owner: "ghost", retention: { maxEntries: 1 } },
          fence: { owner: "ghost" },
        })
      const cursor = async () => (await listed(a.hub)).cursor
      expect(await cursor()).toBe("u2")
      await snapshot(`${u1?.position} u1`)
      expect(await cursor()).toBe("u1")
      // Stamped again, in the companion log: the newer stamp counts.
      const restampLog = `${nodeLogPrefix(log)}ghost stamp`
      const restamp = (key: string) =>
        writer.append(restampLog, [{ data: "", key }], {
          create: { owner: "ghost", retention: { maxEntries: 1 } },
          fence: { owner: "ghost" },
        })
      await restamp(`${u2?.position} u2`)
      expect(await cursor()).toBe("u2")
      // An older re-stamp than the snapshot's stamp (the snapshot was written since) does not.
      await snapshot(`${u2?.position} u2`)
      await restamp(`${u1?.position} u1`)
      expect(await cursor()).toBe("u2")
      await writer.delete(restampLog)
      // An older Herald's snapshot, without a stamp.
      await snapshot()
      expect(await cursor()).toBe("earliest")
      // Stamped in an incarnation of the hub log that the current one does not continue.
      await snapshot("zzzzzzzz_0000000000000001 gone")
      expect(await cursor()).toBe("earliest")
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
      // Its re-stamp goes with its snapshot.
      await writer.append(`${ghostLog} stamp`, [{ data: "", key: "x" }], {
        create: { owner: "ghost", retention: { maxEntries: 1 } },
        fence: { owner: "ghost" },
      })
      // Two live nodes race to end them: the fence lets one do it.
      const a = await node(on, log, "node-a")
      const b = await node(on, log, "node-b")
      await subscriber(a.hub, "https://example.com/alive")
      const inactive = await eventually(async () => {
        const found = (await events(writer, log)).filter((event) => event.subscriber === "urn:ghost")
        const gone =
          (await writer.head(ghostLog)) === undefined &&
          (await writer.head(`${ghostLog} stamp`)) === undefined
        return found.length >= 2 && gone ? found : undefined
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
