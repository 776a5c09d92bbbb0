// A node's snapshot log of its subscriptions (node-subscriptions.ts) that moves to a later epoch in
// a Redis failover is still the node's own: its subscriptions are not announced active again, as
// they are after a real takeover (another node ended them). A master and its replica of the
// test's own; the node's engine moves from the one to the other, as a failover would move it.
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import type { NodeLeaseView } from "../../src/engine/node-lease.js"
import { parsePosition } from "../../src/engine/position.js"
import { createRedisEngine } from "../../src/engine/redis.js"
import {
  createNodeSubscriptions,
  type NodeSubscriptions,
  nodeLogPrefix,
} from "../../src/hub/node-subscriptions.js"
import type { SubscriptionDocument } from "../../src/hub/subscriptions.js"
import {
  type RedisServer,
  redisServerInstalled,
  replicaCaughtUp,
  STRICT,
  startRedis,
  waitFor,
} from "../engine/redis-servers.js"
import { recordingLogger } from "../server/helpers.js"

const installed = await redisServerInstalled()

/** An engine whose calls go to `target.current`, which the test moves (a failover's reconnect). */
function movableEngine(target: { current: Engine }): Engine {
  return new Proxy({} as Engine, {
    get: (_, name) => {
      const value = Reflect.get(target.current, name)
      return typeof value === "function" ? value.bind(target.current) : value
    },
  })
}

const subscription = (id: string): SubscriptionDocument => ({
  id: `/.well-known/mercure/subscriptions/${id}`,
  type: "subscription",
  match_type: "exact",
  match: `https://example.com/${id}`,
  subscriber: `urn:uuid:${id}`,
  active: true,
})

describe.skipIf(!installed && !STRICT)(
  "subscriptions across nodes: a replication fork of a node's own log",
  () => {
    let master: RedisServer
    let replica: RedisServer
    const engines: Engine[] = []
    let directory: NodeSubscriptions | undefined
    const keyPrefix = `herald-test-node-fork-${process.pid}`

    beforeAll(async () => {
      master = await startRedis()
      replica = await startRedis({ args: ["--replicaof", "127.0.0.1", String(master.port)] })
    }, 30_000)

    afterAll(async () => {
      await directory?.close()
      for (const engine of engines) await engine.close()
      await master?.destroy()
      await replica?.destroy()
    })

    it("has redis-server installed (HERALD_TEST_STRICT=1)", () => {
      expect(installed).toBe(true)
    })

    it("announces nothing again when the log moved to an epoch that continues its own", async () => {
      const onMaster = createRedisEngine({ url: master.url, keyPrefix, logger: recordingLogger() })
      engines.push(onMaster)
      const target = { current: onMaster }
      const node: NodeLeaseView = { node: "node-a", ttlMs: 60_000, heldForMs: () => 60_000 }
      const documents = [subscription("one"), subscription("two")]
      const announced: SubscriptionDocument[][] = []
      directory = createNodeSubscriptions({
        engine: movableEngine(target),
        hubLog: "hub",
        node,
        current: () => documents,
        announce: async (each) => {
          announced.push([...each])
        },
        settled: async () => {},
        logger: recordingLogger(),
      })
      const ownLog = `${nodeLogPrefix("hub")}node-a`

      await directory.maintain()
      const before = await onMaster.head(ownLog)
      expect(before).toBeDefined()
      await replicaCaughtUp(master.url, replica.url)

      // The failover: the replica is promoted, and the node's engine now reaches it.
      const promote = new Redis(replica.url)
      await promote.replicaof("NO", "ONE")
      promote.disconnect()
      const onReplica = createRedisEngine({ url: replica.url, keyPrefix, logger: recordingLogger() })
      engines.push(onReplica)
      target.current = onReplica
      await waitFor(
        async () => (await onReplica.head(ownLog))?.epoch !== before?.epoch,
        "the log to move to a later epoch",
      )
      const after = await onReplica.head(ownLog)
      expect(after?.formerEpochs?.map((former) => former.epoch)).toEqual([before?.epoch])

      // A change, then the upkeep rounds: the snapshot is written again in the later epoch.
      directory.changed()
      await directory.maintain()
      await directory.maintain()
      const rewritten = parsePosition((await onReplica.head(ownLog))?.tail as string)
      expect(rewritten?.epoch).toBe(after?.epoch)
      expect(rewritten?.seq).toBeGreaterThan(parsePosition(after?.tail as string)?.seq as number)
      expect(announced).toEqual([])
    }, 30_000)
  },
)
