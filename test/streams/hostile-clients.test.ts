// What one client can make the streams handler hold: live reads queued on a pipelined HTTP/1
// connection that dies give back their engine watches at once (not at the long-poll timeout), and
// streams created at once stay within `maxStreams`.
import { connect } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { waitFor } from "../engine/redis-servers.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

let served: ServedStreams | undefined
afterEach(async () => {
  await served?.close()
  served = undefined
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

describe("a hostile client of the streams", () => {
  it("gets back the watches of long-polls queued on a pipelined connection when it closes, long before their timeout", async () => {
    const { engine, held } = countingWatches()
    served = await serveStreams(engine, { limits: { longPollTimeoutMs: 30_000 } })
    const { baseUrl } = served
    expect((await fetch(`${baseUrl}/v1/stream/quiet`, { method: "PUT" })).status).toBe(201)
    const { port } = new URL(baseUrl)
    const socket = connect(Number(port), "127.0.0.1")
    socket.on("error", () => {})
    socket.write("GET /v1/stream/quiet?offset=now&live=long-poll HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20))
    await waitFor(() => held() === 20, "20 long-polls waiting")
    socket.destroy()
    await waitFor(() => held() === 0, "every watch given back", 3000)
  })
})
