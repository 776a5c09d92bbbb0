// Acknowledged appends lost in a failover (to a replica that had not received them) must not be
// replaced silently: the new appends that take their seqs start a new epoch, which continues the
// old one up to the tail that survived.
// A master and its replica of the test's own: the replica is cut off, the master takes three
// more appends, and the writer then moves to the replica, as a failover would move it.
import { once } from "node:events"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { FoundGeneration } from "../../src/ai/generation-state.js"
import { cursorOf } from "../../src/ai/send-stream.js"
import type { Engine, ReadResult } from "../../src/engine/engine.js"
import { follow } from "../../src/engine/follow.js"
import { formatPosition, parsePosition, START } from "../../src/engine/position.js"
import { createRedisEngine } from "../../src/engine/redis.js"
import { logKeys } from "../../src/engine/redis-keys.js"
import type { Logger } from "../../src/logger.js"
import { createStreamsHandler } from "../../src/streams/index.js"
import {
  infoReplication,
  type RedisServer,
  redisServerInstalled,
  replicaCaughtUp,
  STRICT,
  startRedis,
  waitFor,
} from "./redis-servers.js"
import { collect, scriptedSource } from "./scripted-source.js"

const installed = await redisServerInstalled()
const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} }

/** Waits until `engine` answers again (it reconnects by itself after its Redis restarted). */
const reconnected = (engine: Engine, log: string) =>
  waitFor(async () => (await engine.head(log).catch(() => undefined)) !== undefined, "the engine back")

async function appendEach(engine: Engine, log: string, texts: readonly string[]): Promise<string[]> {
  const positions: string[] = []
  for (const data of texts) {
    const result = await engine.append(log, [{ data }])
    if (result.status !== "appended") throw new Error(`append ${data}: ${result.status}`)
    positions.push(result.entries[0]?.position as string)
  }
  return positions
}

describe.skipIf(!installed && !STRICT)("redis engine: appends lost with a Redis", () => {
  let master: RedisServer
  let replica: RedisServer
  let onMaster: Engine
  let onReplica: Engine
  const keyPrefix = `herald-test-fork-${process.pid}`
  const log = "answer"
  /** What a reader saw before the writer moved: positions of entries 1–8 (6–8 are lost). */
  let seen: string[]
  /** The master's answer to a read of everything, before the writer moved. */
  let readBeforeLoss: ReadResult

  beforeAll(async () => {
    master = await startRedis()
    replica = await startRedis({ args: ["--replicaof", "127.0.0.1", String(master.port)] })
    await waitFor(
      async () => (await infoReplication(replica.url)).includes("master_link_status:up"),
      "the replica's link",
    )
    onMaster = createRedisEngine({ url: master.url, keyPrefix })
    await onMaster.create(log, {})
    seen = await appendEach(onMaster, log, ["1", "2", "3", "4", "5"])
    await replicaCaughtUp(master.url, replica.url)
    // Cut off: entries 6-8 are acknowledged by the master and never reach the replica.
    const replicaClient = new Redis(replica.url)
    await replicaClient.replicaof("NO", "ONE")
    replicaClient.disconnect()
    seen.push(...(await appendEach(onMaster, log, ["6", "7", "8"])))
    readBeforeLoss = await onMaster.read(log, START, 100)
    onReplica = createRedisEngine({ url: replica.url, keyPrefix })
  }, 30_000)

  afterAll(async () => {
    await onMaster?.close()
    await onReplica?.close()
    await master?.destroy()
    await replica?.destroy()
  })

  it("has redis-server installed (HERALD_TEST_STRICT=1)", () => {
    expect(installed).toBe(true)
  })

  it("starts a new epoch at the first append after the loss, continuing the old one up to what survived", async () => {
    const before = await onReplica.head(log)
    expect(parsePosition(before?.tail as string)?.seq).toBe(5)
    // A follower on the new master since before the loss was found: it goes on across the fork.
    let ended: string | undefined
    const follower = await follow(onReplica, log, seen[2] as string, { onEnd: (reason) => (ended = reason) })
    expect(follower.status).toBe("held")
    const { entries: live, started } = collect(follower)
    await waitFor(() => live.length === 2, "the follower to read 4 and 5")

    const replaced = await appendEach(onReplica, log, ["6'", "7'", "8'", "9'"])
    const oldEpoch = parsePosition(seen[0] as string)?.epoch as string
    const newEpoch = parsePosition(replaced[0] as string)?.epoch as string
    expect(newEpoch).not.toBe(oldEpoch)
    // Offsets keep their string order across the fork (Durable Streams asks it).
    expect((replaced[0] as string) > (seen[7] as string)).toBe(true)
    expect(replaced.map((position) => parsePosition(position)?.seq)).toEqual([6, 7, 8, 9])
    const head = await onReplica.head(log)
    expect(head?.epoch).toBe(newEpoch)
    expect(head?.formerEpochs).toEqual([{ epoch: oldEpoch, sharedUntil: 5 }])

    await waitFor(() => live.length === 6, "the follower to get the new appends")
    expect(live.map((entry) => entry.data)).toEqual(["4", "5", "6'", "7'", "8'", "9'"])
    expect(live[2]?.position).toBe(replaced[0])
    follower.stop()
    await started
    expect(ended).toBeUndefined()
  })

  it("reads a position that survived as the new epoch's, and one of a lost entry as another epoch's", async () => {
    const fromSurvivor = await onReplica.read(log, seen[4] as string, 10)
    expect(fromSurvivor.held).toBe(true)
    if (!fromSurvivor.held) return
    expect(fromSurvivor.entries.map((entry) => entry.data)).toEqual(["6'", "7'", "8'", "9'"])
    const head = await onReplica.head(log)
    expect(fromSurvivor.after).toBe(formatPosition(head?.epoch as string, 5))

    // The reader that saw lost entry 8 is told so, not handed 9' as if 6'-8' were what it saw.
    const fromLost = await onReplica.read(log, seen[7] as string, 10)
    expect(fromLost).toMatchObject({ held: false, reason: "other-epoch" })
    const resumed = await follow(onReplica, log, seen[7] as string, { notHeld: "end" })
    expect(resumed.status).toBe("not-held")
  })

  it("keeps appending in the new epoch without another fork", async () => {
    const head = await onReplica.head(log)
    const [next] = await appendEach(onReplica, log, ["10'"])
    expect(parsePosition(next as string)).toEqual({ epoch: head?.epoch, seq: 10 })
    expect((await onReplica.head(log))?.formerEpochs).toHaveLength(1)
  })

  it("goes on after what the new epoch shares with a follower that had delivered lost entries, when it may", async () => {
    // A hub-like follower (onRecreated) that delivered 1-8 from the old master, then lost its
    // feed: its re-read on the new master finds 8 lost. It goes on after 5, with no repeats.
    let reads = 0
    const { source, sink } = scriptedSource(
      (name) => onReplica.head(name),
      (name, after, limit) =>
        reads++ === 0 ? Promise.resolve(readBeforeLoss) : onReplica.read(name, after, limit),
    )
    let recreated = 0
    const follower = await follow(source, log, START, { onRecreated: () => recreated++ })
    const { entries: delivered, started } = collect(follower)
    await waitFor(() => delivered.length === 8, "the old master's entries")
    sink().onLost()
    await waitFor(() => delivered.length === 13, "the new master's entries")
    expect(delivered.map((entry) => entry.data)).toEqual([
      "1",
      "2",
      "3",
      "4",
      "5",
      "6",
      "7",
      "8",
      "6'",
      "7'",
      "8'",
      "9'",
      "10'",
    ])
    expect(recreated).toBe(1)
    follower.stop()
    await started
  })

  it("takes an AI cursor of the old epoch up to what survived, in the new epoch, and one past it as lost", async () => {
    const head = await onReplica.head(log)
    if (head === undefined) throw new Error("no head")
    const found = { id: "g", log, head } as FoundGeneration
    const survivor = cursorOf(`${seen[3] as string}.1`, found)
    expect(survivor).toMatchObject({ epoch: head.epoch, seq: 4, eventsSeen: 2 })
    expect(survivor !== "lost" && survivor?.position).toBe(formatPosition(head.epoch, 4))
    // A lost entry's cursor is the generation's, not another's: told apart, so that nobody
    // resumes it from the start (and shows its text twice).
    expect(cursorOf(seen[6] as string, found)).toBe("lost")
    expect(cursorOf(formatPosition("zzzzzzzz", 2), found)).toBeUndefined()
  })

  // Last: the stop flag stays.
  it("takes a stop request for the old epoch as one for the epoch that continues it, as an append's epoch", async () => {
    const oldEpoch = parsePosition(seen[0] as string)?.epoch as string
    expect(await onReplica.requestStop(log, { epoch: "zzzzzzzz" })).toBe(false)
    expect((await onReplica.head(log))?.stopRequested).toBe(false)
    expect(await onReplica.requestStop(log, { epoch: oldEpoch })).toBe(true)
    expect((await onReplica.head(log))?.stopRequested).toBe(true)
  })
})

describe.skipIf(!installed && !STRICT)("redis engine: a Redis restarted with its AOF", () => {
  // A restart may lose the AOF's last second (appendfsync everysec), but nothing tells it from one
  // that lost nothing: forking at every restart would retire positions for no loss.
  it("keeps the epoch: every position from before the restart still reads, and a follower goes on", async () => {
    const server = await startRedis({ aof: true })
    const keyPrefix = `herald-test-restart-fork-${process.pid}`
    const engine = createRedisEngine({ url: server.url, keyPrefix })
    try {
      await engine.create("log", {})
      const before = await appendEach(engine, "log", ["1", "2", "3"])
      let ended: string | undefined
      const follower = await follow(engine, "log", before[2] as string, {
        onEnd: (reason) => (ended = reason),
      })
      const { entries: live, started } = collect(follower)
      await server.stop("SIGTERM")
      await server.start()
      // The engine reconnects by itself; the first append after it finds a new replication id,
      // but no former one it was promoted from: no fork.
      await reconnected(engine, "log")
      const after = await appendEach(engine, "log", ["4"])
      expect(parsePosition(after[0] as string)?.epoch).toBe(parsePosition(before[0] as string)?.epoch)
      expect((await engine.head("log"))?.formerEpochs).toBeUndefined()
      const read = await engine.read("log", before[0] as string, 10)
      expect(read.held && read.entries.map((entry) => entry.data)).toEqual(["2", "3", "4"])
      await waitFor(() => live.length === 1, "the follower to get 4")
      expect(live.map((entry) => entry.data)).toEqual(["4"])
      expect(ended).toBeUndefined()
      follower.stop()
      await started
    } finally {
      await engine.close()
      await server.destroy()
    }
  })
})

describe.skipIf(!installed && !STRICT)(
  "Durable Streams forks across a replication fork of their source",
  () => {
    it("reads an inherited range page by page, and forks at an offset from before the failover", async () => {
      const master = await startRedis()
      const replica = await startRedis({ args: ["--replicaof", "127.0.0.1", String(master.port)] })
      const keyPrefix = `herald-test-ds-fork-${process.pid}`
      const engines: Engine[] = []
      const servers: Server[] = []
      const serve = async (engine: Engine) => {
        engines.push(engine)
        const streams = createStreamsHandler({ engine, logger: quiet, limits: { readPageEntries: 1 } })
        const server = createServer((request, response) => void streams.handle(request, response))
        servers.push(server)
        server.listen(0, "127.0.0.1")
        await once(server, "listening")
        const { port } = server.address() as AddressInfo
        return async (method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
          const response = await fetch(`http://127.0.0.1:${port}/v1/stream${path}`, {
            method,
            headers: { "content-type": "text/plain", ...headers },
            body,
          })
          return {
            status: response.status,
            next: response.headers.get("stream-next-offset"),
            text: await response.text(),
          }
        }
      }
      try {
        await waitFor(
          async () => (await infoReplication(replica.url)).includes("master_link_status:up"),
          "the replica's link",
        )
        const before = await serve(createRedisEngine({ url: master.url, keyPrefix }))
        await before("PUT", "/src")
        const offsets: string[] = []
        for (const data of ["a", "b", "c"])
          offsets.push((await before("POST", "/src", {}, data)).next as string)
        expect((await before("PUT", "/fk", { "stream-forked-from": "/v1/stream/src" })).status).toBe(201)
        await replicaCaughtUp(master.url, replica.url)
        const replicaClient = new Redis(replica.url)
        await replicaClient.replicaof("NO", "ONE")
        replicaClient.disconnect()

        const after = await serve(createRedisEngine({ url: replica.url, keyPrefix }))
        expect((await after("POST", "/src", {}, "d")).status).toBe(204)
        // The fork's inherited range, a page (one append) at a time from the start.
        const texts: string[] = []
        let offset = "-1"
        for (let page = 0; page < 5; page++) {
          const read = await after("GET", `/fk?offset=${offset}`)
          expect(read.status).toBe(200)
          if (read.text === "") break
          texts.push(read.text)
          offset = read.next as string
        }
        expect(texts).toEqual(["a", "b", "c"])
        expect(offset).toBe(offsets[2])
        // A fork at an offset the client had before the failover, still held.
        const forked = await after("PUT", "/fk2", {
          "stream-forked-from": "/v1/stream/src",
          "stream-fork-offset": offsets[1] as string,
        })
        expect(forked.status).toBe(201)
        expect((await after("GET", "/fk2?offset=-1")).text).toBe("a")
      } finally {
        for (const server of servers) server.close()
        for (const engine of engines) await engine.close()
        await master.destroy()
        await replica.destroy()
      }
    })
  },
)

describe.skipIf(!installed && !STRICT)("redis engine: a log idle across a failover and a restart", () => {
  it("moves to a later epoch when a node connects to the promoted Redis, before any append", async () => {
    const master = await startRedis()
    // Made a replica at run time, so that it restarts as a master.
    const replica = await startRedis({ aof: true })
    const keyPrefix = `herald-test-idle-fork-${process.pid}`
    const onMaster = createRedisEngine({ url: master.url, keyPrefix })
    let onReplica: Engine | undefined
    try {
      const toReplica = new Redis(replica.url)
      await toReplica.replicaof("127.0.0.1", master.port)
      toReplica.disconnect()
      await waitFor(
        async () => (await infoReplication(replica.url)).includes("master_link_status:up"),
        "the replica's link",
      )
      await onMaster.create("idle", {})
      const seen = await appendEach(onMaster, "idle", ["1", "2", "3", "4", "5"])
      // A log closed before the failover lost nothing: its close was its last write.
      await onMaster.create("done", {})
      await onMaster.append("done", [{ data: "all" }], { close: true })
      await replicaCaughtUp(master.url, replica.url)
      const replicaClient = new Redis(replica.url)
      await replicaClient.replicaof("NO", "ONE")
      replicaClient.disconnect()
      seen.push(...(await appendEach(onMaster, "idle", ["6", "7", "8"])))

      // A node connects to the promoted Redis; nobody appends to the log before it restarts,
      // which forgets the id it was promoted from.
      onReplica = createRedisEngine({ url: replica.url, keyPrefix })
      const engine = onReplica
      await waitFor(async () => (await engine.head("idle"))?.formerEpochs !== undefined, "the log's fork")
      expect((await engine.head("done"))?.formerEpochs).toBeUndefined()
      // Another node connecting to the same promoted Redis finds the logs checked, and reads none.
      const monitor = await new Redis(replica.url).monitor()
      try {
        const sent: string[][] = []
        monitor.on("monitor", (_time: string, args: string[]) => sent.push(args))
        const other = createRedisEngine({ url: replica.url, keyPrefix })
        const checked = `${keyPrefix}:fork-sweep`
        await waitFor(
          () => sent.some(([name, key]) => name?.toLowerCase() === "hget" && key === checked),
          "the other node's look",
        )
        await other.close()
        const logsKeys = ["idle", "done"].flatMap((log) => Object.values(logKeys(keyPrefix, log)))
        expect(sent.filter((args) => args.some((arg) => logsKeys.includes(arg)))).toEqual([])
      } finally {
        monitor.disconnect()
      }
      await replica.stop("SIGTERM")
      await replica.start()
      await reconnected(engine, "idle")
      await appendEach(engine, "idle", ["6'", "7'", "8'", "9'"])
      expect(await engine.read("idle", seen[7] as string, 10)).toMatchObject({
        held: false,
        reason: "other-epoch",
      })
      const fromSurvivor = await engine.read("idle", seen[4] as string, 10)
      expect(fromSurvivor.held && fromSurvivor.entries.map((entry) => entry.data)).toEqual([
        "6'",
        "7'",
        "8'",
        "9'",
      ])
    } finally {
      await onMaster.close()
      await onReplica?.close()
      await master.destroy()
      await replica.destroy()
    }
  })
})
