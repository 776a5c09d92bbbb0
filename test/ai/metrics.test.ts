import { afterEach, describe, expect, it } from "vitest"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { switchableEngine } from "../engine/switchable-engine.js"
import { recordingLogger } from "../server/helpers.js"
import { readEvents, startAI, type TestAI } from "./ai-server.js"
import { testEngines } from "./engines.js"
import { startUpstream, type Upstream } from "./upstream.js"

const FAST = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: 400 }
const SLOW = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: 8 }
const FAILING = { ...FAST, failAfterTokens: 3 }

let running: TestAI | undefined
let upstream: Upstream | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
  await upstream?.close()
  upstream = undefined
})

function create(origin: string, model: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${origin}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "hi" }], ...extra }),
  })
}

/** The value of one sample of the Prometheus text, `undefined` when absent. */
function sample(text: string, name: string): number | undefined {
  const line = text.split("\n").find((each) => each.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

const ENGINES = await testEngines("metrics")

describe("/metrics of the generations", () => {
  for (const kind of ENGINES) {
    describe.skipIf(!kind.available)(`on the ${kind.name} engine`, () => {
      it("counts running, started and ended by status, and observes first token, rate, tokens and cancel latency", async () => {
        running = await startAI({
          openEngine: kind.open,
          models: { fast: FAST, slow: SLOW, failing: FAILING },
          maxOutputTokens: 1000,
        })
        const { origin, ai } = running
        await readEvents(await create(origin, "fast"))
        await readEvents(await create(origin, "failing"))
        const slow = await create(origin, "slow")
        const id = slow.headers.get("herald-generation-id")
        await readEvents(slow, (events) => events.length >= 2)
        let text = await ai.metrics.metrics()
        expect(sample(text, "herald_ai_generations_running")).toBe(1)
        expect(sample(text, 'herald_ai_generations_started_total{model="slow"}')).toBe(1)
        await fetch(`${origin}/v1/generations/${id}/cancel`, { method: "POST" })
        expect((await create(origin, "fast", { max_tokens: 5000 })).status).toBe(400)

        text = await ai.metrics.metrics()
        expect(sample(text, "herald_ai_generations_running")).toBe(0)
        expect(sample(text, 'herald_ai_generations_ended_total{model="fast",status="done"}')).toBe(1)
        expect(sample(text, 'herald_ai_generations_ended_total{model="failing",status="failed"}')).toBe(1)
        expect(sample(text, 'herald_ai_generations_ended_total{model="slow",status="cancelled"}')).toBe(1)
        expect(sample(text, 'herald_ai_time_to_first_token_seconds_count{model="fast"}')).toBe(1)
        expect(sample(text, 'herald_ai_tokens_per_second_count{model="fast"}')).toBe(1)
        expect(sample(text, 'herald_ai_output_tokens_total{model="fast"}')).toBeGreaterThan(10)
        // The demo model counts the prompt's tokens as a provider does.
        expect(sample(text, 'herald_ai_input_tokens_total{model="fast"}')).toBeGreaterThan(0)
        expect(sample(text, "herald_ai_cancel_latency_seconds_count")).toBe(1)
        expect(sample(text, 'herald_ai_requests_refused_total{reason="max_tokens"}')).toBe(1)
      })
    })
  }
})

describe("/metrics of the requests the engine refused", () => {
  it("counts them in herald_ai_requests_refused_total by the engine's reason: unavailable, full, at its maximum of logs; reads too", async () => {
    const { engine, setDown, setFull } = switchableEngine()
    running = await startAI({
      openEngine: () => engine,
      models: { fast: FAST, slow: SLOW },
      logger: recordingLogger(),
    })
    const { origin, ai } = running
    const done = await create(origin, "fast")
    await readEvents(done)
    setDown(true)
    expect((await create(origin, "fast")).status).toBe(503)
    const stream = `${origin}/v1/generations/${done.headers.get("herald-generation-id")}/stream`
    expect((await fetch(stream)).status).toBe(503)
    setDown(false)
    const slow = await create(origin, "slow")
    setFull(true)
    // A Stop the store has no room to record: the generation is told to stop, the request refused.
    const cancel = `${origin}/v1/generations/${slow.headers.get("herald-generation-id")}/cancel`
    const cancelled = await fetch(cancel, { method: "POST" })
    expect(cancelled.status).toBe(507)
    expect(((await cancelled.json()) as { error: { message: string } }).error.message).toMatch(
      /was told to stop/,
    )
    expect((await create(origin, "fast")).status).toBe(507)
    setFull(false)
    await slow.body?.cancel()
    const text = await ai.metrics.metrics()
    expect(sample(text, 'herald_ai_requests_refused_total{reason="engine_unavailable"}')).toBe(2)
    expect(sample(text, 'herald_ai_requests_refused_total{reason="engine_full"}')).toBe(2)
    await running.close()

    // An engine at its maximum of logs: a generation finds no room for its own.
    const oneLog = createMemoryEngine({ maxLogs: 1 })
    await oneLog.create("filler")
    running = await startAI({ openEngine: () => oneLog, models: { fast: FAST }, logger: recordingLogger() })
    expect((await create(running.origin, "fast")).status).toBe(503)
    const counted = await running.ai.metrics.metrics()
    expect(sample(counted, 'herald_ai_requests_refused_total{reason="engine_max_logs"}')).toBe(1)
  })
})

describe("/metrics of the upstream's refusals", () => {
  it("counts them by the upstream's status, or unreachable: a key it refuses is told from an upstream away", async () => {
    upstream = await startUpstream()
    const closed = await startUpstream()
    const unreachable = closed.baseURL
    await closed.close()
    running = await startAI({
      models: {
        up: { provider: "openai", baseURL: upstream.baseURL },
        away: { provider: "openai", baseURL: unreachable },
      },
    })
    const { origin, ai } = running
    const refusal = (status: number) => ({
      status,
      headers: { "content-type": "application/json" },
      chunks: [JSON.stringify({ error: { message: "no", type: "invalid_request_error" } })],
    })
    for (const status of [401, 401, 429]) {
      upstream.answer = refusal(status)
      expect((await create(origin, "up")).status).toBeGreaterThanOrEqual(400)
    }
    expect((await create(origin, "away")).status).toBe(502)
    // Counted as the generations end, which may come just after the answers.
    const sampled = async (name: string) => sample(await ai.metrics.metrics(), name)
    await expect
      .poll(() => sampled('herald_ai_generations_ended_total{model="away",status="failed"}'))
      .toBe(1)
    await expect.poll(() => sampled('herald_ai_generations_ended_total{model="up",status="failed"}')).toBe(3)
    expect(await sampled('herald_ai_upstream_refusals_total{model="up",status="401"}')).toBe(2)
    expect(await sampled('herald_ai_upstream_refusals_total{model="up",status="429"}')).toBe(1)
    expect(await sampled('herald_ai_upstream_refusals_total{model="away",status="unreachable"}')).toBe(1)
  })
})
