// RedisLink's writes on a real Redis: the first command of a turn leaves at once, the later ones
// of the same turn leave together in one write at its end. And on a Cluster (its events played by
// a stand-in client), what one node's refused settings do to the connection.
import { EventEmitter } from "node:events"
import type { Socket } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  openRedis,
  type RedisClient,
  type RedisConnections,
  RedisLink,
} from "../../src/engine/redis-client.js"
import type { Logger } from "../../src/logger.js"
import { redisAnswers, SHARED_REDIS_URL, STRICT } from "./redis-servers.js"

const sharedUp = await redisAnswers(SHARED_REDIS_URL)

describe.skipIf(!sharedUp && !STRICT)("RedisLink writes", () => {
  let redis: RedisConnections
  /** Each system-call-level write on the command connection: the commands it carried. */
  const writes: string[][] = []

  beforeAll(async () => {
    redis = openRedis({ url: SHARED_REDIS_URL })
    await redis.command.ready()
    const socket = (redis.command.client as unknown as { stream: Socket }).stream
    const commands = (chunk: unknown) => String(chunk).match(/ECHO\r\n\$\d+\r\n[^\r]+/gi) ?? []
    const internals = socket as unknown as {
      _write: (chunk: unknown, encoding: string, callback: () => void) => void
      _writev: (chunks: { chunk: unknown }[], callback: () => void) => void
    }
    const write = internals._write.bind(socket)
    const writev = internals._writev.bind(socket)
    internals._write = (chunk, encoding, callback) => {
      writes.push(commands(chunk).map((command) => command.split("\r\n")[2] ?? ""))
      write(chunk, encoding, callback)
    }
    internals._writev = (chunks, callback) => {
      writes.push(
        chunks.flatMap(({ chunk }) => commands(chunk).map((command) => command.split("\r\n")[2] ?? "")),
      )
      writev(chunks, callback)
    }
  })

  afterAll(() => {
    redis?.command.client.disconnect()
    redis?.subscriber.client.disconnect()
  })

  const echo = (text: string) => redis.command.call("echo", (client) => client.echo(text))

  it("writes a lone command at once, before the turn ends", async () => {
    writes.length = 0
    const reply = echo("alone")
    // Synchronously after the call: it is on its way already.
    expect(writes).toEqual([["alone"]])
    expect(await reply).toBe("alone")
  })

  it("sends the later commands of one turn together in one write at its end", async () => {
    writes.length = 0
    const replies = [echo("first"), echo("second"), echo("third")]
    expect(writes).toEqual([["first"]])
    expect(await Promise.all(replies)).toEqual(["first", "second", "third"])
    expect(writes).toEqual([["first"], ["second", "third"]])
  })

  it("writes the first command of the next turn at once again", async () => {
    writes.length = 0
    await Promise.all([echo("a"), echo("b")])
    const next = echo("c")
    expect(writes.at(-1)).toEqual(["c"])
    expect(await next).toBe("c")
  })
})

describe("RedisLink on a Cluster", () => {
  /** A Cluster client as RedisLink sees it: its status and events, and commands that answer. */
  function fakeCluster() {
    const client = Object.assign(new EventEmitter(), { status: "connecting", isCluster: true })
    const lines: { level: string; message: string }[] = []
    const at = (level: string) => (_fields: object, message: string) => void lines.push({ level, message })
    const logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") }
    const link = new RedisLink(client as unknown as RedisClient, 100, {
      role: "connections",
      address: "10.0.0.1:7000",
      names: { url: "--engine", cluster: "--redis-cluster", sentinelName: "--redis-sentinel-name" },
      logger: logger as unknown as Logger,
    })
    const ready = () => {
      client.status = "ready"
      client.emit("ready")
    }
    return { client, link, lines, ready }
  }

  it("goes on serving when one node of a Cluster that serves refuses its settings, and says so", async () => {
    const { client, link, lines, ready } = fakeCluster()
    ready()
    client.emit("node error", new Error("NOAUTH Authentication required."), "10.0.0.7:7000")
    expect(await link.call("get", async () => "served")).toBe("served")
    expect(lines.filter((line) => line.level === "error").map((line) => line.message)).toEqual([
      expect.stringMatching(/^redis engine: Redis at 10\.0\.0\.7:7000 needs a password/),
    ])
  })

  it("refuses every call for a refusal while the Cluster connects, until it is ready without one", async () => {
    const { client, link, ready } = fakeCluster()
    client.emit("node error", new Error("NOAUTH Authentication required."), "10.0.0.7:7000")
    await expect(link.call("get", async () => "served")).rejects.toThrow(/needs a password/)
    client.emit("connecting")
    ready()
    expect(await link.call("get", async () => "served")).toBe("served")
  })
})
