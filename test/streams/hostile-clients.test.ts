// What one client can make the streams handler hold: live reads queued on a pipelined HTTP/1
// connection that dies give back their engine watches at once (not at the long-poll timeout), and
// streams created at once stay within `maxStreams`; a `Producer-Id` has a bounded length.
import { mkdtempSync, rmSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createSqliteEngine } from "../../src/engine/sqlite.js"
import { waitFor } from "../engine/redis-servers.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

let served: ServedStreams | undefined
const cleanups: (() => void)[] = []
afterEach(async () => {
  await served?.close()
  served = undefined
  for (const cleanup of cleanups.splice(0)) cleanup()
})

/** A memory engine that counts the watches it holds. */
function countingWatches(): { engine: Engine; held: () => number } {
  const engine = createMemoryEngine()
  let held = 0
  const watch = engine.watch.bind(engine)
  engine.watch = async (log, sink) => {
    const unwatch = await watch(log, sink)
    held++
    let released = false
    return () => {
      if (!released) held--
      released = true
      unwatch()
    }
  }
  return { engine, held: () => held }
}

/** Writes `requests` at once on one connection; resolves with the statuses of the first `count` answers. */
function exchange(baseUrl: string, requests: string, count: number): Promise<number[]> {
  const socket = connect(Number(new URL(baseUrl).port), "127.0.0.1")
  socket.write(requests)
  let text = ""
  return new Promise((resolve, reject) => {
    socket.on("error", reject)
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1")
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]))
      if (statuses.length < count) return
      socket.destroy()
      resolve(statuses)
    })
  })
}

describe("a hostile client of the streams", () => {
  it("gets back the watches of long-polls queued on a pipelined connection when it closes, long before their timeout, with one listener on its socket", async () => {
    const { engine, held } = countingWatches()
    served = await serveStreams(engine, { limits: { longPollTimeoutMs: 30_000 } })
    const { baseUrl } = served
    expect((await fetch(`${baseUrl}/v1/stream/quiet`, { method: "PUT" })).status).toBe(201)
    const { port } = new URL(baseUrl)
    const socket = connect(Number(port), "127.0.0.1")
    socket.on("error", () => {})
    const warnings: string[] = []
    const warned = (warning: Error) => warnings.push(warning.name)
    process.on("warning", warned)
    socket.write("GET /v1/stream/quiet?offset=now&live=long-poll HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20))
    await waitFor(() => held() === 20, "20 long-polls waiting")
    socket.destroy()
    await waitFor(() => held() === 0, "every watch given back", 3000)
    process.off("warning", warned)
    // One close listener on the socket for all of them, not one each (past 10, Node warns of a leak).
    expect(warnings).not.toContain("MaxListenersExceededWarning")
  })
  it("creates no more than maxStreams streams when many creates come at once", async () => {
    // On sqlite, whose creates take turns with the requests' other work.
    const dir = mkdtempSync(join(tmpdir(), "herald-max-streams-"))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    served = await serveStreams(createSqliteEngine({ path: join(dir, "streams.db") }), {
      limits: { maxStreams: 3 },
    })
    const { baseUrl } = served
    // Pipelined on one connection, so that the server takes them all up at once.
    const put = (name: string) => `PUT /v1/stream/${name} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`
    const answers = await exchange(
      baseUrl,
      Array.from({ length: 12 }, (_, i) => put(`race-${i}`)).join(""),
      12,
    )
    expect(answers.filter((status) => status === 201)).toHaveLength(3)
    expect(answers.filter((status) => status === 429)).toHaveLength(9)
    // A place whose create failed was given back: after a delete, one more fits, and no other.
    const created = answers.indexOf(201)
    expect((await fetch(`${baseUrl}/v1/stream/race-${created}`, { method: "DELETE" })).status).toBe(204)
    expect((await fetch(`${baseUrl}/v1/stream/one-more`, { method: "PUT" })).status).toBe(201)
    expect((await fetch(`${baseUrl}/v1/stream/too-many`, { method: "PUT" })).status).toBe(429)
  })

  it("refuses a Producer-Id longer than maxProducerIdLength (256 by default) with a 400 naming it, storing nothing", async () => {
    served = await serveStreams(createMemoryEngine())
    const url = `${served.baseUrl}/v1/stream/produced`
    expect((await fetch(url, { method: "PUT" })).status).toBe(201)
    const append = (id: string) =>
      fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/octet-stream",
          "producer-id": id,
          "producer-epoch": "0",
          "producer-seq": "0",
        },
        body: "x",
      })
    const refused = await append("p".repeat(257))
    expect(refused.status).toBe(400)
    expect(await refused.text()).toContain("Producer-Id")
    expect(await (await fetch(`${url}?offset=-1`)).text()).toBe("")
    expect((await append("p".repeat(256))).status).toBe(200)
    await served.close()
    served = await serveStreams(createMemoryEngine(), { limits: { maxProducerIdLength: 8 } })
    const bounded = `${served.baseUrl}/v1/stream/produced`
    expect((await fetch(bounded, { method: "PUT" })).status).toBe(201)
    const longer = await fetch(bounded, {
      method: "POST",
      headers: {
        "content-type": "application/octet-stream",
        "producer-id": "p".repeat(9),
        "producer-epoch": "0",
        "producer-seq": "0",
      },
      body: "x",
    })
    expect(longer.status).toBe(400)
  })
})
