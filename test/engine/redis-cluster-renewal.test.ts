// When a Cluster's subscriber connections count as renewed (followers re-read): with a stand-in for
// ioredis 5's Cluster and the private subscriber group it keeps, so that the order of its events
// while a master is away can be played exactly. A real Cluster cannot be made to fail over one
// master while another stays away within a test's time.

import { EventEmitter } from "node:events"
import { expect, it } from "vitest"
import { RedisLink } from "../../src/engine/redis-client.js"
import { recordingLogger } from "../server/helpers.js"

function standInCluster() {
  const subscribers = new Map<string, { getInstance: () => unknown }>()
  let unhealthy = false
  const client = Object.assign(new EventEmitter(), {
    status: "ready",
    isCluster: true,
    shardedSubscribers: { hasUnhealthySubscribers: () => unhealthy, shardedSubscribers: subscribers },
  })
  const connection = (host: string, status = "ready") => ({
    status,
    options: { host, port: 6379, connectionName: "ioredis-cluster(ssubscriber)" },
    ping: () => Promise.resolve("PONG"),
  })
  const subscriber = (name: string, host: string, status = "ready") => {
    const made = connection(host, status)
    subscribers.set(name, { getInstance: () => made })
  }
  return {
    client,
    subscribers,
    subscriber,
    connection,
    setUnhealthy: (value: boolean) => {
      unhealthy = value
    },
  }
}

it("counts a subscriber connection made at a new address as renewed while another master is still away, and not a failed attempt", () => {
  const cluster = standInCluster()
  const link = new RedisLink(cluster.client as never, 1000, {
    role: "subscriptions",
    address: "seeds",
    names: {} as never,
    logger: recordingLogger(),
  })
  let renewed = 0
  link.onSubscribersRenewed(() => renewed++)
  cluster.subscriber("a", "10.0.0.1")
  cluster.subscriber("b", "10.0.0.2")
  cluster.subscriber("c", "10.0.0.3")
  cluster.client.emit("ready")
  cluster.client.emit("subscribersReady")
  renewed = 0
  // Master C goes away; ioredis tries to replace its subscriber, failing, again and again.
  cluster.client.emit("-node", cluster.connection("10.0.0.3"))
  cluster.setUnhealthy(true)
  cluster.subscriber("c", "10.0.0.3", "end")
  cluster.client.emit("subscribersReady")
  cluster.client.emit("subscribersReady")
  expect(renewed).toBe(0)
  // Meanwhile A fails over to its replica at another address: ioredis makes a subscriber there and
  // asks it for A's channels; what was appended in between must be read again.
  cluster.client.emit("-node", cluster.connection("10.0.0.1"))
  cluster.subscribers.delete("a")
  cluster.subscriber("a2", "10.0.0.11")
  cluster.client.emit("subscribersReady")
  expect(renewed).toBe(1)
  // C back: renewed once more.
  cluster.setUnhealthy(false)
  cluster.subscriber("c", "10.0.0.3")
  cluster.client.emit("subscribersReady")
  expect(renewed).toBe(2)
})
