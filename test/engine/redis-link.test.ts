// RedisLink's writes on a real Redis: the first command of a turn leaves at once, the later ones
// of the same turn leave together in one write at its end.
import type { Socket } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { openRedis, type RedisConnections } from "../../src/engine/redis-client.js"
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
