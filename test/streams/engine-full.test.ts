// An engine at its maximum of logs (maxLogs), shared by every app: creating a stream or a fork
// is a 507 that says what to do, a hub publish that needs its log and an AI generation are 503s
// in their own shapes — never a 500 — on the memory and sqlite engines. An engine whose disk is
// full: every app's writes are 507s naming it (the hub's: hub-engine-unavailable.test.ts), and so
// are a Redis's past its maxmemory, where reads go on (a stream's with a Stream-TTL too) and a
// generation's Stop still stops its model, and the memory engine's at its maxBytes.
import { setTimeout as sleep } from "node:timers/promises"
import { Redis } from "ioredis"
import { afterEach, describe, expect, it } from "vitest"
import { createAIHandler } from "../../src/ai/handler.js"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { openRedisEngine } from "../../src/engine/redis.js"
import { createSqliteEngine } from "../../src/engine/sqlite.js"
import { startNodes } from "../ai/ai-server.js"
import { openaiChunk, startUpstream } from "../ai/upstream.js"
import { redisServerInstalled, STRICT, startRedis } from "../engine/redis-servers.js"
import { FULL_PATH, switchableEngine } from "../engine/switchable-engine.js"
import { publish, startHub, token } from "../hub/hub-helpers.js"
import { listen, recordingLogger, stop } from "../server/helpers.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

let served: ServedStreams | undefined
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
  await served?.close()
  served = undefined
})

const engines: Record<string, (maxLogs: number) => Engine> = {
  memory: (maxLogs) => createMemoryEngine({ maxLogs }),
  sqlite: (maxLogs) => createSqliteEngine({ path: ":memory:", maxLogs }),
}

describe.each(Object.entries(engines))("an engine at its maximum of logs (%s)", (name, open) => {
  it("answers a stream's create and fork 507, a hub publish and an AI generation 503, never 500", async () => {
    // Two streams and the record of a fork fill it.
    served = await serveStreams(open(3))
    const { baseUrl, engine } = served
    const text = { "content-type": "text/plain" }
    expect((await fetch(`${baseUrl}/v1/stream/a`, { method: "PUT", headers: text })).status).toBe(201)
    const fork = { ...text, "stream-forked-from": "/v1/stream/a" }
    expect((await fetch(`${baseUrl}/v1/stream/b`, { method: "PUT", headers: fork })).status).toBe(201)

    for (const refused of [
      await fetch(`${baseUrl}/v1/stream/c`, { method: "PUT", headers: text }),
      await fetch(`${baseUrl}/v1/stream/d`, { method: "PUT", headers: fork }),
    ]) {
      expect(refused.status).toBe(507)
      expect(refused.headers.get("content-type")).toBe("application/problem+json")
      const { detail } = (await refused.json()) as { detail: string }
      expect(detail).toContain(`${name} engine holds its maximum of 3 logs`)
      expect(detail).toContain("Delete streams")
    }
    // A stream that exists is still served.
    expect((await fetch(`${baseUrl}/v1/stream/a`, { method: "POST", headers: text, body: "x" })).status).toBe(
      204,
    )

    const hub = await startHub({ engine })
    cleanups.push(() => hub.close())
    const published = await publish(
      hub.hubUrl,
      { topic: "t", data: "d" },
      await token(hub.hubUrl, { publish: ["*"] }),
    )
    expect(published.status).toBe(503)
    expect(((await published.json()) as { detail: string }).detail).toContain("maximum of 3 logs")

    const answer = await askForAnswer(engine)
    expect(answer.status).toBe(503)
    expect(((await answer.json()) as { error: { message: string } }).error.message).toContain(
      "maximum of 3 logs",
    )
  })
})

/** Asks the AI endpoints on `engine` for a streamed answer of the demo model. */
async function askForAnswer(engine: Engine): Promise<Response> {
  const ai = createAIHandler({ engine, heartbeatMs: 0, logger: recordingLogger() })
  const { server, url } = await listen((request, response) => void ai.handle(request, response))
  cleanups.push(async () => {
    await ai.close({ deadlineMs: 0 })
    await stop(server)
  })
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "demo", stream: true, messages: [{ role: "user", content: "hi" }] }),
  })
}

describe("an engine whose disk is full", () => {
  it("answers a stream's create and append 507 and an AI generation 507 in its shape, never 500; reads go on", async () => {
    const { engine, setFull } = switchableEngine()
    served = await serveStreams(engine)
    const { baseUrl } = served
    const text = { "content-type": "text/plain" }
    expect((await fetch(`${baseUrl}/v1/stream/a`, { method: "PUT", headers: text })).status).toBe(201)
    expect((await fetch(`${baseUrl}/v1/stream/a`, { method: "POST", headers: text, body: "x" })).status).toBe(
      204,
    )
    setFull(true)
    for (const refused of [
      await fetch(`${baseUrl}/v1/stream/b`, { method: "PUT", headers: text }),
      await fetch(`${baseUrl}/v1/stream/a`, { method: "POST", headers: text, body: "y" }),
    ]) {
      expect(refused.status).toBe(507)
      const problem = (await refused.json()) as { title: string; detail: string }
      expect(problem.title).toBe("Insufficient Storage")
      expect(problem.detail).toContain(`the disk holding ${FULL_PATH} is full, so nothing was stored`)
      expect(problem.detail).toContain("Delete streams")
    }
    const read = await fetch(`${baseUrl}/v1/stream/a?offset=-1`)
    expect(read.status).toBe(200)
    expect(await read.text()).toBe("x")

    const answer = await askForAnswer(engine)
    expect(answer.status).toBe(507)
    const { error } = (await answer.json()) as { error: { message: string; type: string } }
    expect(error.message).toContain(`the disk holding ${FULL_PATH} is full, so nothing was stored`)
    expect(error.type).toBe("server_error")
  })
})

describe("a memory engine at its maxBytes", () => {
  it("answers a stream's append and a hub publish 507 naming its bound and the flag that raises it, never a 503 to retry in a moment; reads go on", async () => {
    served = await serveStreams(createMemoryEngine({ maxBytes: 20_000 }))
    const { baseUrl, engine } = served
    const text = { "content-type": "text/plain" }
    expect((await fetch(`${baseUrl}/v1/stream/a`, { method: "PUT", headers: text })).status).toBe(201)
    const hub = await startHub({ engine })
    cleanups.push(() => hub.close())
    const publisher = await token(hub.hubUrl, { publish: ["*"] })
    expect((await publish(hub.hubUrl, { topic: "t", data: "before" }, publisher)).status).toBe(200)
    const body = "x".repeat(5_000)
    let appended = 0
    let refused: Response | undefined
    while (refused === undefined) {
      const answer = await fetch(`${baseUrl}/v1/stream/a`, { method: "POST", headers: text, body })
      if (answer.status === 204) appended++
      else refused = answer
    }
    expect(appended).toBeGreaterThan(0)
    const full =
      /memory engine has no room: its bound of 20000 bytes \(maxBytes\) is full, so nothing was stored\. .*raise maxBytes \(herald serve's --memory-max-bytes\)/
    for (const answer of [refused, await publish(hub.hubUrl, { topic: "t", data: body }, publisher)]) {
      expect(answer.status).toBe(507)
      expect(answer.headers.get("retry-after")).toBeNull()
      expect(((await answer.json()) as { detail: string }).detail).toMatch(full)
    }
    expect((await fetch(`${baseUrl}/v1/stream/a?offset=-1`)).status).toBe(200)
    // /readyz stays 200 and says what is full and what makes room (its answer is cached for a second).
    let ready = ""
    for (let i = 0; i < 30 && !ready.includes("full"); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100))
      const answer = await fetch(`${hub.origin}/readyz`)
      expect(answer.status).toBe(200)
      ready = await answer.text()
    }
    expect(ready).toBe(
      "ready, but writes fail: the memory engine is full: its bound of 20000 bytes (maxBytes) is full: appends fail until retention, TTLs or deletes free some, or maxBytes is raised (herald serve's --memory-max-bytes); reads are served",
    )
  })
})

const redisInstalled = await redisServerInstalled()

describe.skipIf(!redisInstalled && !STRICT)("a Redis past its maxmemory (noeviction)", () => {
  it("answers a stream's append, a new stream and a hub publish 507 naming it, never a 503 to retry in a moment; reads go on", async () => {
    const redis = await startRedis()
    cleanups.push(() => redis.destroy())
    const logger = recordingLogger()
    served = await serveStreams(await openRedisEngine({ url: redis.url, keyPrefix: "full", logger }))
    const { baseUrl, engine } = served
    const text = { "content-type": "text/plain" }
    expect((await fetch(`${baseUrl}/v1/stream/a`, { method: "PUT", headers: text })).status).toBe(201)
    const ttl = { ...text, "stream-ttl": "3600" }
    expect(
      (await fetch(`${baseUrl}/v1/stream/ttl`, { method: "PUT", headers: ttl, body: "kept" })).status,
    ).toBe(201)
    const hub = await startHub({ engine })
    cleanups.push(() => hub.close())
    const publisher = await token(hub.hubUrl, { publish: ["*"] })
    expect((await publish(hub.hubUrl, { topic: "t", data: "before" }, publisher)).status).toBe(200)
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 0 })
    cleanups.push(async () => admin.disconnect())
    await admin.config("SET", "maxmemory", "1")

    const full = new RegExp(
      `redis engine has no room: Redis at 127\\.0\\.0\\.1:${redis.port} is full, so nothing was stored\\. .*raise its maxmemory`,
    )
    for (const refused of [
      await fetch(`${baseUrl}/v1/stream/a`, { method: "POST", headers: text, body: "x" }),
      // A new stream: none is made.
      await fetch(`${baseUrl}/v1/stream/b`, { method: "PUT", headers: text }),
      await publish(hub.hubUrl, { topic: "t", data: "d" }, publisher),
    ]) {
      expect(refused.status).toBe(507)
      expect(refused.headers.get("retry-after")).toBeNull()
      expect(((await refused.json()) as { detail: string }).detail).toMatch(full)
    }
    expect((await fetch(`${baseUrl}/v1/stream/a?offset=-1`)).status).toBe(200)
    // A read that would slide a Stream-TTL too: the TTL stays where it was.
    const read = await fetch(`${baseUrl}/v1/stream/ttl?offset=-1`)
    expect(read.status).toBe(200)
    expect(await read.text()).toBe("kept")
    expect((await fetch(`${baseUrl}/v1/stream/b?offset=-1`)).status).toBe(404)
    // The operator is told, once for both.
    const told = logger.entries.filter((entry) => entry.level === "error" && /is full/.test(entry.message))
    expect(told).toHaveLength(1)
  })

  it("stops a generation when Stop is pressed, on its node and on another: its upstream request is aborted, the cancel answers 507 saying so", async () => {
    const redis = await startRedis()
    cleanups.push(() => redis.destroy())
    const upstream = await startUpstream()
    cleanups.unshift(() => upstream.close())
    // One delta, then silence: no append of the run's own comes to fail on the full Redis.
    upstream.answer = (response) => {
      response.writeHead(200, { "content-type": "text/event-stream" })
      response.write(openaiChunk({ content: "Thinking" }))
    }
    const open = () => openRedisEngine({ url: redis.url, keyPrefix: "cancel", logger: recordingLogger() })
    const { nodes, close } = await startNodes([await open(), await open()], {
      models: { gpt: { provider: "openai", baseURL: upstream.baseURL } },
      heartbeatMs: 0,
      cancelWaitMs: 100,
      logger: recordingLogger(),
    })
    cleanups.unshift(close)
    const [runner, other] = nodes.map((node) => node.origin)
    /** Starts a generation on the runner; resolves once its first delta is stored, with its upstream socket's close. */
    const generation = async () => {
      const response = await fetch(`${runner}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt", stream: true, messages: [{ role: "user", content: "hi" }] }),
      })
      cleanups.unshift(async () => response.body?.cancel())
      const socket = upstream.lastSocket
      const aborted = new Promise<boolean>((resolve) => socket?.once("close", () => resolve(true)))
      return { id: response.headers.get("herald-generation-id") as string, aborted }
    }
    const here = await generation()
    const elsewhere = await generation()
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 0 })
    cleanups.unshift(async () => admin.disconnect())
    await admin.config("SET", "maxmemory", "1")

    for (const [origin, { id, aborted }] of [
      [other, elsewhere],
      [runner, here],
    ] as const) {
      const cancelled = await fetch(`${origin}/v1/generations/${id}/cancel`, { method: "POST" })
      expect(await Promise.race([aborted, sleep(3000, false)])).toBe(true)
      expect(cancelled.status).toBe(507)
      const { error } = (await cancelled.json()) as { error: { message: string } }
      expect(error.message).toMatch(
        new RegExp(
          `^Generation ${id} was told to stop .* Redis at 127\\.0\\.0\\.1:${redis.port} is full, so neither its stop nor its end is stored`,
        ),
      )
    }
  })
})
