// Requests racing for one Idempotency-Key on one node: the first claims it and starts the
// generation, the others answer that generation; none of them takes a second place under the
// subject's limits (a retry answered from an earlier generation counts for neither).
import { afterEach, describe, expect, it } from "vitest"
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
