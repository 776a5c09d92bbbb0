// Every AI generation's log is also a read-only Durable Stream (JSON mode): the official client
// resumes a running demo-model generation mid-way, by SSE and by long-poll, and gets every entry
// once; access is the AI app's `read` grant on the generation; nothing can be written there.
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { stream as readStream } from "@durable-streams/client"
import { afterEach, describe, expect, it } from "vitest"
import { type AIHandler, type AIHandlerOptions, createAIHandler } from "../../src/ai/handler.js"
import type { StoredEntry } from "../../src/ai/stored-entry.js"
import { createTokenVerifier } from "../../src/auth/verifier.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createStreamsHandler } from "../../src/streams/index.js"
import { aiToken, RESOURCE, SECRET } from "../ai/ai-server.js"

const PREFIX = "/v1/stream/_generations/"

interface Served {
  readonly origin: string
  readonly ai: AIHandler
  close(): Promise<void>
}

let served: Served | undefined
afterEach(async () => {
  await served?.close()
  served = undefined
})

/** The AI endpoints and the streams (with the generations' view) on one server, as `herald serve` mounts them. */
async function serve(options: { auth?: boolean; models?: AIHandlerOptions["models"] } = {}): Promise<Served> {
  const engine = createMemoryEngine()
  const ai = createAIHandler({
    engine,
    heartbeatMs: 0,
    flushMs: 5,
    models: options.models ?? {
      demo: { provider: "demo", timeToFirstTokenMs: 0, tokensPerSecond: 150, words: 60 },
    },
    ...(options.auth === true
      ? {
          auth: {
            verifier: createTokenVerifier({
              keys: [{ kind: "secret", secret: SECRET }],
              resource: RESOURCE,
              matcherContext: { hubUrl: new URL(RESOURCE), maxPatternLength: 1024 },
            }),
          },
        }
      : {}),
  })
  const streams = createStreamsHandler({
    engine,
    views: [
      {
        prefix: PREFIX,
        contentType: "application/json",
        open: (id, request, url) => ai.openGenerationLog(id, request, url),
      },
    ],
  })
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname
    void (streams.owns(path) ? streams.handle(request, response) : ai.handle(request, response))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  served = {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ai,
    async close() {
      await ai.close({ deadlineMs: 200 })
      await streams.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await engine.close()
    },
  }
  return served
}

/** Starts a generation that runs on without its creator's connection; returns its id. */
async function startGeneration(origin: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${origin}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "herald-on-disconnect": "continue", ...headers },
    body: JSON.stringify({ model: "demo", stream: true, messages: [{ role: "user", content: "durable" }] }),
  })
  expect(response.status).toBe(200)
  await response.body?.cancel()
  return response.headers.get("herald-generation-id") as string
}

/** Reads `url` from `offset` with the official client until `enough(items)` or the stream's close. */
async function readUntil(
  url: string,
  offset: string,
  live: "sse" | "long-poll",
  enough: (items: readonly StoredEntry[]) => boolean,
): Promise<{ items: StoredEntry[]; offset: string; closed: boolean }> {
  const response = await readStream<StoredEntry>({ url, offset, live })
  const items: StoredEntry[] = []
  let closed = false
  // The offset after the last batch taken: where a reader resumes (the client may read ahead).
  let at = offset
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${live}: ${items.length} entries, no end`)), 10_000)
    response.subscribeJson((batch) => {
      if (closed || enough(items)) return
      items.push(...batch.items)
      at = batch.offset
      closed = batch.streamClosed
      if (closed || enough(items)) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  response.cancel()
  return { items, offset: at, closed }
}

describe("a generation as a Durable Stream", () => {
  it.each(["sse", "long-poll"] as const)(
    "is resumed mid-way by the official client (%s), with no entry lost or repeated",
    async (live) => {
      const { origin } = await serve()
      const id = await startGeneration(origin)
      const url = `${origin}${PREFIX}${id}`

      const first = await readUntil(url, "-1", live, (items) => items.length >= 3)
      expect(first.closed).toBe(false)
      const rest = await readUntil(url, first.offset, live, () => false)
      expect(rest.closed).toBe(true)

      const whole = await (await readStream<StoredEntry>({ url, offset: "-1", live: false })).json()
      expect([...first.items, ...rest.items]).toEqual(whole)
      expect(whole.at(-1)).toMatchObject({ type: "end", status: "done" })
      const text = whole.map((entry) => (entry.type === "text-delta" ? entry.text : "")).join("")
      expect(text.length).toBeGreaterThan(100)
    },
  )

  it("ends a live read of a generation cancelled meanwhile with the end of the stream: its stop flag is the cancel, not a delete", async () => {
    const { origin } = await serve({
      models: { demo: { provider: "demo", timeToFirstTokenMs: 0, tokensPerSecond: 20, words: 1000 } },
    })
    const id = await startGeneration(origin)
    const url = `${origin}${PREFIX}${id}`
    const tail = (await fetch(url, { method: "HEAD" })).headers.get("stream-next-offset") as string
    // One SSE response and one long-poll, both live at the tail when the cancel closes the log.
    const sse = fetch(`${url}?offset=${tail}&live=sse`, { signal: AbortSignal.timeout(5000) }).then((r) =>
      r.text(),
    )
    const polls: string[] = []
    const polling = (async () => {
      let offset = tail
      // Bounded: the generation's end comes within a few polls (and the test's timeout).
      for (let i = 0; i < 100; i++) {
        const polled = await fetch(`${url}?offset=${offset}&live=long-poll`)
        polls.push(`${polled.status} ${polled.headers.get("stream-closed")}`)
        await polled.arrayBuffer()
        if (polled.status >= 300 || polled.headers.get("stream-closed") === "true") return
        offset = polled.headers.get("stream-next-offset") ?? offset
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect((await fetch(`${origin}/v1/generations/${id}/cancel`, { method: "POST" })).status).toBe(200)
    expect(await sse).toContain('"streamClosed":true')
    await polling
    expect(polls.at(-1)).toMatch(/^20[04] true$/)
  })

  it("answers HEAD and catch-up reads with the log's offsets, closure and JSON mode; refuses writes with 405", async () => {
    const { origin } = await serve({
      models: {
        demo: { provider: "demo", timeToFirstTokenMs: 0, tokensPerSecond: Number.POSITIVE_INFINITY },
      },
    })
    const id = await startGeneration(origin)
    const url = `${origin}${PREFIX}${id}`
    const state = async () =>
      (await (await fetch(`${origin}/v1/generations/${id}`)).json()) as Record<string, string>
    for (let i = 0; i < 200 && (await state()).status === "running"; i++)
      await new Promise((r) => setTimeout(r, 10))
    const { cursor } = await state()

    const head = await fetch(url, { method: "HEAD" })
    expect(head.status).toBe(200)
    expect(head.headers.get("content-type")).toBe("application/json")
    expect(head.headers.get("stream-closed")).toBe("true")
    // Offsets are the log's positions: the generation's cursor is the stream's tail.
    expect(head.headers.get("stream-next-offset")).toBe(cursor)

    const read = await fetch(`${url}?offset=-1`)
    expect(read.headers.get("stream-closed")).toBe("true")
    expect(read.headers.get("cache-control")).toMatch(/^private/)
    const entries = (await read.json()) as StoredEntry[]
    expect(entries.at(-1)).toMatchObject({ type: "end" })

    for (const method of ["PUT", "POST", "DELETE"]) {
      const refused = await fetch(url, {
        method,
        headers: { "content-type": "application/json" },
        body: method === "DELETE" ? null : "[]",
      })
      expect(refused.status, method).toBe(405)
      expect(refused.headers.get("allow")).toBe("GET, HEAD, OPTIONS")
    }
    expect((await fetch(`${origin}${PREFIX}not-an-id`)).status).toBe(404)
  })

  it("is read with the AI app's `read` grant on the generation: its owner's, or a reader's of it", async () => {
    const { origin } = await serve({ auth: true })
    const alice = await aiToken(["generate", "read"], { subject: "urn:test:alice" })
    const id = await startGeneration(origin, { authorization: `Bearer ${alice}` })
    const url = `${origin}${PREFIX}${id}?offset=-1`
    const as = (token: string) => fetch(url, { headers: { authorization: `Bearer ${token}` } })

    const anonymous = await fetch(url)
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/)
    expect(anonymous.headers.get("content-type")).toBe("application/problem+json")
    expect((await as(alice)).status).toBe(200)
    // Someone else's generation is not confirmed to exist.
    const bob = await aiToken(["generate", "read"], {
      subject: "urn:test:bob",
      resources: ["/v1/generations/other"],
    })
    expect((await as(bob)).status).toBe(404)
    const reader = await aiToken(["read"], {
      subject: "urn:test:carol",
      resources: [`/v1/generations/${id}`],
    })
    expect((await as(reader)).status).toBe(200)
    // A `streams` grant is not an `ai` one.
    const streamsOnly = await aiToken(["read"], { subject: "urn:test:dave", app: "streams" })
    expect((await as(streamsOnly)).status).toBe(404)
  })
})
