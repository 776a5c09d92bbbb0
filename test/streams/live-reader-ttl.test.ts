// A stream with live readers does not expire (protocol section 5.1): a long-poll and an SSE
// response that stay open longer than the stream's Stream-TTL keep it, and once they end it
// expires by its TTL again. On memory, sqlite and redis (the shared Redis at 127.0.0.1:6379,
// under a key prefix of this run, deleted afterwards).
import { afterEach, describe, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { testEngines } from "../ai/engines.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

let served: ServedStreams | undefined
afterEach(async () => {
  await served?.close()
  served = undefined
})

const engines = (await testEngines("live-ttl"))
  .filter((kind) => kind.available)
  .map((kind): [string, () => Engine] => [kind.name, kind.open])

/** How long the live reads stay open: more than twice the streams' TTL of 1 s. */
const OPEN_MS = 2500

describe.each(engines)("a stream with live readers (%s)", (_name, open) => {
  it("does not expire while a long-poll or an SSE response is open, and expires by its TTL after", async () => {
    served = await serveStreams(open(), { limits: { longPollTimeoutMs: OPEN_MS, sseLifetimeMs: OPEN_MS } })
    const url = (path: string) => `${served?.baseUrl}/v1/stream/${path}`
    for (const path of ["polled", "followed"]) {
      const created = await fetch(url(path), {
        method: "PUT",
        headers: { "content-type": "text/plain", "stream-ttl": "1" },
      })
      expect(created.status).toBe(201)
    }
    const started = Date.now()
    const [polled, followed] = await Promise.all([
      fetch(`${url("polled")}?offset=now&live=long-poll`),
      fetch(`${url("followed")}?offset=-1&live=sse`).then(async (response) => {
        await response.text()
        return response
      }),
    ])
    // Both lasted their whole time: no 404 of an expired stream, no SSE ended by its loss.
    expect(Date.now() - started).toBeGreaterThanOrEqual(OPEN_MS - 100)
    expect(polled.status).toBe(204)
    expect(followed.status).toBe(200)
    const head = async (path: string) => (await fetch(url(path), { method: "HEAD" })).status
    expect([await head("polled"), await head("followed")]).toEqual([200, 200])
    // The readers gone, nothing keeps the streams any longer.
    await new Promise((resolve) => setTimeout(resolve, 1200))
    expect([await head("polled"), await head("followed")]).toEqual([404, 404])
  })
})
