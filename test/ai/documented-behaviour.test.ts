// Claims of docs/ai.md that no other test backs, each asserted as the doc states it.
import OpenAI from "openai"
import { afterEach, describe, expect, it, vi } from "vitest"
import type { Provider } from "../../src/ai/provider.js"
import { type EndEntry, serializeEntry } from "../../src/ai/stored-entry.js"
import type { Engine } from "../../src/engine/engine.js"
import { formatPosition, parsePosition } from "../../src/engine/position.js"
import type { ServerSentEvent } from "../../src/protocol/index.js"
import { aiToken, openGenerationOf, readEvents, startAI, type TestAI } from "./ai-server.js"
import { testEngines } from "./engines.js"
import { OPENAI_ERROR_AFTER_TEXT, openaiChunk, startUpstream, type Upstream } from "./upstream.js"

const FAST_DEMO = {
  provider: "demo" as const,
  timeToFirstTokenMs: 0,
  tokensPerSecond: Number.POSITIVE_INFINITY,
}
/** Runs for about 10 seconds unless stopped. */
const SLOW_DEMO = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: 8 }
const MESSAGES = [{ role: "user", content: "Tell me about resumable streams" }]

let running: TestAI | undefined
let upstream: Upstream | undefined
afterEach(async () => {
  vi.useRealTimers()
  await running?.close()
  await upstream?.close()
  running = undefined
  upstream = undefined
})

function post(
  origin: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${origin}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  })
}

/** An upstream that answers 200 with one delta (or, `null`, none), then stalls with the connection open. */
function stall(target: Upstream, firstDelta: string | null = "Thinking"): void {
  target.answer = (response) => {
    response.writeHead(200, { "content-type": "text/event-stream" })
    if (firstDelta !== null) response.write(openaiChunk({ content: firstDelta }))
  }
}

/** The ids of the generations running on the test server, once there are `count`. */
async function runningIds(ai: TestAI, count: number): Promise<string[]> {
  await expect.poll(() => ai.ai.generations.activity().running.length).toBe(count)
  return ai.ai.generations.activity().running.map((run) => run.id)
}

/** An open generation run by node `owner` (not this server), which holds a lease and never answers. */
async function generationOfSilentNode(engine: Engine, id: string, owner: string): Promise<string> {
  await engine.holdLease(owner, 60_000)
  return openGenerationOf(engine, id, owner, "Half")
}

describe("a request field the upstream's format cannot express", () => {
  it("is a 400 naming it (response_format to an Anthropic upstream), and the upstream is never asked", async () => {
    upstream = await startUpstream()
    upstream.answer = {
      chunks: [
        `event: message_start\ndata: ${JSON.stringify({ type: "message_start", message: { id: "m", type: "message", role: "assistant", content: [], model: "c", usage: { input_tokens: 3, output_tokens: 0 } } })}\n\n`,
        `event: content_block_start\ndata: ${JSON.stringify({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })}\n\n`,
        `event: content_block_delta\ndata: ${JSON.stringify({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi" } })}\n\n`,
        `event: content_block_stop\ndata: ${JSON.stringify({ type: "content_block_stop", index: 0 })}\n\n`,
        `event: message_delta\ndata: ${JSON.stringify({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 1 } })}\n\n`,
        `event: message_stop\ndata: ${JSON.stringify({ type: "message_stop" })}\n\n`,
      ],
    }
    running = await startAI({
      models: { claude: { provider: "anthropic", baseURL: upstream.baseURL, apiKey: "upstream-key" } },
    })
    const client = new OpenAI({ baseURL: `${running.origin}/v1`, apiKey: "unused", maxRetries: 0 })
    await expect(
      client.chat.completions.create({
        model: "claude",
        messages: [{ role: "user", content: "hi" }],
        response_format: { type: "json_object" },
      }),
    ).rejects.toMatchObject({ status: 400, param: "response_format", type: "invalid_request_error" })
    const streaming = await post(running.origin, "/v1/chat/completions", {
      model: "claude",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
      response_format: { type: "json_object" },
    })
    expect(streaming.status).toBe(400)
    expect(await streaming.json()).toMatchObject({
      error: { param: "response_format", type: "invalid_request_error" },
    })
    expect(upstream.requests).toHaveLength(0)
    // The same request without the field does reach this upstream.
    const plain = await client.chat.completions.create({
      model: "claude",
      messages: [{ role: "user", content: "hi" }],
    })
    expect(plain.choices[0]?.message.content).toBe("Hi")
    expect(upstream.requests).toHaveLength(1)
  })
})

describe("non-streaming failures, in each endpoint's shape", () => {
  it("an upstream error after the upstream's 200 is a 502", async () => {
    upstream = await startUpstream()
    upstream.answer = { chunks: OPENAI_ERROR_AFTER_TEXT }
    running = await startAI({ models: { gpt: { provider: "openai", baseURL: upstream.baseURL } } })
    const openai = await post(running.origin, "/v1/chat/completions", { model: "gpt", messages: MESSAGES })
    expect(openai.status).toBe(502)
    expect(await openai.json()).toEqual({
      error: { message: "The server had an error", type: "server_error", param: null, code: null },
    })
    const anthropic = await post(running.origin, "/v1/messages", {
      model: "gpt",
      max_tokens: 50,
      messages: MESSAGES,
    })
    expect(anthropic.status).toBe(502)
    expect(await anthropic.json()).toMatchObject({
      type: "error",
      error: { message: "The server had an error" },
    })
  })

  /**
   * A stalled generation asked for whole in each format, `end` done to both once they run; then
   * each answer must be `status` with error type `type`, in its endpoint's shape.
   */
  async function expectWholeAnswersEnded(
    end: (ids: string[]) => Promise<void>,
    status: number,
    type: string,
  ) {
    upstream = await startUpstream()
    stall(upstream)
    const started = await startAI({ models: { gpt: { provider: "openai", baseURL: upstream.baseURL } } })
    running = started
    const answers = [
      post(started.origin, "/v1/chat/completions", { model: "gpt", messages: MESSAGES }),
      post(started.origin, "/v1/messages", { model: "gpt", max_tokens: 50, messages: MESSAGES }),
    ]
    await end(await runningIds(started, 2))
    const [openaiAnswer, anthropicAnswer] = await Promise.all(answers)
    expect(openaiAnswer?.status).toBe(status)
    expect(await openaiAnswer?.json()).toMatchObject({ error: { type } })
    expect(anthropicAnswer?.status).toBe(status)
    expect(await anthropicAnswer?.json()).toMatchObject({ type: "error", error: { type } })
  }

  it("a cancelled generation is a 409 of type generation_cancelled", async () => {
    await expectWholeAnswersEnded(
      async (ids) => {
        for (const id of ids) {
          const cancelled = await post(running?.origin ?? "", `/v1/generations/${id}/cancel`, "")
          expect(cancelled.status).toBe(200)
          await cancelled.body?.cancel()
        }
      },
      409,
      "generation_cancelled",
    )
  })

  it("an interrupted generation (its node shut down) is a 503 of type generation_interrupted", async () => {
    let closing: Promise<void> | undefined
    await expectWholeAnswersEnded(
      async () => {
        closing = running?.ai.close({ deadlineMs: 0 })
      },
      503,
      "generation_interrupted",
    )
    await closing
  })
})

describe("POST /v1/generations/{id}/cancel", () => {
  it("answers 202 with the state while the generation is still stopping after cancelWaitMs, 200 once it ended", async () => {
    running = await startAI({ cancelWaitMs: 150 })
    const id = "CCCCCCCCCCCCCCCCCCCCCC"
    const log = await generationOfSilentNode(running.engine, id, "silent-node")
    const started = performance.now()
    const stopping = await post(running.origin, `/v1/generations/${id}/cancel`, "")
    expect(stopping.status).toBe(202)
    expect(performance.now() - started).toBeGreaterThanOrEqual(145)
    expect(await stopping.json()).toMatchObject({ id, status: "running" })
    // The stop is asked for durably: the node running it reads the flag.
    expect((await running.engine.head(log))?.stopRequested).toBe(true)
    // That node stops it; a cancel now answers 200 with the end.
    const end: EndEntry = {
      type: "end",
      status: "cancelled",
      stats: { durationMs: 5, usage: { source: "estimated" } },
      error: { type: "cancelled", message: "the generation was cancelled" },
    }
    await running.engine.append(log, [{ data: serializeEntry(end) }], {
      fence: { owner: "silent-node" },
      close: true,
    })
    const ended = await post(running.origin, `/v1/generations/${id}/cancel`, "")
    expect(ended.status).toBe(200)
    expect(await ended.json()).toMatchObject({ id, status: "cancelled" })
  })
})

const ENGINES = await testEngines("documented")

for (const kind of ENGINES) {
  describe.skipIf(!kind.available)(`resume cursors, on the ${kind.name} engine`, () => {
    /** A finished generation with text and a tool call, so some entries render several events. */
    async function finishedGeneration(): Promise<{ origin: string; id: string }> {
      running = await startAI({
        openEngine: kind.open,
        models: {
          demo: { ...FAST_DEMO, words: 40, toolCall: { name: "lookup", arguments: '{"q":"logs"}' } },
        },
      })
      const created = await post(running.origin, "/v1/chat/completions", {
        model: "demo",
        stream: true,
        messages: MESSAGES,
      })
      expect(created.status).toBe(200)
      const id = created.headers.get("herald-generation-id") as string
      expect((await readEvents(created)).at(-1)?.data).toBe("[DONE]")
      return { origin: running.origin, id }
    }

    function stream(
      origin: string,
      id: string,
      query: Record<string, string>,
      headers: Record<string, string> = {},
    ) {
      const search = new URLSearchParams(query).toString()
      return fetch(`${origin}/v1/generations/${id}/stream${search === "" ? "" : `?${search}`}`, { headers })
    }

    async function eventsOf(response: Response): Promise<ServerSentEvent[]> {
      expect(response.status).toBe(200)
      return readEvents(response)
    }

    it("?last_event_id= resumes exactly like the Last-Event-ID header", async () => {
      const { origin, id } = await finishedGeneration()
      for (const format of ["openai", "anthropic"]) {
        const all = await eventsOf(await stream(origin, id, { format }))
        expect(all.length).toBeGreaterThan(4)
        for (const at of [0, 1, Math.floor(all.length / 2), all.length - 2]) {
          const cursor = (all[at] as ServerSentEvent).lastEventId
          const byHeader = await eventsOf(await stream(origin, id, { format }, { "last-event-id": cursor }))
          const byQuery = await eventsOf(await stream(origin, id, { format, last_event_id: cursor }))
          expect(byHeader).toEqual(all.slice(at + 1))
          expect(byQuery).toEqual(byHeader)
        }
      }
      const refused = await stream(origin, id, { last_event_id: "abcdefgh_0000000000000001" })
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({ error: { param: "last_event_id" } })
    })

    it("a cursor past what the generation's log holds (events a store failover lost) is a 410, not a read from the start", async () => {
      const { origin, id } = await finishedGeneration()
      const all = await eventsOf(await stream(origin, id, {}))
      const last = parsePosition((all.at(-1) as ServerSentEvent).lastEventId)
      if (last === undefined) throw new Error("the last event's id is no position")
      const lost = formatPosition(last.epoch, last.seq + 3)
      for (const format of ["openai", "anthropic", "ai-sdk"]) {
        const refused = await stream(origin, id, { format }, { "last-event-id": `${lost}.1` })
        expect(refused.status).toBe(410)
        expect(JSON.stringify(await refused.json())).toContain("were lost")
      }
    })

    it("resuming after any event, the first one's {position}.0 included, gives exactly the events after it (OpenAI and Anthropic views)", async () => {
      const { origin, id } = await finishedGeneration()
      for (const format of ["openai", "anthropic"]) {
        const all = await eventsOf(await stream(origin, id, { format }))
        // The first entry renders several events: the first one's id is `{position}.0`.
        const first = all[0] as ServerSentEvent
        expect(first.lastEventId).toMatch(/\.0$/)
        for (let at = 0; at < all.length; at++) {
          const rest = await eventsOf(
            await stream(
              origin,
              id,
              { format },
              { "last-event-id": (all[at] as ServerSentEvent).lastEventId },
            ),
          )
          expect(rest).toEqual(all.slice(at + 1))
        }
        const afterFirst = await eventsOf(
          await stream(origin, id, { format }, { "last-event-id": first.lastEventId }),
        )
        const seen = [first, ...afterFirst]
        if (format === "openai") {
          const roles = seen.filter((event) => event.data.includes('"role":"assistant"'))
          expect(roles).toHaveLength(1)
          expect(seen.at(-1)?.data).toBe("[DONE]")
        } else {
          const count = (type: string) => seen.filter((event) => event.type === type).length
          expect(first.type).toBe("message_start")
          expect(count("message_start")).toBe(1)
          expect(count("ping")).toBe(1)
          // A text block and the tool call's block, each started once.
          expect(count("content_block_start")).toBe(2)
          expect(count("message_stop")).toBe(1)
        }
      }
    })
  })
}

describe("the Anthropic view", () => {
  it("sends a ping right after message_start, live and on /stream", async () => {
    running = await startAI({ models: { demo: FAST_DEMO } })
    const created = await post(running.origin, "/v1/messages", {
      model: "demo",
      max_tokens: 200,
      stream: true,
      messages: MESSAGES,
    })
    const live = await readEvents(created)
    expect(live.slice(0, 3).map((event) => [event.type, JSON.parse(event.data).type])).toEqual([
      ["message_start", "message_start"],
      ["ping", "ping"],
      ["content_block_start", "content_block_start"],
    ])
    expect(live[1]?.data).toBe('{"type":"ping"}')
    const id = created.headers.get("herald-generation-id") as string
    const again = await readEvents(
      await fetch(`${running.origin}/v1/generations/${id}/stream?format=anthropic`),
    )
    expect(again.slice(0, 2).map((event) => event.type)).toEqual(["message_start", "ping"])
  })
})

describe("the documented defaults, as applied", () => {
  it("maxOutputTokens 65 536: 65 536 is admitted, 65 537 refused naming the field", async () => {
    running = await startAI({ models: { demo: FAST_DEMO } })
    const over = await post(running.origin, "/v1/chat/completions", {
      model: "demo",
      max_tokens: 65_537,
      messages: MESSAGES,
    })
    expect(over.status).toBe(400)
    expect(await over.json()).toMatchObject({
      error: {
        param: "max_tokens",
        message: "max_tokens: at most 65536 output tokens may be asked for here.",
      },
    })
    const anthropicOver = await post(running.origin, "/v1/messages", {
      model: "demo",
      max_tokens: 65_537,
      messages: MESSAGES,
    })
    expect(anthropicOver.status).toBe(400)
    const within = await post(running.origin, "/v1/chat/completions", {
      model: "demo",
      max_tokens: 65_536,
      messages: MESSAGES,
    })
    expect(within.status).toBe(200)
    expect(await within.json()).toMatchObject({ object: "chat.completion" })
  })

  it("maxBodyBytes 8 MiB: a body of exactly 8 MiB is admitted, one byte more is a 413", async () => {
    running = await startAI({ models: { demo: FAST_DEMO } })
    const json = JSON.stringify({ model: "demo", messages: [{ role: "user", content: "hi" }] })
    const limit = 8 * 1024 * 1024
    // Whitespace after the value is still JSON.
    const exact = json + " ".repeat(limit - json.length)
    expect(Buffer.byteLength(exact)).toBe(limit)
    const admitted = await post(running.origin, "/v1/chat/completions", exact)
    expect(admitted.status).toBe(200)
    await admitted.body?.cancel()
    const over = await post(running.origin, "/v1/chat/completions", `${exact} `)
    expect(over.status).toBe(413)
    expect(await over.json()).toMatchObject({
      error: { message: `The body is larger than this server accepts (${limit} bytes).` },
    })
  })

  it("maxConcurrentPerSubject 16: a subject's 17th running generation is refused", async () => {
    running = await startAI({ auth: true, models: { demo: SLOW_DEMO } })
    const origin = running.origin
    const alice = { authorization: `Bearer ${await aiToken(["generate", "read", "cancel"])}` }
    const body = { model: "demo", stream: true, messages: MESSAGES }
    const admitted: Response[] = []
    for (let index = 0; index < 16; index++)
      admitted.push(await post(origin, "/v1/chat/completions", body, alice))
    expect(admitted.map((response) => response.status)).toEqual(Array(16).fill(200))
    const seventeenth = await post(origin, "/v1/chat/completions", body, alice)
    expect(seventeenth.status).toBe(429)
    expect(await seventeenth.json()).toMatchObject({ error: { code: "concurrency_limit_exceeded" } })
    for (const response of admitted) await response.body?.cancel()
  })

  it("maxPerMinutePerSubject 120: a subject's 121st start within a minute is refused", async () => {
    running = await startAI({
      auth: true,
      models: { demo: { ...FAST_DEMO, words: 3 } },
      // Well above the starts in flight here, so that only the rate can refuse.
      maxConcurrentPerSubject: 1000,
    })
    const origin = running.origin
    const alice = { authorization: `Bearer ${await aiToken(["generate"])}` }
    const body = { model: "demo", messages: MESSAGES }
    const statuses: number[] = []
    for (let batch = 0; batch < 120 / 8; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => post(origin, "/v1/chat/completions", body, alice)),
      )
      for (const answer of answers) {
        statuses.push(answer.status)
        await answer.body?.cancel()
      }
    }
    expect(statuses).toEqual(Array(120).fill(200))
    const refused = await post(origin, "/v1/chat/completions", body, alice)
    expect(refused.status).toBe(429)
    expect(await refused.json()).toMatchObject({ error: { code: "rate_limit_exceeded" } })
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(30)
  })

  it("disconnect grace 30 s: a generation whose last viewer left runs on 30 s, then is cancelled", async () => {
    running = await startAI()
    const provider: Provider = {
      kind: "test",
      async *stream(_request, signal) {
        // The model thinks until stopped.
        await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)))
      },
    }
    const run = await running.ai.generations.start({
      provider,
      request: { model: "m", messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] },
      meta: { model: "m", format: "openai", owner: undefined, createdAt: Date.now(), includeUsage: false },
    })
    const leave = running.ai.generations.watch(run.id)
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })
    // Synchronous from here on: nothing but the grace's timer runs on the fake clock.
    leave()
    vi.advanceTimersByTime(29_999)
    expect(run.running).toBe(true)
    vi.advanceTimersByTime(1)
    vi.useRealTimers()
    // Stopped once the store has answered that no viewer on another node left its mark.
    expect(await run.ended).toMatchObject({
      status: "cancelled",
      error: { message: "every viewer left and none came back within the disconnect grace period" },
    })
  })

  it("headWaitMs 2 s: a stream's head waits 2 s for an upstream that sends nothing", async () => {
    upstream = await startUpstream()
    stall(upstream, null)
    running = await startAI({ models: { gpt: { provider: "openai", baseURL: upstream.baseURL } } })
    const started = performance.now()
    const response = await post(running.origin, "/v1/chat/completions", {
      model: "gpt",
      stream: true,
      messages: MESSAGES,
    })
    const waited = performance.now() - started
    expect(response.status).toBe(200)
    await response.body?.cancel()
    // Not a speed check: the wait is 2 s, not less and not another default (5 s, 10 s); the
    // upper bound leaves room for a loaded machine.
    expect(waited).toBeGreaterThanOrEqual(1995)
    expect(waited).toBeLessThan(4000)
  })

  it("cancelWaitMs 2 s: a cancel whose generation does not end answers 202 after 2 s", async () => {
    running = await startAI()
    const id = "DDDDDDDDDDDDDDDDDDDDDD"
    await generationOfSilentNode(running.engine, id, "silent-node")
    const started = performance.now()
    const response = await post(running.origin, `/v1/generations/${id}/cancel`, "")
    const waited = performance.now() - started
    expect(response.status).toBe(202)
    await response.body?.cancel()
    // Not a speed check: the wait is 2 s, not less and not another default (5 s, 10 s); the
    // upper bound leaves room for a loaded machine.
    expect(waited).toBeGreaterThanOrEqual(1995)
    expect(waited).toBeLessThan(4000)
  })
})
