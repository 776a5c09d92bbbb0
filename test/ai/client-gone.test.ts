// A create request whose client is gone before its generation has a viewer: the generation must
// still follow the disconnect rule (Herald-On-Disconnect, the grace period), not run to its end
// unread while holding its subject's slot.
import { connect } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { slowCreating, startAI, type TestAI } from "./ai-server.js"

/** A demo model that answers for a long while. */
const LONG = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: 20 }

let running: TestAI | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

/** The value of one sample of the Prometheus text, 0 when absent. */
function sample(text: string, name: string): number {
  const line = text.split("\n").find((each) => each.startsWith(`${name} `))
  return line === undefined ? 0 : Number(line.slice(name.length + 1))
}

/** Sends a whole create request on a raw socket and destroys it `afterMs` later, before any answer. */
async function sendAndLeave(origin: string, headers: Record<string, string>, afterMs: number): Promise<void> {
  const { hostname, port } = new URL(origin)
  const body = JSON.stringify({
    model: "long",
    stream: true,
    messages: [{ role: "user", content: "Tell me everything about server-sent events" }],
  })
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`)
  const socket = connect(Number(port), hostname)
  await new Promise((resolve) => socket.once("connect", resolve))
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n${extra.join("")}\r\n${body}`,
  )
  await new Promise((resolve) => setTimeout(resolve, afterMs))
  socket.destroy()
}

describe("a create request whose client left before its generation had a viewer", () => {
  it("is cancelled at once with Herald-On-Disconnect: cancel, and after the grace period by default", async () => {
    running = await startAI({
      openEngine: slowCreating(150),
      models: { long: LONG },
      disconnectGraceMs: 300,
    })
    const { origin, ai } = running
    const cancelled = () =>
      ai.metrics
        .metrics()
        .then((text) => sample(text, 'herald_ai_generations_ended_total{model="long",status="cancelled"}'))
    await sendAndLeave(origin, { "herald-on-disconnect": "cancel" }, 30)
    // Started once the store answered, after the client left; cancelled then, with no grace.
    await expect.poll(cancelled, { timeout: 1_000 }).toBe(1)
    await sendAndLeave(origin, {}, 30)
    await expect.poll(cancelled, { timeout: 3_000 }).toBe(2)
    expect(sample(await ai.metrics.metrics(), "herald_ai_generations_running")).toBe(0)
  })
})

describe("an Idempotency-Key retry of a whole answer, after its client left", () => {
  it("is a viewer: the grace period does not cancel the generation it waits for", async () => {
    running = await startAI({ models: { long: { ...LONG, tokensPerSecond: 50 } }, disconnectGraceMs: 200 })
    const { origin } = running
    const ask = (signal?: AbortSignal) =>
      fetch(`${origin}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": "retry-me" },
        body: JSON.stringify({
          model: "long",
          max_tokens: 30,
          messages: [{ role: "user", content: "Tell me everything about server-sent events" }],
        }),
        ...(signal === undefined ? {} : { signal }),
      })
    const first = new AbortController()
    const lost = ask(first.signal).catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, 100))
    first.abort()
    await lost
    const retry = await ask()
    expect(retry.headers.get("idempotent-replayed")).toBe("true")
    expect(retry.status).toBe(200)
    const answer = (await retry.json()) as { choices: { finish_reason: string }[] }
    expect(answer.choices[0]?.finish_reason).toBe("length")
  })
})
