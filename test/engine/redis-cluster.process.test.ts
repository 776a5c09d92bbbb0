// The redis engine on a real 3-master Redis Cluster started by this test: the shared engine
// suite, and logs spreading over the masters (one slot per log, many slots over many logs).
import { randomBytes } from "node:crypto"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import type { HealthCapability } from "../../src/engine/health.js"
import { createRedisEngine, openRedisEngine, RedisSetupError } from "../../src/engine/redis.js"
import { logKeys } from "../../src/engine/redis-keys.js"
import {
  type RedisCluster,
  type RedisServer,
  redisServerInstalled,
  STRICT,
  startCluster,
  waitFor,
} from "./redis-servers.js"
import { appended, describeEngine, readAll } from "./suite.js"

const RUN = `herald-cluster-${randomBytes(4).toString("hex")}`
const quiet = { error() {}, warn() {}, info() {}, debug() {} }
const installed = await redisServerInstalled()

describe.skipIf(!installed && !STRICT)("redis engine on a 3-master Cluster", () => {
  let cluster: RedisCluster | undefined
  let engines = 0
  beforeAll(async () => {
    cluster = await startCluster(3)
  })
  afterAll(async () => {
    await cluster?.destroy()
  })

  function engineOnCluster(options: object = {}): Engine {
    if (cluster === undefined) throw new Error("the cluster did not start")
    return createRedisEngine({ nodes: cluster.nodes, keyPrefix: `${RUN}-${++engines}`, ...options })
  }

  it("opens on its nodes, and refuses one of them given as a lone Redis, whose other slots would answer MOVED", async () => {
    if (cluster === undefined) throw new Error("the cluster did not start")
    const engine = await openRedisEngine({ nodes: cluster.nodes, keyPrefix: `${RUN}-${++engines}` })
    await engine.close()
    const node = cluster.nodes[0] as { host: string; port: number }
    const opening = openRedisEngine({ url: `redis://${node.host}:${node.port}`, keyPrefix: RUN })
    await expect(opening).rejects.toBeInstanceOf(RedisSetupError)
    await expect(opening).rejects.toThrow(
      `Redis at ${node.host}:${node.port} is a Cluster node: ask for a Cluster with the \`nodes\` option`,
    )
  })

  it("spreads logs over every master, each log's keys in one slot", async () => {
    const engine = engineOnCluster()
    try {
      const logs = Array.from({ length: 30 }, (_, i) => `spread/gen-${i}`)
      for (const log of logs) {
        const result = await engine.append(log, [{ data: "x", key: "k" }], { create: {} })
        expect(result.status).toBe("appended")
        await engine.append(log, [{ data: "y" }], { producer: { id: "p", epoch: 0, seq: 0 } })
      }
      const masters = (cluster as RedisCluster).servers.map((server) => new Redis(server.url))
      try {
        const slotsUsed = new Set<number>()
        for (const log of logs) {
          const keys = logKeys(`${RUN}-${engines}`, log)
          const slots = new Set(
            await Promise.all(
              Object.values(keys).map(
                async (key) => (await masters[0]?.call("CLUSTER", "KEYSLOT", key)) as number,
              ),
            ),
          )
          expect(slots.size, log).toBe(1)
          slotsUsed.add([...slots][0] as number)
        }
        expect(slotsUsed.size).toBeGreaterThan(20)
        const keysPerMaster = await Promise.all(masters.map((master) => master.dbsize()))
        for (const count of keysPerMaster) expect(count).toBeGreaterThan(0)
      } finally {
        for (const master of masters) master.disconnect()
      }
    } finally {
      await engine.close()
    }
  })

  it("keeps a log whose name chooses a hash tag in the slot of the log of that name", async () => {
    const engine = engineOnCluster()
    const prefix = `${RUN}-${engines}`
    const master = new Redis((cluster as RedisCluster).servers[0]?.url as string)
    try {
      const family = [
        "streams:/root",
        "streams-fork:{streams:/root} /fork-1",
        "streams-fork:{streams:/root} /fork-2",
      ]
      const slots = new Set<number>()
      for (const log of family) {
        appended(await engine.append(log, [{ data: log, key: "k" }], { create: {} }))
        for (const key of Object.values(logKeys(prefix, log))) {
          slots.add((await master.call("CLUSTER", "KEYSLOT", key)) as number)
        }
      }
      expect(slots.size).toBe(1)
      for (const log of family) {
        expect((await readAll(engine, log)).map((entry) => entry.data)).toEqual([log])
      }
    } finally {
      master.disconnect()
      await engine.close()
    }
  })

  describeEngine("redis cluster", (options) => engineOnCluster(options), {
    largeHistory: 20_000,
    propertyRuns: 10,
  })

  // The create script says so on the log's shard channel (SPUBLISH, in the log's slot): a watch on
  // another node looks at once, not at its next look 5 s on, when the log is gone already.
  it("tells the watchers on one node of a log another node made by create, and that expired", async () => {
    const engine = engineOnCluster()
    const other = createRedisEngine({
      nodes: (cluster as RedisCluster).nodes,
      keyPrefix: `${RUN}-${engines}`,
    })
    try {
      let looks = 0
      const head = engine.head.bind(engine)
      engine.head = (log: string) => head(log).finally(() => looks++)
      let lost = 0
      await engine.watch("made-elsewhere", { onAppend() {}, onLost: () => lost++ })
      await waitFor(() => looks === 1, "the watch's first look, before the log is made")
      expect((await other.create("made-elsewhere", { expiresAt: Date.now() + 400 })).status).toBe("created")
      await waitFor(() => lost > 0, "onLost after the log expired", 3000)
    } finally {
      await other.close()
      await engine.close()
    }
  })

  it("tells a lost subscriptions' connection from a lost node, says when it is replaced, and its watchers re-read", async () => {
    if (cluster === undefined) throw new Error("the cluster did not start")
    const lines: string[] = []
    const at = (level: string) => (_fields: object, message: string) => lines.push(`${level} ${message}`)
    const logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") }
    const engine = engineOnCluster({ logger })
    const admins = cluster.servers.map((server) => new Redis(server.url, { maxRetriesPerRequest: 0 }))
    try {
      let lost = 0
      await engine.watch("subscriber-lost", { onAppend() {}, onLost: () => lost++ })
      // Every master drops its pub/sub clients: the engine's subscriber connections end, the nodes serve on.
      for (const admin of admins) await admin.client("KILL", "TYPE", "pubsub")
      const lostLine =
        /^warn redis engine: lost the subscriptions' connection to the Cluster's node at 127\.0\.0\.1:\d+; every follower on this node re-reads once it is replaced$/
      await waitFor(() => lines.some((line) => lostLine.test(line)), "the subscriber's loss line")
      await waitFor(
        () =>
          lines.some((line) =>
            /^info redis engine: the subscriptions' connections? to the Cluster's nodes? at .+ (is|are) replaced after \d+\.\d s$/.test(
              line,
            ),
          ),
        "the subscriber's replacement line",
      )
      await waitFor(() => lost > 0, "onLost after the resubscribe")
      expect(lines.filter((line) => /the logs in its slots are refused/.test(line))).toEqual([])
    } finally {
      for (const admin of admins) admin.disconnect()
      await engine.close()
    }
  })

  it("asks each watched channel once of a replaced subscriptions' connection, and never one it let go", async () => {
    if (cluster === undefined) throw new Error("the cluster did not start")
    const engine = engineOnCluster({ logger: quiet })
    const prefix = `${RUN}-${engines}`
    const admins = cluster.servers.map((server) => new Redis(server.url, { maxRetriesPerRequest: 0 }))
    const monitors: Redis[] = []
    const channel = (log: string) => logKeys(prefix, log).channel
    /** How many connections each master has subscribed to `log`'s channel. */
    const subscribers = (log: string) =>
      Promise.all(
        admins.map(async (admin) => {
          const [, count] = (await admin.call("PUBSUB", "SHARDNUMSUB", channel(log))) as [string, number]
          return count
        }),
      )
    try {
      const logs = Array.from({ length: 6 }, (_, i) => `resubscribe/log-${i}`)
      const heard = new Map<string, number>()
      const lost = new Map<string, number>()
      const stops: (() => void)[] = []
      for (const log of logs) {
        const sink = {
          onAppend: () => heard.set(log, (heard.get(log) ?? 0) + 1),
          onLost: () => lost.set(log, (lost.get(log) ?? 0) + 1),
        }
        stops.push(await engine.watch(log, sink))
      }
      const [letGo, ...held] = logs as [string, ...string[]]
      stops[0]?.()
      const holder = admins[(await subscribers(held[0] as string)).indexOf(1)] as Redis
      // What every master is asked to SSUBSCRIBE: ioredis re-asks its own record of the channels.
      const asked: string[][] = []
      for (const server of cluster.servers) {
        const monitor = await new Redis(server.url).monitor()
        monitor.on("monitor", (_time: string, args: string[]) => {
          if (args[0]?.toLowerCase() === "ssubscribe") asked.push(args.slice(1))
        })
        monitors.push(monitor)
      }
      for (let round = 1; round <= 3; round++) {
        // One master drops its pub/sub clients: its subscriptions' connection is replaced, and
        // ioredis asks every subscriber connection again for what it recorded of its channels.
        await holder.client("KILL", "TYPE", "pubsub")
        await waitFor(
          () => held.every((log) => (lost.get(log) ?? 0) >= round),
          `every watcher told of replacement ${round}`,
        )
      }
      for (const log of held) await engine.append(log, [{ data: "after" }], { create: {} })
      await waitFor(() => held.every((log) => (heard.get(log) ?? 0) > 0), "the appends after, live")
      expect(asked.filter((channels) => new Set(channels).size < channels.length)).toEqual([])
      expect(asked.flat()).not.toContain(channel(letGo))
      const sum = (counts: number[]) => counts.reduce((total, count) => total + count, 0)
      expect(await Promise.all(logs.map(async (log) => sum(await subscribers(log))))).toEqual([
        0, 1, 1, 1, 1, 1,
      ])
    } finally {
      for (const client of [...monitors, ...admins]) client.disconnect()
      await engine.close()
    }
  })

  it("takes a subscriptions' connection gone silent without closing for lost: replaced, its watchers re-read, and hear appends after", async () => {
    // A Cluster of its own, each master behind a proxy that can silence the connections through it.
    const silent = await startCluster(3, { proxied: true })
    const lines: string[] = []
    const at = (level: string) => (_fields: object, message: string) => lines.push(`${level} ${message}`)
    const logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") }
    const keyPrefix = `${RUN}-${++engines}`
    const engine = createRedisEngine({ nodes: silent.nodes, keyPrefix, socketTimeoutMs: 500, logger })
    const writer = createRedisEngine({ nodes: silent.nodes, keyPrefix, logger: quiet })
    try {
      const log = "half-open/log"
      await writer.create(log)
      const batches: string[][] = []
      let lost = 0
      await engine.watch(log, {
        onAppend: (entries) => batches.push(entries.map((entry) => entry.data)),
        onLost: () => lost++,
      })
      await writer.append(log, [{ data: "before" }])
      await waitFor(() => batches.length === 1, "the append before")
      // The subscriptions' connections hear nothing now, and owe nothing: only a PING can tell.
      for (const proxy of silent.proxies) proxy.blackHole((sent) => sent.includes("ssubscriber"))
      await writer.append(log, [{ data: "unheard" }])
      await waitFor(() => lost > 0, "onLost after the subscriptions' connection went silent", 5000)
      expect(lines).toContainEqual(
        expect.stringMatching(
          /^info redis engine: the subscriptions' connections? to the Cluster's nodes? at .+ (is|are) replaced after \d+\.\d s$/,
        ),
      )
      const heard = batches.length
      await writer.append(log, [{ data: "after" }])
      await waitFor(() => batches.length > heard, "a live batch after the replacement")
      expect(batches.at(-1)).toEqual(["after"])
    } finally {
      await engine.close()
      await writer.close()
      await silent.destroy()
    }
  })

  it("says a master's subscriptions' connection lost once while the master is away, and has its watchers re-read once it is back or another is replaced, not at each of ioredis's attempts", async () => {
    const own = await startCluster(3)
    const lines: string[] = []
    const at = (level: string) => (_fields: object, message: string) => lines.push(`${level} ${message}`)
    const logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") }
    const keyPrefix = `${RUN}-${++engines}`
    const engine = createRedisEngine({ nodes: own.nodes, keyPrefix, logger })
    const admin = new Redis(own.servers[0]?.url as string, { maxRetriesPerRequest: 0 })
    try {
      // A log on each master, so that each has a subscriptions' connection to lose.
      const logs: string[] = []
      const mastersHeld = new Set<number>()
      const slots = (await admin.call("CLUSTER", "SLOTS")) as [number, number, [string, number]][]
      for (let i = 0; mastersHeld.size < own.servers.length && i < 1000; i++) {
        const log = `away/log-${i}`
        const slot = (await admin.call("CLUSTER", "KEYSLOT", logKeys(keyPrefix, log).channel)) as number
        const master = slots.find(([first, last]) => slot >= first && slot <= last)?.[2][1] as number
        if (mastersHeld.has(master)) continue
        mastersHeld.add(master)
        logs.push(log)
      }
      let lost = 0
      for (const log of logs) await engine.watch(log, { onAppend() {}, onLost: () => lost++ })
      const away = own.servers[2] as RedisServer
      await away.stop()
      // ioredis tries to replace the subscriptions' connection to the master that is away over
      // and over, each time saying its subscribers are ready again.
      await new Promise((resolve) => setTimeout(resolve, 2000))
      const lossLine = `warn redis engine: lost the subscriptions' connection to the Cluster's node at 127.0.0.1:${away.port}; every follower on this node re-reads once it is replaced`
      expect(lines.filter((line) => line === lossLine)).toEqual([lossLine])
      // Not at each attempt: at most once (a connection ioredis made anew to another master renews).
      const whileAway = lost
      expect(whileAway).toBeLessThanOrEqual(logs.length)
      // Another master's is replaced meanwhile: the watchers re-read at once, not once all are.
      const other = new Redis(own.servers[0]?.url as string, { maxRetriesPerRequest: 0 })
      await other.client("KILL", "TYPE", "pubsub").finally(() => other.disconnect())
      await waitFor(
        () => lost >= whileAway + logs.length,
        "every watcher told of the other master's replacement",
      )
      await new Promise((resolve) => setTimeout(resolve, 1000))
      expect(lost).toBe(whileAway + logs.length)
      await away.start()
      await waitFor(
        () => lost >= whileAway + 2 * logs.length,
        "every watcher told once the master is back",
        15_000,
      )
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(lost).toBe(whileAway + 2 * logs.length)
    } finally {
      admin.disconnect()
      await engine.close()
      await own.destroy()
    }
  })

  // Last: it stops a master of the Cluster the tests above share.
  it("is down while a master is away, naming it, though a PING to another node answers, and logs it; up once it is back", async () => {
    if (cluster === undefined) throw new Error("the cluster did not start")
    const lines: string[] = []
    const at = (level: string) => (_fields: object, message: string) => lines.push(`${level} ${message}`)
    const logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") }
    const engine = engineOnCluster({ logger }) as Engine & HealthCapability
    try {
      expect(await engine.health()).toMatchObject({ status: "up" })
      const away = cluster.servers[2] as RedisServer
      await away.stop()
      const health = await engine.health()
      expect(health.status).toBe("down")
      expect(health.status === "down" && health.reason).toContain(
        `the Cluster's master at 127.0.0.1:${away.port} does not answer`,
      )
      expect(lines).toContain(
        `warn redis engine: lost the Cluster's node at 127.0.0.1:${away.port}; the logs in its slots are refused until it is back or replaced`,
      )
      await away.start()
      await waitFor(async () => (await engine.health()).status === "up", "the Cluster to serve again", 20_000)
      expect(lines).toContain(
        `info redis engine: the Cluster's node at 127.0.0.1:${away.port} is known again`,
      )
    } finally {
      await engine.close()
    }
  })
})
