// The streams' overview for the dashboard: a bounded count, and the newest streams.
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createStreamsHandler } from "../../src/streams/index.js"
import { stop } from "../server/helpers.js"

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

async function served() {
  let now = 1_000_000
  const engine = createMemoryEngine({ now: () => now })
  const streams = createStreamsHandler({ engine, prefix: "/v1/stream/" })
  const server = createServer((request, response) => void streams.handle(request, response))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/stream/`
  cleanups.push(async () => {
    await stop(server)
    await engine.close()
  })
  return { streams, engine, base, tick: () => (now += 1000) }
}

describe("the streams overview", () => {
  it("counts the streams, lists the newest first with their messages, and leaves deleted ones out", async () => {
    const { streams, engine, base, tick } = await served()
    expect(await streams.overview({ maxCount: 100, newest: 2 })).toEqual({
      prefix: "/v1/stream/",
      count: 0,
      more: false,
      newest: [],
    })
    for (const name of ["a", "b", "c", "d"]) {
      tick()
      expect(
        (await fetch(`${base}${name}`, { method: "PUT", headers: { "content-type": "text/plain" } })).status,
      ).toBe(201)
    }
    for (const body of ["one", "two"]) {
      expect(
        (await fetch(`${base}c`, { method: "POST", headers: { "content-type": "text/plain" }, body })).status,
      ).toBe(204)
    }
    expect((await fetch(`${base}d`, { method: "DELETE" })).status).toBe(204)
    // A log of another app on the same engine is not a stream.
    await engine.create("ai/gen/elsewhere")

    const overview = await streams.overview({ maxCount: 100, newest: 2 })
    expect(overview.count).toBe(3)
    expect(overview.more).toBe(false)
    expect(overview.newest).toEqual([
      { path: "/v1/stream/c", contentType: "text/plain", createdAt: 1_003_000, closed: false, messages: 2 },
      { path: "/v1/stream/b", contentType: "text/plain", createdAt: 1_002_000, closed: false, messages: 0 },
    ])
    // Bounded: it stops counting at the bound and says there are more.
    expect(await streams.overview({ maxCount: 2, newest: 1 })).toMatchObject({ count: 2, more: true })
  })
})
