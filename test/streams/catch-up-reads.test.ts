// A catch-up read of a stream of large appends has the engine return no more than the response
// sends, `maxReadBytes` at most, for a GET as for an SSE catch-up's pages. Before, a read asked
// the engine for 16 appends to send one (and the redis and sqlite engines loaded one more to
// learn whether others followed). On memory, sqlite and redis (the shared Redis at
// 127.0.0.1:6379, under a key prefix of this run, deleted afterwards).
import { afterEach, describe, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { testEngines } from "../ai/engines.js"
import { waitFor } from "../engine/redis-servers.js"
import { countingReads } from "./counting-reads.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

let served: ServedStreams | undefined
afterEach(async () => {
  await served?.close()
  served = undefined
})

const engines = (await testEngines("catch-up"))
  .filter((kind) => kind.available)
  .map((kind): [string, () => Engine] => [kind.name, kind.open])

const APPEND = 100 * 1024
const APPENDS = 8

/** Makes a text stream of {@link APPENDS} appends of {@link APPEND} bytes, each of its own letter. */
async function largeAppends(baseUrl: string, path: string): Promise<{ url: string; appends: string[] }> {
  const url = `${baseUrl}/v1/stream/${path}`
  const text = { "content-type": "text/plain" }
  expect((await fetch(url, { method: "PUT", headers: text })).status).toBe(201)
  const appends = Array.from({ length: APPENDS }, (_, i) => String.fromCharCode(97 + i).repeat(APPEND))
  for (const body of appends)
    expect((await fetch(url, { method: "POST", headers: text, body })).status).toBe(204)
  return { url, appends }
}

describe.each(engines)("a catch-up read of large appends (%s)", (_name, open) => {
  it("has the engine return what a GET sends, one append of maxReadBytes at a time", async () => {
    const counted = countingReads(open())
    served = await serveStreams(counted.engine, { limits: { maxReadBytes: 150 * 1024 } })
    const { url, appends } = await largeAppends(served.baseUrl, "gets")
    counted.returned.length = 0
    counted.maxBytes.length = 0
    const bodies: string[] = []
    let offset = "-1"
    for (let i = 0; i < 2 * APPENDS; i++) {
      const response = await fetch(`${url}?offset=${offset}`)
      expect(response.status).toBe(200)
      bodies.push(await response.text())
      offset = response.headers.get("stream-next-offset") as string
      if (response.headers.get("stream-up-to-date") === "true") break
    }
    // One append per response (two would pass 150 KiB), and the engine returned just it.
    expect(bodies).toEqual(appends)
    expect(counted.returned).toEqual(bodies.map((body) => body.length))
    expect(counted.maxBytes.every((bound) => bound === 150 * 1024)).toBe(true)
  })

  it("has the engine return what an SSE catch-up sends, a page of maxReadBytes at a time", async () => {
    const counted = countingReads(open())
    served = await serveStreams(counted.engine, { limits: { maxReadBytes: 150 * 1024 } })
    const { url } = await largeAppends(served.baseUrl, "sse")
    counted.returned.length = 0
    const controller = new AbortController()
    const response = await fetch(`${url}?offset=-1&live=sse`, { signal: controller.signal })
    expect(response.status).toBe(200)
    const body = (response.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let received = ""
    try {
      // Bounded by the appends' bytes: each chunk read carries some of them.
      while (!received.includes(String.fromCharCode(97 + APPENDS - 1).repeat(APPEND))) {
        const chunk = await body.read()
        if (chunk.done) break
        received += decoder.decode(chunk.value, { stream: true })
      }
      // Caught up, the response follows the stream live: its first read finds nothing more.
      await waitFor(() => counted.returned.length > APPENDS, "the response to follow live")
    } finally {
      controller.abort()
    }
    // A page per append: the engine returned each once, and never two at a time.
    expect(counted.returned).toEqual([...Array(APPENDS).fill(APPEND), 0])
  })
})
