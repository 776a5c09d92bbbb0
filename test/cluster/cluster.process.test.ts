// Three `herald serve` processes on one Redis behind a real nginx, set up as docs/deployment.md
// says (issue 11, section 3): one hub across nodes, a node killed with `kill -9`, Redis killed
// and restarted mid-run, Redis back empty. Subscribers are Herald's own EventSource; every
// assertion is a count or a sequence, never a time.
import { readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { useCliProcesses } from "../cli/cli-helpers.js"
import { waitFor } from "../engine/redis-servers.js"
import { token } from "../hub/hub-helpers.js"
import {
  CLUSTER_START_MS,
  type Cluster,
  clusterUnavailable,
  roundRobin,
  startCluster,
  totalConnections,
} from "./cluster.js"
import { Publisher } from "./publisher.js"
import { hasReceived, type Subscriber, subscribe, waitForAll } from "./subscribers.js"

useCliProcesses()

const unavailable = await clusterUnavailable()

/** Bound of every wait for deliveries: generous, for a loaded 2-core machine. */
const DELIVERY_MS = 45_000

/** A test's own bound: its waits fail first, saying what they waited for. */
const TEST_MS = 3 * DELIVERY_MS

describe.skipIf(unavailable !== undefined)("three nodes on one Redis behind nginx", () => {
  let cluster: Cluster
  let publisherToken: string
  let subscriberToken: string
  const subscribers: Subscriber[] = []

  beforeAll(async () => {
    // A short retry hint: dropped subscribers come back after 300 ms instead of 3 s.
    cluster = await startCluster({ nodeArgs: ["--retry", "300ms"] })
    const audience = cluster.env.HERALD_HUB_URL as string
    const secret = cluster.env.HERALD_JWT_KEY as string
    publisherToken = await token(audience, { publish: ["*"], secret })
    subscriberToken = await token(audience, { subscribe: ["*"], secret })
  }, CLUSTER_START_MS)
  afterEach(async () => {
    for (const subscriber of subscribers.splice(0)) subscriber.close()
    // Each test starts with three nodes and a Redis, whatever the one before it left.
    if (cluster === undefined) return
    for (const node of cluster.nodes) if (!node.running) await node.restart()
  }, CLUSTER_START_MS)
  afterAll(() => cluster?.stop())

  /** Subscribes to `topic` at `hubUrl`; closed after the test. */
  const subscriber = (hubUrl: string, topic: string, lastEventId?: string) => {
    const opened = subscribe(hubUrl, topic, subscriberToken, lastEventId === undefined ? {} : { lastEventId })
    subscribers.push(opened)
    return opened
  }

  it(
    "a publish on n1 reaches subscribers of n2 and n3 and through nginx; a cursor from n1 resumes on n3",
    async () => {
      const topic = "https://example.com/cluster/fan-out"
      const [n1, n2, n3] = cluster.nodes
      const onN1 = subscriber(n1.hubUrl, topic)
      const everywhere = [
        onN1,
        subscriber(n2.hubUrl, topic),
        subscriber(n3.hubUrl, topic),
        subscriber(cluster.hubUrl, topic),
      ]
      // Open means following: a node answers a subscribe once its follower watches the log.
      await waitForAll(everywhere, (each) => each.open, "are open", DELIVERY_MS)
      const publisher = new Publisher(publisherToken)
      for (let i = 1; i <= 5; i++) await publisher.publish(n1.hubUrl, topic, `u${i}`)
      await waitForAll(everywhere, (each) => hasReceived(each, "u5"), "received u5", DELIVERY_MS)
      for (const each of everywhere) expect(each.received).toEqual(publisher.acked)

      // The id of u2, as n1 sent it, is a cursor on n3: u3… follow, replayed then live, once each.
      const cursor = onN1.received[1]?.id as string
      for (let i = 6; i <= 8; i++) await publisher.publish(n2.hubUrl, topic, `u${i}`)
      const resumed = subscriber(n3.hubUrl, topic, cursor)
      await waitForAll([resumed], (each) => hasReceived(each, "u8"), "received u8", DELIVERY_MS)
      await publisher.publish(cluster.hubUrl, topic, "u9")
      await waitForAll([resumed], (each) => hasReceived(each, "u9"), "received u9", DELIVERY_MS)
      expect(resumed.received).toEqual(publisher.acked.slice(2))
      expect(resumed.tooOld).toBe(0)
      expect(resumed.opens).toBe(1)
    },
    TEST_MS,
  )

  it(
    "kill -9 of a node mid-stream: its subscribers come back through nginx to the others and get every update once, in order",
    async () => {
      const topic = "https://example.com/cluster/kill"
      const crowd = Array.from({ length: 20 }, () => subscriber(cluster.hubUrl, topic))
      await waitForAll(crowd, (each) => each.open, "are open", DELIVERY_MS)
      const [victim, ...survivors] = cluster.nodes
      // Once the nodes have seen the earlier tests' streams close, the cluster holds these 20,
      // spread by nginx over the three nodes: the victim holds some of them.
      await waitFor(
        async () => (await totalConnections(cluster)) === crowd.length,
        "the nodes to hold exactly the 20 streams",
        DELIVERY_MS,
      )
      const held = await victim.connections()
      expect(held).toBeGreaterThan(0)

      const publisher = new Publisher(publisherToken)
      for (let i = 1; i <= 10; i++) {
        await publisher.publish(roundRobin(cluster.nodes, i).hubUrl, topic, `u${i}`)
      }
      await victim.kill()
      // Publishes go on through the survivors while the victim's subscribers reconnect.
      for (let i = 11; i <= 30; i++) await publisher.publish(roundRobin(survivors, i).hubUrl, topic, `u${i}`)
      await publisher.publish(cluster.hubUrl, topic, "end")
      await waitForAll(crowd, (each) => hasReceived(each, "end"), "received the last update", DELIVERY_MS)

      for (const each of crowd) {
        expect(each.received).toEqual(publisher.acked)
        expect(each.tooOld).toBe(0)
      }
      // The victim's subscribers, and only they, opened a second stream.
      const reconnected = crowd.filter((each) => each.opens > 1).length
      expect(reconnected).toBe(held)
      expect(crowd.every((each) => each.opens <= 2)).toBe(true)
      expect([...publisher.answers.keys()]).toEqual([200])
    },
    TEST_MS,
  )

  it(
    "Redis killed and restarted mid-run: publishers get 503s meanwhile, never a false 200; subscribers get every acknowledged update once, in order",
    async () => {
      const topic = "https://example.com/cluster/redis-restart"
      const crowd = Array.from({ length: 20 }, () => subscriber(cluster.hubUrl, topic))
      await waitForAll(crowd, (each) => each.open, "are open", DELIVERY_MS)
      const publisher = new Publisher(publisherToken)
      const publishing = (async () => {
        for (let i = 1; i <= 40; i++)
          await publisher.publish(roundRobin(cluster.nodes, i).hubUrl, topic, `u${i}`)
        await publisher.publish(cluster.hubUrl, topic, "end")
      })()
      const outage = (async () => {
        await waitFor(() => publisher.acked.length >= 10, "10 acknowledged publishes", DELIVERY_MS)
        // SIGKILL: no shutdown; the append-only file (fsync always) holds every acknowledged update.
        await cluster.redis.stop("SIGKILL")
        await waitFor(() => publisher.count(503) >= 2, "two publishes answered 503", DELIVERY_MS)
        await cluster.redis.start()
      })()
      await Promise.all([publishing, outage])
      await waitForAll(crowd, (each) => hasReceived(each, "end"), "received the last update", DELIVERY_MS)

      expect(publisher.count(503)).toBeGreaterThanOrEqual(2)
      // Only 200s and 503s: no 500, no dropped request.
      expect([...publisher.answers.keys()].sort()).toEqual([200, 503])
      const acked = new Set(publisher.acked.map((ack) => ack.id))
      for (const each of crowd) {
        // Every acknowledged update, once, in the order acknowledged.
        expect(each.received.filter((event) => acked.has(event.id))).toEqual(publisher.acked)
        // Anything else is the stored copy of an attempt answered 503 (the reply was lost with
        // Redis): never an update nobody published, never an event twice.
        const others = each.received.filter((event) => !acked.has(event.id))
        expect(others.every((event) => publisher.unsure.has(event.data))).toBe(true)
        expect(new Set(each.received.map((event) => event.id)).size).toBe(each.received.length)
        expect(each.received).toEqual(crowd[0]?.received)
        expect(each.tooOld).toBe(0)
      }
    },
    TEST_MS,
  )

  it(
    "Redis back empty: a new epoch — every subscriber is told herald-id-too-old, then gets the new updates once; no old id stands for a new update",
    async () => {
      const topic = "https://example.com/cluster/redis-empty"
      const crowd = Array.from({ length: 10 }, () => subscriber(cluster.hubUrl, topic))
      await waitForAll(crowd, (each) => each.open, "are open", DELIVERY_MS)
      const before = new Publisher(publisherToken)
      for (let i = 1; i <= 5; i++) await before.publish(roundRobin(cluster.nodes, i).hubUrl, topic, `u${i}`)
      await waitForAll(crowd, (each) => hasReceived(each, "u5"), "received u5", DELIVERY_MS)

      await cluster.redis.stop("SIGKILL")
      for (const file of readdirSync(cluster.redis.dir))
        rmSync(join(cluster.redis.dir, file), { recursive: true })
      await cluster.redis.start()
      // Each node's feed finds the log gone: its followers end, and their clients, resuming from
      // u5's id, are told the hub no longer holds it.
      await waitForAll(
        crowd,
        (each) => each.tooOld === 1 && each.open,
        "were told herald-id-too-old",
        DELIVERY_MS,
      )

      const after = new Publisher(publisherToken)
      for (let i = 6; i <= 8; i++) await after.publish(roundRobin(cluster.nodes, i).hubUrl, topic, `u${i}`)
      await waitForAll(crowd, (each) => hasReceived(each, "u8"), "received u8", DELIVERY_MS)
      for (const each of crowd) {
        expect(each.received).toEqual([...before.acked, ...after.acked])
        expect(each.tooOld).toBe(1)
      }
    },
    TEST_MS,
  )
})
