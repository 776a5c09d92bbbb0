// Refusals that are the engine's, answered in the protocol's terms: an engine that cannot reach
// its store is a 503 with Retry-After on every operation (on a switchable engine, and on a real
// Redis client whose server is not there), never a 500 or a false success; an expiry the engine
// cannot keep, or one that has passed, is a 400 naming the header.
import { afterEach, describe, expect, it } from "vitest"
import { createRedisEngine } from "../../src/engine/redis.js"
import { freePort } from "../engine/redis-servers.js"
import { switchableEngine } from "../engine/switchable-engine.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

let served: ServedStreams | undefined
afterEach(async () => {
  await served?.close()
  served = undefined
})

async function expectUnavailable(response: Response, engine: string, head = false): Promise<void> {
  expect(response.status).toBe(503)
  expect(response.headers.get("retry-after")).toBe("1")
  expect(response.headers.get("x-content-type-options")).toBe("nosniff")
  expect(response.headers.get("content-type")).toBe("application/problem+json")
  if (head) return
  const problem = (await response.json()) as { status: number; detail: string }
  expect(problem.status).toBe(503)
  expect(problem.detail).toContain(`${engine} engine is unavailable`)
  expect(problem.detail).toContain("Producer-Id")
}

describe("an engine that cannot reach its store", () => {
  it("answers every operation 503 with Retry-After, then serves again once it is back", async () => {
    const { engine, setDown } = switchableEngine()
    served = await serveStreams(engine)
    const url = `${served.baseUrl}/v1/stream/away`
    const text = { "content-type": "text/plain" }
    expect((await fetch(url, { method: "PUT", headers: text, body: "a" })).status).toBe(201)
    const tail = (await fetch(url, { method: "HEAD" })).headers.get("stream-next-offset") as string

    setDown(true)
    const answers = {
      create: await fetch(`${url}-2`, { method: "PUT", headers: text }),
      append: await fetch(url, { method: "POST", headers: text, body: "b" }),
      read: await fetch(`${url}?offset=-1`),
      longPoll: await fetch(`${url}?offset=${tail}&live=long-poll`),
      sse: await fetch(`${url}?offset=-1&live=sse`),
      head: await fetch(url, { method: "HEAD" }),
      delete: await fetch(url, { method: "DELETE" }),
    }
    for (const [operation, response] of Object.entries(answers)) {
      await expect(
        expectUnavailable(response, "memory", operation === "head"),
        operation,
      ).resolves.toBeUndefined()
    }

    setDown(false)
    expect((await fetch(url, { method: "POST", headers: text, body: "b" })).status).toBe(204)
    expect(await (await fetch(`${url}?offset=-1`)).text()).toBe("ab")
  })

  it("is a 503 on a real Redis client whose server does not answer", async () => {
    const port = await freePort()
    const engine = createRedisEngine({
      url: `redis://127.0.0.1:${port}`,
      keyPrefix: "herald-streams-away",
      connectWaitMs: 200,
      commandTimeoutMs: 200,
    })
    served = await serveStreams(engine)
    const response = await fetch(`${served.baseUrl}/v1/stream/nowhere`, { method: "PUT" })
    await expectUnavailable(response, "redis")
  })
})

describe("expiry headers the engine cannot keep", () => {
  it.each([
    ["0", "a stream that expires at once"],
    ["3153600001", "more than 100 years"],
  ])("refuses Stream-TTL: %s (%s) with a 400 naming the header", async (ttl) => {
    served = await serveStreams(switchableEngine().engine)
    const response = await fetch(`${served.baseUrl}/v1/stream/ttl`, {
      method: "PUT",
      headers: { "stream-ttl": ttl },
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { detail: string }).detail).toContain("`Stream-TTL` must be 1 to")
    expect((await fetch(`${served.baseUrl}/v1/stream/ttl`, { method: "HEAD" })).status).toBe(404)
  })

  it("refuses a Stream-Expires-At that has passed with a 400 naming the header, creating nothing", async () => {
    served = await serveStreams(switchableEngine().engine)
    const url = `${served.baseUrl}/v1/stream/expired`
    const response = await fetch(url, {
      method: "PUT",
      headers: { "stream-expires-at": "2000-01-01T00:00:00Z" },
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { detail: string }).detail).toContain(
      "`Stream-Expires-At` must be in the future",
    )
    expect((await fetch(url, { method: "HEAD" })).status).toBe(404)
    // A fork asks the same of its own expiry.
    expect((await fetch(url, { method: "PUT" })).status).toBe(201)
    const fork = await fetch(`${url}-fork`, {
      method: "PUT",
      headers: { "stream-forked-from": "/v1/stream/expired", "stream-expires-at": "2000-01-01T00:00:00Z" },
    })
    expect(fork.status).toBe(400)
    expect((await fetch(`${url}-fork`, { method: "HEAD" })).status).toBe(404)
  })

  it("refuses a Stream-Expires-At whose date is none of the calendar's (February 31st), and takes February 29th of a leap year", async () => {
    served = await serveStreams(switchableEngine().engine)
    const put = (name: string, expires: string) =>
      fetch(`${served?.baseUrl}/v1/stream/${name}`, {
        method: "PUT",
        headers: { "stream-expires-at": expires },
      })
    const refused = await put("no-such-day", "2099-02-31T00:00:00Z")
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { detail: string }).detail).toContain("RFC 3339")
    expect((await put("not-leap", "2099-02-29T00:00:00Z")).status).toBe(400)
    expect((await put("leap", "2096-02-29T00:00:00+02:00")).status).toBe(201)
  })

  it("takes Stream-TTL: 1", async () => {
    served = await serveStreams(switchableEngine().engine)
    const url = `${served.baseUrl}/v1/stream/ttl`
    expect((await fetch(url, { method: "PUT", headers: { "stream-ttl": "1" } })).status).toBe(201)
    expect((await fetch(url, { method: "HEAD" })).headers.get("stream-ttl")).toBe("1")
  })
})
