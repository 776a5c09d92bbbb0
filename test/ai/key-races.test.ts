// Requests racing for one Idempotency-Key on one node: the first claims it and starts the
// generation, the others answer that generation; none of them takes a second place under the
// subject's limits (a retry answered from an earlier generation counts for neither).
import { connect } from "node:net"
import { afterEach, describe, expect, it, vi } from "vitest"
import { createIdempotencyKeys, TURN_WAIT_MS } from "../../src/ai/idempotency.js"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { aiToken, slowCreating, startAI, type TestAI } from "./ai-server.js"

/** Runs for several seconds unless cancelled. */
const SLOW = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: 8 }

let running: TestAI | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

async function ask(origin: string, key: string | undefined): Promise<Response> {
  const token = await aiToken(["generate", "read", "cancel"], { subject: "urn:test:alice" })
  return fetch(`${origin}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${token}`,
      ...(key === undefined ? {} : { "idempotency-key": key }),
    },
    body: JSON.stringify({ model: "slow", stream: true, messages: [{ role: "user", content: "hi" }] }),
  })
}

describe("requests racing for one Idempotency-Key on one node", () => {
  it("all answer the one generation, and leave the subject's places to other requests", async () => {
    // Log creations that take a while, as a store's round trips do: the requests overlap.
    running = await startAI({
      openEngine: slowCreating(50),
      models: { slow: SLOW },
      auth: true,
      maxConcurrentPerSubject: 2,
      maxPerMinutePerSubject: 3,
    })
    const { origin } = running
    const racing = await Promise.all(Array.from({ length: 4 }, () => ask(origin, "same")))
    expect(racing.map((response) => response.status)).toEqual([200, 200, 200, 200])
    const ids = new Set(racing.map((response) => response.headers.get("herald-generation-id")))
    expect(ids.size).toBe(1)
    // One generation runs and one started: a second place and two more starts are left.
    const other = await ask(origin, undefined)
    expect(other.status).toBe(200)
    const third = await ask(origin, "another")
    expect(third.status).toBe(429)
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe(
      "concurrency_limit_exceeded",
    )
    for (const response of [...racing, other]) await response.body?.cancel()
  })
})

/** Sends `body` as a create request with `key` on a raw socket, and leaves after `ms`, unanswered. */
async function askAndLeave(origin: string, key: string, ms: number): Promise<void> {
  const { hostname, port } = new URL(origin)
  const token = await aiToken(["generate", "read", "cancel"], { subject: "urn:test:alice" })
  const body = JSON.stringify({ model: "slow", stream: true, messages: [{ role: "user", content: "hi" }] })
  const socket = connect(Number(port), hostname)
  await new Promise((resolve) => socket.once("connect", resolve))
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
      `authorization: Bearer ${token}\r\nidempotency-key: ${key}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
  await new Promise((resolve) => setTimeout(resolve, ms))
  socket.destroy()
}

describe("requests waiting for their turn at one Idempotency-Key", () => {
  it("take none when their client left meanwhile: a later request waits for none of them", async () => {
    /** Looks at the key's log, counted: one per turn taken. */
    let keyLooks = 0
    running = await startAI({
      openEngine: (): Engine => {
        const engine = createMemoryEngine()
        const head = engine.head.bind(engine)
        engine.head = async (log) => {
          if (log.startsWith("ai/idempotency/")) keyLooks++
          // A store that takes a while: the turns queue up.
          await new Promise((resolve) => setTimeout(resolve, 100))
          return head(log)
        }
        return engine
      },
      models: { slow: SLOW },
      auth: true,
    })
    const { origin } = running
    const first = ask(origin, "same")
    await new Promise((resolve) => setTimeout(resolve, 20))
    await Promise.all(Array.from({ length: 5 }, () => askAndLeave(origin, "same", 30)))
    const last = await ask(origin, "same")
    const answered = await first
    expect([answered.status, last.status]).toEqual([200, 200])
    expect(last.headers.get("herald-generation-id")).toBe(answered.headers.get("herald-generation-id"))
    // The first request's turn and the last one's: the five that left took none.
    expect(keyLooks).toBe(2)
    for (const response of [answered, last]) await response.body?.cancel()
  })

  it("wait at most TURN_WAIT_MS for a turn that does not end (a store that does not answer)", async () => {
    vi.useFakeTimers()
    try {
      const keys = createIdempotencyKeys(createMemoryEngine(), 60_000)
      void keys.inTurn("urn:test:alice", "same", () => new Promise(() => {}))
      let ran = false
      const next = keys.inTurn("urn:test:alice", "same", async () => {
        ran = true
      })
      await vi.advanceTimersByTimeAsync(TURN_WAIT_MS - 1)
      expect(ran).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      await next
      expect(ran).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })
})
