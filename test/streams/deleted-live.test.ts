// A stream deleted while a fork reads it (a soft delete) has its log closed, yet for its live
// readers it is deleted, not ended: the protocol's end of stream (the SSE `streamClosed` control
// event, a long-poll's `Stream-Closed: true`) tells a client to stop reading for good. On every engine.
import { afterEach, describe, expect, it } from "vitest"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { testEngines } from "../ai/engines.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

let served: ServedStreams | undefined
afterEach(async () => {
  await served?.close()
  served = undefined
})

const ENGINES = await testEngines("streams-deleted-live")

/** An SSE read: its control events, and a promise of how its response ended. */
async function openSse(url: string) {
  const controller = new AbortController()
  const response = await fetch(url, { signal: controller.signal })
  expect(response.status).toBe(200)
  const controls: Record<string, unknown>[] = []
  const body = (response.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  const ended = (async () => {
    let buffer = ""
    // Bounded by the response, which the server ends (or the test aborts after 5 s).
    for (let chunk = await body.read(); !chunk.done; chunk = await body.read()) {
      buffer += decoder.decode(chunk.value, { stream: true })
      for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const data = /^data:(.*)$/m.exec(block)?.[1]
        if (/^event: control$/m.test(block))
          controls.push(JSON.parse(data as string) as Record<string, unknown>)
      }
    }
    return "ended"
  })().catch(() => "aborted")
  const timer = setTimeout(() => controller.abort(), 5000)
  return { controls, ended: ended.finally(() => clearTimeout(timer)) }
}

/** A source with a fork, and an SSE and a long-poll reader waiting at its tail. */
async function readersAtTail(base: string) {
  const source = `${base}/v1/stream/source`
  const text = { "content-type": "text/plain" }
  expect((await fetch(source, { method: "PUT", headers: text, body: "hello" })).status).toBe(201)
  const fork = await fetch(`${base}/v1/stream/fork`, {
    method: "PUT",
    headers: { "stream-forked-from": "/v1/stream/source" },
  })
  expect(fork.status).toBe(201)
  const tail = (await fetch(source, { method: "HEAD" })).headers.get("stream-next-offset") as string
  const sse = await openSse(`${source}?offset=${tail}&live=sse`)
  const longPoll = fetch(`${source}?offset=${tail}&live=long-poll`)
  // Both are past their first read and wait for the log.
  await new Promise((resolve) => setTimeout(resolve, 200))
  return { source, tail, sse, longPoll }
}

for (const kind of ENGINES) {
  describe.skipIf(!kind.available)(`on the ${kind.name} engine`, () => {
    it("ends its live readers as a deleted stream's (410), not with the end of the stream, when a stream with a fork is deleted", async () => {
      served = await serveStreams(kind.open())
      const { source, tail, sse, longPoll } = await readersAtTail(served.baseUrl)
      expect((await fetch(source, { method: "DELETE" })).status).toBe(204)
      expect(await sse.ended).toBe("ended")
      expect(sse.controls.filter((control) => control.streamClosed === true)).toEqual([])
      const polled = await longPoll
      expect(polled.status).toBe(410)
      expect(polled.headers.get("stream-closed")).toBeNull()
      expect((await fetch(`${source}?offset=${tail}`)).status).toBe(410)
    })

    it("still ends its live readers with the end of the stream when it is closed", async () => {
      served = await serveStreams(kind.open())
      const { source, tail, sse, longPoll } = await readersAtTail(served.baseUrl)
      expect((await fetch(source, { method: "POST", headers: { "stream-closed": "true" } })).status).toBe(204)
      expect(await sse.ended).toBe("ended")
      expect(sse.controls.at(-1)).toMatchObject({
        streamNextOffset: tail,
        upToDate: true,
        streamClosed: true,
      })
      const polled = await longPoll
      expect(polled.status).toBe(204)
      expect(polled.headers.get("stream-closed")).toBe("true")
    })
  })
}

it("finishes a soft delete whose close failed when the DELETE is retried: its log closes and its live readers end", async () => {
  const engine = createMemoryEngine()
  const append = engine.append.bind(engine)
  let failures = 0
  // The delete's close (an empty append that closes) fails once, after the stop flag was set.
  engine.append = async (log, entries, options) => {
    if (options?.close === true && entries.length === 0 && failures++ === 0)
      throw new Error("engine unavailable (simulated)")
    return append(log, entries, options)
  }
  served = await serveStreams(engine, { logger: { error() {}, warn() {}, info() {}, debug() {} } })
  const { source, sse, longPoll } = await readersAtTail(served.baseUrl)
  expect((await fetch(source, { method: "DELETE" })).status).toBe(500)
  expect((await engine.head("streams:/v1/stream/source"))?.closed).toBe(false)
  // Repeated, a DELETE of a soft-deleted stream is a 410 (protocol section 5.4), and closes its log.
  expect((await fetch(source, { method: "DELETE" })).status).toBe(410)
  expect((await engine.head("streams:/v1/stream/source"))?.closed).toBe(true)
  expect(await sse.ended).toBe("ended")
  expect((await longPoll).status).toBe(410)
})
