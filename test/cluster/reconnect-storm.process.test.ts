// A reconnect storm (issue 11, section 3): 1,000 subscribers of one node, the node killed with
// `kill -9`, all of them back at once through nginx with their cursors. Counts only: every
// subscriber ends with every update once, in order; no timing is asserted.
import { execFileSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { useCliProcesses } from "../cli/cli-helpers.js"
import { token } from "../hub/hub-helpers.js"
import { CLUSTER_START_MS, type Cluster, clusterUnavailable, roundRobin, startCluster } from "./cluster.js"
import { Publisher } from "./publisher.js"
import { hasReceived, type Subscriber, subscribe, waitForAll } from "./subscribers.js"

useCliProcesses()

const unavailable = await clusterUnavailable()

const SUBSCRIBERS = 1000

/** Bound of each wait: the storm is 1,000 resumes on a loaded 2-core machine. */
const STORM_MS = 60_000

/** The test's own bound: its waits fail first, saying what they waited for. */
const TEST_MS = 3 * STORM_MS

describe.skipIf(unavailable !== undefined)("a reconnect storm", () => {
  let cluster: Cluster
  let crowd: Subscriber[] = []

  beforeAll(async () => {
    // The test process holds a socket per subscriber, nginx two per stream, the nodes one each.
    const openFiles = Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }))
    if (openFiles < SUBSCRIBERS * 3) {
      throw new Error(`the open-files limit is ${openFiles}; the storm needs ${SUBSCRIBERS * 3} (ulimit -n)`)
    }
    cluster = await startCluster({
      // Every test client is 127.0.0.1: lift the per-address limit above the crowd. The retry
      // hint has no jitter added by the client: the crowd comes back together.
      nodeArgs: ["--retry", "500ms", "--max-connections-per-address", String(SUBSCRIBERS * 2)],
      // Each stream through nginx holds two connections.
      workerConnections: SUBSCRIBERS * 3,
    })
  }, CLUSTER_START_MS)
  afterAll(async () => {
    for (const subscriber of crowd) subscriber.close()
    await cluster?.stop()
  })

  it(
    "1,000 subscribers of a killed node come back at once through nginx and each gets every update once, in order",
    async () => {
      const topic = "https://example.com/cluster/storm"
      const audience = cluster.env.HERALD_HUB_URL as string
      const secret = cluster.env.HERALD_JWT_KEY as string
      const subscriberToken = await token(audience, { subscribe: ["*"], secret })
      const publisher = new Publisher(await token(audience, { publish: ["*"], secret }))
      const [victim, ...survivors] = cluster.nodes

      // Every subscriber's first stream is on the victim, straight; reconnections go through nginx.
      crowd = Array.from({ length: SUBSCRIBERS }, () =>
        subscribe(cluster.hubUrl, topic, subscriberToken, { firstUrl: victim.hubUrl }),
      )
      await waitForAll(crowd, (each) => each.open, "are open", STORM_MS)
      expect(await victim.connections()).toBe(SUBSCRIBERS)
      for (let i = 1; i <= 3; i++) await publisher.publish(roundRobin(survivors, i).hubUrl, topic, `u${i}`)
      // Each has a cursor on the victim: the id of u3.
      await waitForAll(crowd, (each) => hasReceived(each, "u3"), "received u3", STORM_MS)

      await victim.kill()
      for (let i = 4; i <= 13; i++) await publisher.publish(roundRobin(survivors, i).hubUrl, topic, `u${i}`)
      await publisher.publish(cluster.hubUrl, topic, "end")
      await waitForAll(crowd, (each) => hasReceived(each, "end"), "received the last update", STORM_MS)

      const wrong = crowd.filter(
        (each) =>
          each.tooOld > 0 ||
          // The victim's stream, then one through nginx (or more, if told to come back later).
          each.opens < 2 ||
          each.received.length !== publisher.acked.length ||
          each.received.some((event, i) => event.id !== publisher.acked[i]?.id),
      )
      const first = wrong[0]
      const sample = first && { opens: first.opens, tooOld: first.tooOld, received: first.received }
      expect(wrong.length, JSON.stringify(sample)).toBe(0)
      expect(crowd[0]?.received).toEqual(publisher.acked)
      // nginx spread the crowd over both survivors.
      const [onOne = 0, onOther = 0] = await Promise.all(survivors.map((node) => node.connections()))
      expect(onOne).toBeGreaterThan(0)
      expect(onOther).toBeGreaterThan(0)
      expect(onOne + onOther).toBe(SUBSCRIBERS)
    },
    TEST_MS,
  )
})
